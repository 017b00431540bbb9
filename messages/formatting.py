"""Indonesian formatting of money, dates and times (Rp16.800; 21 Agustus 2025; 08.00), through
babel."""

from __future__ import annotations

from datetime import date, datetime, time

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal

from flows.time_zone import JAKARTA

LOCALE = "id_ID"


def rupiah(amount: int) -> str:
    """16800 gives "Rp16.800", as Indonesians write it."""
    return f"Rp{format_decimal(amount, locale=LOCALE)}"


def long_date(value: date | datetime) -> str:
    """21 Agustus 2025."""
    if isinstance(value, datetime):
        value = value.astimezone(JAKARTA).date()
    return format_date(value, "d MMMM y", locale=LOCALE)


def month_year(value: date) -> str:
    """Agustus 2025."""
    return format_date(value, "MMMM y", locale=LOCALE)


def date_time(value: datetime) -> str:
    """21 Agustus 2025 14.05 WIB."""
    return format_datetime(value, "d MMMM y HH.mm", tzinfo=JAKARTA, locale=LOCALE) + " WIB"


def clock(value: time) -> str:
    """08.00: a time of day as Indonesians write it."""
    return format_time(value, "HH.mm", locale=LOCALE)


def number(value: int | float) -> str:
    return format_decimal(value, locale=LOCALE)
