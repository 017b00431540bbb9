"""Dates the way Indonesians type them, and whole years of age."""

import contextlib
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.dates import InvalidDate, age_on, latest_past, parse_date

NAMES = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
         "September", "Oktober", "November", "Desember"]
SHORT = ["jan", "feb", "mar", "apr", "mei", "jun", "jul", "agt", "sep", "okt", "nov", "des"]
# 21 August 2025: the day the flow tests' clock shows.
TODAY = date(2025, 8, 21)

days = st.dates(date(1900, 1, 1), date(2099, 12, 31))
todays = st.dates(date(1990, 1, 1), date(2100, 12, 31))


@given(days, st.sampled_from(["-", "/", ".", " ", " - "]), st.booleans())
def test_numeric_day_month_year(day, separator, padded):
    parts = ([f"{day.day:02}", f"{day.month:02}"] if padded
             else [str(day.day), str(day.month)])
    assert parse_date(separator.join([*parts, str(day.year)]), TODAY) == day


@given(days, st.booleans(), st.sampled_from([str.lower, str.upper, str.title]))
def test_indonesian_month_names_and_abbreviations(day, short, case):
    month = SHORT[day.month - 1] if short else NAMES[day.month - 1]
    assert parse_date(case(f"{day.day} {month} {day.year}"), TODAY) == day


@given(days)
def test_eight_digits_are_day_month_and_a_four_digit_year(day):
    assert parse_date(f"{day.day:02}{day.month:02}{day.year}", TODAY) == day


@given(todays, days, st.sampled_from(["{d}/{m}/{y}", "{d}-{m}-{y}", "{d}.{m}.{y}",
                                      "{d} {name} {y}", "{d} {short} '{y}"]))
def test_a_two_digit_year_is_the_latest_century_not_after_today(today, day, form):
    typed = form.format(d=day.day, m=day.month, y=f"{day.year % 100:02}",
                        name=NAMES[day.month - 1], short=SHORT[day.month - 1])
    try:
        read = parse_date(typed, today)
    except InvalidDate:  # 29 February of a year that is common in both centuries
        assert (day.month, day.day) == (2, 29)
        return
    assert read <= today
    assert (read.day, read.month, read.year % 100) == (day.day, day.month, day.year % 100)
    assert today.year - read.year < 101
    # The century after would have been in the future, or is no real date.
    with contextlib.suppress(ValueError):
        assert read.replace(year=read.year + 100) > today


@pytest.mark.parametrize(("typed", "day"), [
    ("21 Agustus 1980", date(1980, 8, 21)), ("21-08-1980", date(1980, 8, 21)),
    ("21/8/1980", date(1980, 8, 21)), ("1 Nopember 1975", date(1975, 11, 1)),
    ("17 Agu. 1945", date(1945, 8, 17)), ("  5   mei   2001 ", date(2001, 5, 5)),
    ("29-02-2000", date(2000, 2, 29)),
    # What people typed in the issue, and their two-digit years on 21 August 2025.
    ("5/8/80", date(1980, 8, 5)), ("5-8-80", date(1980, 8, 5)), ("5.8.80", date(1980, 8, 5)),
    ("05081980", date(1980, 8, 5)), ("5 agustus 1980", date(1980, 8, 5)),
    ("5 agt 80", date(1980, 8, 5)), ("5 Agt '80", date(1980, 8, 5)),
    ("5-Agustus-1980", date(1980, 8, 5)), ("5/8/05", date(2005, 8, 5)),
    ("21/8/25", date(2025, 8, 21)),  # today: not yet the future
    ("22/8/25", date(1925, 8, 22)),  # tomorrow in 2025 is 1925
    ("29/2/00", date(2000, 2, 29)), ("5 agst 1980", date(1980, 8, 5)),
])
def test_examples(typed, day):
    assert parse_date(typed, TODAY) == day


@pytest.mark.parametrize("typed", [
    "", "1980-08-21", "08/21/1980", "31-02-1980", "29-02-1981", "32-01-1980", "31/2/80",
    "29/2/01", "21 August 1980", "21 Agustusan 1980", "kemarin", "0-1-1980", "21-13-1980",
    "210880", "2108198", "5/8", "5/8/198", "5/8/19800", "tgl 5/8/80",
])
def test_refused(typed):
    with pytest.raises(InvalidDate):
        parse_date(typed, TODAY)


def test_latest_past_takes_the_century_before_when_this_one_is_still_to_come():
    assert latest_past(21, 8, 25, TODAY) == date(2025, 8, 21)
    assert latest_past(22, 8, 25, TODAY) == date(1925, 8, 22)
    assert latest_past(29, 2, 0, date(2100, 3, 1)) == date(2000, 2, 29)  # 2100 is common
    assert latest_past(29, 2, 1, TODAY) is None


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
