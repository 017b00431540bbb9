"""NIK, the 16-digit national ID: region (6) + DDMMYY (day + 40 for women) + serial (4).

Only the structure is checked. A NIK is never refused because its region is another regency
or because its date differs from the birth date the ASN gives: people move, and records err.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from storage.masking import mask_nik

NIK_LENGTH = 16
_SEPARATORS = re.compile(r"[\s.\-]")


class InvalidNik(ValueError):
    """The text is not a structurally valid NIK."""


@dataclass(frozen=True, slots=True)
class Nik:
    """A structurally valid NIK and what its digits say."""

    value: str
    region: str
    day: int
    month: int
    year2: int
    female: bool

    def birth_date(self, today: date) -> date | None:
        """The birth date the NIK suggests: the latest century that puts it in the past;
        None when the digits name no real date (29 February of a common year)."""
        for year in (2000 + self.year2, 1900 + self.year2):
            try:
                born = date(year, self.month, self.day)
            except ValueError:
                continue
            if born <= today:
                return born
        return None

    @property
    def masked(self) -> str:
        return mask_nik(self.value)


def parse_nik(text: str) -> Nik:
    """Check 16 digits, a plausible region code, day 1-31 or 41-71, month 1-12."""
    value = _SEPARATORS.sub("", text.strip())
    if len(value) != NIK_LENGTH or not value.isascii() or not value.isdigit():
        raise InvalidNik("not a NIK")
    province, regency = int(value[0:2]), int(value[2:4])
    if province < 11 or province > 99 or regency == 0:
        raise InvalidNik("not a NIK")
    day, month, year2 = int(value[6:8]), int(value[8:10]), int(value[10:12])
    female = day > 40
    if female:
        day -= 40
    if not 1 <= day <= 31 or not 1 <= month <= 12:
        raise InvalidNik("not a NIK")
    if value[12:16] == "0000":
        raise InvalidNik("not a NIK")
    return Nik(value=value, region=value[0:6], day=day, month=month, year2=year2, female=female)
