"""NIK, the 16-digit national ID: region (6) + DDMMYY (day + 40 for women) + serial (4).

Only the structure is checked. A NIK is never refused because its region is another regency
or because its date differs from the birth date the ASN gives: people move, and records err.
What is wrong with a refused one is said precisely (`InvalidNik.problem`), because "NIK belum
sesuai" alone leaves someone who typed 15 digits to find the missing one by themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flows.dates import latest_past
from flows.masking import mask_nik

NIK_LENGTH = 16
_SEPARATORS = re.compile(r"[\s.\-]")


class NikProblem(StrEnum):
    """What makes a text no NIK; bad_nik.j2 explains each."""

    NOT_DIGITS = "not_digits"  # a letter or sign other than a space, dot or dash
    LENGTH = "length"  # digits only, but not 16 of them
    REGION = "region"  # no province 11-99 or regency 00
    BIRTH_DATE = "birth_date"  # digits 7-12 are no DDMMYY (day + 40 for women)
    SERIAL = "serial"  # the last four are 0000


class InvalidNik(ValueError):
    """The text is not a structurally valid NIK: `problem` says why, `length` how many
    characters were left once spaces, dots and dashes were taken out."""

    def __init__(self, problem: NikProblem, length: int) -> None:
        super().__init__(f"not a NIK: {problem}")
        self.problem = problem
        self.length = length


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
        return latest_past(self.day, self.month, self.year2, today)

    @property
    def masked(self) -> str:
        return mask_nik(self.value)


def parse_nik(text: str) -> Nik:
    """Check 16 digits, a plausible region code, day 1-31 or 41-71, month 1-12."""
    value = _SEPARATORS.sub("", text.strip())
    if not value.isascii() or not value.isdigit():
        raise InvalidNik(NikProblem.NOT_DIGITS, len(value))
    if len(value) != NIK_LENGTH:
        raise InvalidNik(NikProblem.LENGTH, len(value))
    province, regency = int(value[0:2]), int(value[2:4])
    if province < 11 or province > 99 or regency == 0:
        raise InvalidNik(NikProblem.REGION, NIK_LENGTH)
    day, month, year2 = int(value[6:8]), int(value[8:10]), int(value[10:12])
    female = day > 40
    if female:
        day -= 40
    if not 1 <= day <= 31 or not 1 <= month <= 12:
        raise InvalidNik(NikProblem.BIRTH_DATE, NIK_LENGTH)
    if value[12:16] == "0000":
        raise InvalidNik(NikProblem.SERIAL, NIK_LENGTH)
    return Nik(value=value, region=value[0:6], day=day, month=month, year2=year2, female=female)
