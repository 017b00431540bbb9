"""Dates the way Indonesians type them, and whole years of age."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.dates import InvalidDate, age_on, parse_date

NAMES = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
         "September", "Oktober", "November", "Desember"]
SHORT = ["jan", "feb", "mar", "apr", "mei", "jun", "jul", "agt", "sep", "okt", "nov", "des"]

days = st.dates(date(1900, 1, 1), date(2099, 12, 31))


@given(days, st.sampled_from(["-", "/", ".", " ", " - "]), st.booleans())
def test_numeric_day_month_year(day, separator, padded):
    parts = ([f"{day.day:02}", f"{day.month:02}"] if padded
             else [str(day.day), str(day.month)])
    assert parse_date(separator.join([*parts, str(day.year)])) == day


@given(days, st.booleans(), st.sampled_from([str.lower, str.upper, str.title]))
def test_indonesian_month_names_and_abbreviations(day, short, case):
    month = SHORT[day.month - 1] if short else NAMES[day.month - 1]
    assert parse_date(case(f"{day.day} {month} {day.year}")) == day


@pytest.mark.parametrize(("typed", "day"), [
    ("21 Agustus 1980", date(1980, 8, 21)), ("21-08-1980", date(1980, 8, 21)),
    ("21/8/1980", date(1980, 8, 21)), ("1 Nopember 1975", date(1975, 11, 1)),
    ("17 Agu. 1945", date(1945, 8, 17)), ("  5   mei   2001 ", date(2001, 5, 5)),
    ("29-02-2000", date(2000, 2, 29)),
])
def test_examples(typed, day):
    assert parse_date(typed) == day


@pytest.mark.parametrize("typed", [
    "", "1980-08-21", "08/21/1980", "21-08-80", "31-02-1980", "29-02-1981", "32-01-1980",
    "21 August 1980", "21 Agustusan 1980", "kemarin", "21081980", "0-1-1980", "21-13-1980",
])
def test_refused(typed):
    with pytest.raises(InvalidDate):
        parse_date(typed)


@given(days, st.integers(0, 120))
def test_age_on_a_birthday_is_the_years_between(born, years):
    try:
        birthday = born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year
        return
    assert age_on(born, birthday) == years


@given(days, st.dates(date(1900, 1, 1), date(2099, 12, 30)))
def test_age_never_drops_and_grows_by_at_most_one_a_day(born, day):
    if day < born:
        return
    today, tomorrow = age_on(born, day), age_on(born, day + timedelta(days=1))
    assert 0 <= today <= tomorrow <= today + 1


def test_age_the_day_before_a_birthday():
    assert age_on(date(1960, 8, 22), date(2025, 8, 21)) == 64
    assert age_on(date(1960, 8, 21), date(2025, 8, 21)) == 65
