"""Reading a date the way Indonesians type it: 21-08-1980, 21/8/80, 05081980, 21 Agt 80.

Day first, always. A two-digit year is the latest century that puts the date on or before
today (80 is 1980, 05 is 2005 in 2025, never a date still to come): the same reading a NIK's
DDMMYY gets, since a birth year is what both are.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "pebruari": 2, "peb": 2,
    "maret": 3, "mar": 3, "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6,
    "juli": 7, "jul": 7, "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "agst": 8, "agus": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11, "nopember": 11, "nop": 11, "desember": 12, "des": 12,
}
# \d takes any script's digits (full-width ones from some keyboards too); int() reads them.
_YEAR = r"'?(\d{2})|(\d{4})"
_NUMERIC = re.compile(rf"^(\d{{1,2}})[\s./-]+(\d{{1,2}})[\s./-]+(?:{_YEAR})$")
_COMPACT = re.compile(r"^(\d{2})(\d{2})(\d{4})$")  # DDMMYYYY
_WORDS = re.compile(rf"^(\d{{1,2}})[\s./-]*([a-z]+)\.?[\s./-]+(?:{_YEAR})$")


class InvalidDate(ValueError):
    """Not a day-month-year date that exists."""


def parse_date(text: str, today: date) -> date:
    """Day first; month as a number or an Indonesian name or abbreviation; a four-digit
    year, or a two-digit one read as the latest century not after `today`."""
    value = " ".join(text.strip().lower().split())
    numeric, compact, words = _NUMERIC.match(value), _COMPACT.match(value), _WORDS.match(value)
    if numeric:
        day, month = int(numeric.group(1)), int(numeric.group(2))
        year2, year4 = numeric.group(3), numeric.group(4)
    elif compact:
        day, month = int(compact.group(1)), int(compact.group(2))
        year2, year4 = None, compact.group(3)
    elif words and words.group(2) in MONTHS:
        day, month = int(words.group(1)), MONTHS[words.group(2)]
        year2, year4 = words.group(3), words.group(4)
    else:
        raise InvalidDate("not a date")
    if year4 is not None:
        try:
            return date(int(year4), month, day)
        except ValueError as exc:
            raise InvalidDate("not a date") from exc
    assert year2 is not None
    found = latest_past(day, month, int(year2), today)
    if found is None:
        raise InvalidDate("not a date")
    return found


def latest_past(day: int, month: int, year2: int, today: date) -> date | None:
    """The date of a two-digit year in the latest century that puts it on or before today;
    None when neither this century nor the one before gives a real date (29-02-01)."""
    for year in (today.year // 100 * 100 + year2, (today.year // 100 - 1) * 100 + year2):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= today:
            return found
    return None


def age_on(born: date, day: date) -> int:
    """Whole years completed on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
