"""Reading a date the way Indonesians type it: 21-08-1980, 21/8/1980, 21 Agustus 1980."""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "pebruari": 2, "maret": 3, "mar": 3,
    "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "november": 11, "nov": 11, "nopember": 11,
    "desember": 12, "des": 12,
}
_NUMERIC = re.compile(r"^(\d{1,2})[\s./-]+(\d{1,2})[\s./-]+(\d{4})$")
_WORDS = re.compile(r"^(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})$")


class InvalidDate(ValueError):
    """Not a day-month-year date that exists."""


def parse_date(text: str) -> date:
    """Day first, four-digit year; month as a number or an Indonesian name."""
    value = " ".join(text.strip().lower().split())
    numeric = _NUMERIC.match(value)
    words = _WORDS.match(value)
    if numeric:
        day, month, year = (int(part) for part in numeric.groups())
    elif words and words.group(2) in MONTHS:
        day, month, year = int(words.group(1)), MONTHS[words.group(2)], int(words.group(3))
    else:
        raise InvalidDate("not a date")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidDate("not a date") from exc


def age_on(born: date, day: date) -> int:
    """Whole years completed on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
