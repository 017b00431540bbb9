"""Indonesian phone numbers, normalised to E.164 with Google's phonenumbers rules."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "ID"
_SEPARATORS = re.compile(r"[\s().\-]")
# ASCII digits: the national number is copied into the result as written.
_ID_MOBILE = re.compile(r"(?:\+?62|0)(8[0-9]{6,12})")


class InvalidPhone(ValueError):
    """Not a valid phone number for Indonesia (or with an explicit country code)."""


def to_e164(text: str, region: str = DEFAULT_REGION) -> str:
    """0812-3456-7890, 62812…, +62 812… all give +6281234567890.

    The usual Indonesian mobile forms skip phonenumbers' `parse` (most of the cost, which
    matters when a roster of 100,000 rows is imported): they can only mean country 62 and the
    digits after the 0 or 62, so the number is built directly and phonenumbers still decides
    whether it is valid. Anything else goes through `parse_e164`.
    """
    match = _ID_MOBILE.fullmatch(_SEPARATORS.sub("", text.strip()))
    if match is not None:
        national = match.group(1)
        number = phonenumbers.PhoneNumber(country_code=62, national_number=int(national))
        if phonenumbers.is_valid_number(number):
            return f"+62{national}"
    return parse_e164(text, region)


def parse_e164(text: str, region: str = DEFAULT_REGION) -> str:
    """The full phonenumbers reading of any form, with an explicit country code or not."""
    raw = text.strip()
    if any(ch.isalpha() for ch in raw):  # phonenumbers would read "abc" as keypad digits
        raise InvalidPhone("not a phone number")
    digits = _SEPARATORS.sub("", raw)
    if digits.isdigit() and digits.startswith("62"):  # the country code without its "+"
        raw = "+" + digits
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
