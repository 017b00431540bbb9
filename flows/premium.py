"""The monthly premium, from a dated schedule per component (JKK, JKM).

The amount changes by regulation (PP 50/2025 cut it by half for part of 2026), so it is
configuration with an effective date, never a literal in code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flows.months import first_of_month_after


@dataclass(frozen=True, slots=True)
class PremiumRate:
    """The rupiah amounts in force from `effective_from` until the next row starts."""

    effective_from: date
    jkk: int
    jkm: int

    @property
    def total(self) -> int:
        return self.jkk + self.jkm


class NoPremiumRate(LookupError):
    """The schedule has no row in force on the asked date (a configuration error)."""

    def __init__(self, day: date) -> None:
        super().__init__(f"no premium rate in force on {day.isoformat()}")
        self.day = day


def rate_on(schedule: Sequence[PremiumRate], day: date) -> PremiumRate:
    """The latest row whose effective date is on or before `day`."""
    candidates = [rate for rate in schedule if rate.effective_from <= day]
    if not candidates:
        raise NoPremiumRate(day)
    return max(candidates, key=lambda rate: rate.effective_from)


def first_deduction(schedule: Sequence[PremiumRate], today: date, offset_months: int
                    ) -> tuple[date, PremiumRate]:
    """The first salary month deducted for an agreement made today, and the rate then."""
    month = first_of_month_after(today, offset_months)
    return month, rate_on(schedule, month)


def first_premium(schedule: Sequence[PremiumRate], today: date, offset_months: int
                  ) -> int | None:
    """The monthly premium of an agreement made today, for words that name it; None when the
    schedule has no rate then (the deduction step reports that configuration error)."""
    try:
        return first_deduction(schedule, today, offset_months)[1].total
    except NoPremiumRate:
        return None
