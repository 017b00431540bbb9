"""Month arithmetic: the program counts salary months, report months and stop months, each
named by its first day."""

from __future__ import annotations

from datetime import date


def first_of_month_after(day: date, months: int = 1) -> date:
    """The first day of the month `months` after the month holding `day`."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)
