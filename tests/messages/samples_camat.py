"""Sample values for the camat's progress and invitation, the chart's words and the terminal
chat's own lines (issue 16)."""

from __future__ import annotations

from admin.demo_data import DEMO_ROLE_HOLDERS

SAMPLE: dict[str, object] = {
    "unlinked": 52,
    "channel": "telegram",
    "channels": ["telegram", "whatsapp"],
    "link": "https://t.me/asn_peduli_bot?start=undangan",
    "kind": "kecamatan",
    "live": True,
    "overall_percent": 9.4,
    "participating": 974,
    "asn_total": 10_300,
    "protected": 812,
    "chat_id": "2",
    "filename": "undangan-asn-peduli-telegram.png",
    "user_id": "1",
    "role_holders": list(DEMO_ROLE_HOLDERS),
}
