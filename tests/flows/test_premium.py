"""The premium schedule: the row in force on a date, and the first of a later month."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.settings import DEFAULT_SCHEDULE
from flows.months import first_of_month_after
from flows.premium import NoPremiumRate, PremiumRate, rate_on

SCHEDULE = (
    PremiumRate(date(2022, 1, 1), 10_000, 6_800),
    PremiumRate(date(2026, 1, 1), 5_000, 3_400),
    PremiumRate(date(2026, 7, 1), 10_000, 6_800),
)


def test_the_default_premium_is_jkk_10000_plus_jkm_6800():
    (row,) = DEFAULT_SCHEDULE
    assert (row.jkk, row.jkm) == (10_000, 6_800)
    assert PremiumRate(row.effective_from, row.jkk, row.jkm).total == 16_800


@pytest.mark.parametrize(("day", "total"), [
    (date(2022, 1, 1), 16_800), (date(2025, 12, 31), 16_800), (date(2026, 1, 1), 8_400),
    (date(2026, 6, 30), 8_400), (date(2026, 7, 1), 16_800), (date(2030, 1, 1), 16_800),
])
def test_rate_on_picks_the_latest_row_in_force(day, total):
    assert rate_on(SCHEDULE, day).total == total


def test_rate_on_does_not_depend_on_the_order_of_rows():
    assert rate_on(tuple(reversed(SCHEDULE)), date(2026, 2, 1)).total == 8_400


def test_no_row_in_force_is_a_configuration_error():
    with pytest.raises(NoPremiumRate):
        rate_on(SCHEDULE, date(2021, 12, 31))


@given(st.lists(st.builds(PremiumRate, st.dates(date(2000, 1, 1), date(2040, 1, 1)),
                          st.integers(0, 50_000), st.integers(0, 50_000)),
                min_size=1, max_size=6, unique_by=lambda rate: rate.effective_from),
       st.dates(date(2000, 1, 1), date(2045, 1, 1)))
def test_rate_on_is_the_latest_row_not_after_the_day(schedule, day):
    in_force = [rate for rate in schedule if rate.effective_from <= day]
    if not in_force:
        with pytest.raises(NoPremiumRate):
            rate_on(schedule, day)
        return
    rate = rate_on(schedule, day)
    assert rate.effective_from <= day
    assert all(other.effective_from <= rate.effective_from for other in in_force)


@pytest.mark.parametrize(("day", "months", "first"), [
    (date(2025, 8, 21), 1, date(2025, 9, 1)), (date(2025, 12, 31), 1, date(2026, 1, 1)),
    (date(2025, 11, 1), 2, date(2026, 1, 1)), (date(2025, 8, 21), 0, date(2025, 8, 1)),
    (date(2024, 1, 31), 1, date(2024, 2, 1)),
])
def test_first_of_month_after(day, months, first):
    assert first_of_month_after(day, months) == first


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(0, 36))
def test_first_of_month_after_is_the_first_day_months_later(day, months):
    first = first_of_month_after(day, months)
    assert first.day == 1
    assert (first.year * 12 + first.month) - (day.year * 12 + day.month) == months
    assert first > day or months == 0
