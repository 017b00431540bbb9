"""NIP, the 18-digit civil-servant number: birth date, appointment month, gender, serial.

PNS numbers read YYYYMMDD + YYYYMM (appointment) + 1/2 (gender) + 3-digit serial. PPPK numbers
use the middle part differently, so only the length and the birth date are required; the
appointment month and gender digit are checked only when they look like a PNS number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NIP_LENGTH = 18
_SEPARATORS = re.compile(r"[\s.\-]")


@dataclass(frozen=True, slots=True)
class Nip:
    """A structurally valid NIP."""

    value: str
    birth_date: date


class InvalidNip(ValueError):
    """The text is not an 18-digit NIP with a real birth date."""


def normalise_nip(text: str) -> str:
    """Drop the spaces, dots and dashes people type between the groups of digits."""
    return _SEPARATORS.sub("", text.strip())


def parse_nip(text: str) -> Nip:
    """Check length, digits and the birth date at the start; PPPK middles are allowed."""
    value = normalise_nip(text)
    if len(value) != NIP_LENGTH or not value.isascii() or not value.isdigit():
        raise InvalidNip("not a NIP")
    try:
        born = date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as exc:
        raise InvalidNip("not a NIP") from exc
    if born.year < 1940:
        raise InvalidNip("not a NIP")
    return Nip(value=value, birth_date=born)
