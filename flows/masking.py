"""How personal data looks wherever it is not needed in full: messages, logs, exports."""

from __future__ import annotations

NIK_MASK = "••••••••"


def mask_nik(nik: str) -> str:
    """3324••••••••0001: the first four digits of the region and the serial, nothing between."""
    return f"{nik[:4]}{NIK_MASK}{nik[-4:]}"


def mask_phone(e164: str) -> str:
    """+62812••••7890: enough to recognise one's own number, not to call it."""
    return f"{e164[:6]}••••{e164[-4:]}" if len(e164) > 10 else "••••"
