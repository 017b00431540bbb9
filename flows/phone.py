"""Indonesian phone numbers, normalised to E.164 with Google's phonenumbers rules."""

from __future__ import annotations

import re

import phonenumbers

from storage.masking import mask_phone

__all__ = ["InvalidPhone", "mask_phone", "to_e164"]

DEFAULT_REGION = "ID"
_SEPARATORS = re.compile(r"[\s().\-]")


class InvalidPhone(ValueError):
    """Not a valid phone number for Indonesia (or with an explicit country code)."""


def to_e164(text: str, region: str = DEFAULT_REGION) -> str:
    """0812-3456-7890, 62812…, +62 812… all give +6281234567890."""
    raw = text.strip()
    if any(ch.isalpha() for ch in raw):  # phonenumbers would read "abc" as keypad digits
        raise InvalidPhone(text)
    digits = _SEPARATORS.sub("", raw)
    if digits.isdigit() and digits.startswith("62"):  # the country code without its "+"
        raw = "+" + digits
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(text) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
