"""A verified webhook body as `Incoming` messages and `DeliveryReport`s, and the checks that
prove Meta sent it: plain functions over (body, header), testable with no server.

What reaches the dispatcher:

- text (a command when it starts with "/"), a pressed reply button or list row (BUTTON with the
  row's id as payload; a template's quick-reply button the same way), a contact card (CONTACT,
  never a proof: it carries no account), and anything else a person sends (image, sticker,
  voice, location, ...) as UNSUPPORTED so the flow explains what it expects.
- nothing else: reactions, edits and deletions of earlier messages, system notices, messages
  to another phone number of the same app, and group messages.

The sender's number (`from`) is the one WhatsApp verified when the account was registered; it
is set as `Incoming.phone` and proves the phone in identification (no contact card needed).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pywa import utils as pywa_utils

from bot.settings import Settings
from bot.whatsapp.api import message_key, setting
from bot.whatsapp.errors import UNREACHABLE_CODES
from flows.events import Channel, ChatType, Incoming, Kind, SharedContact
from storage.delivery import STATUSES, DeliveryReport

WEBHOOK_OBJECT: Final = "whatsapp_business_account"
SIGNATURE_HEADER: Final = pywa_utils.HUB_SIG

# Message types no flow should see: not an answer to anything.
IGNORED_TYPES: Final = frozenset({
    "reaction", "system", "request_welcome", "edit", "revoke", "ephemeral",
})
_SAFE_KIND = re.compile(r"^[a-z_]{1,32}$")


def signature_ok(settings: Settings, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is "sha256=" + HMAC-SHA256 of the raw body under the app secret;
    compared in constant time (pywa's validator). No secret configured: False."""
    secret = setting(settings, "whatsapp_app_secret")
    if secret is None or not header or not header.isascii():
        return False
    return pywa_utils.webhook_updates_validator(
        app_secret=secret, request_body=body, x_hub_signature=header)


def verify_token_ok(settings: Settings, mode: str | None, token: str | None) -> bool:
    """Meta's GET verification: hub.mode=subscribe and hub.verify_token equal to ours."""
    secret = setting(settings, "whatsapp_verify_token")
    if secret is None or mode != "subscribe" or token is None:
        return False
    return hmac.compare_digest(token.encode(), secret.encode())


@dataclass(frozen=True, slots=True)
class WebhookContent:
    """What one webhook body holds for our phone number."""

    messages: list[Incoming] = field(default_factory=list)
    statuses: list[DeliveryReport] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.messages and not self.statuses


def is_webhook_body(data: object) -> bool:
    """The outline every WhatsApp webhook body has: an object with a list of entries."""
    return isinstance(data, dict) and isinstance(data.get("entry"), list)


def read_webhook(data: Mapping[str, Any], phone_number_id: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> WebhookContent:
    """The messages and status reports of a webhook body addressed to our number.

    Parts of another shape than documented are skipped one by one, so one odd part never
    costs the others."""
    content = WebhookContent()
    if data.get("object") != WEBHOOK_OBJECT:
        return content
    for value in _values(data, phone_number_id):
        for message in _dicts(value.get("messages")):
            incoming = _incoming(message)
            if incoming is not None:
                content.messages.append(incoming)
        for status in _dicts(value.get("statuses")):
            report = _status(status, clock)
            if report is not None:
                content.statuses.append(report)
    return content


def _dicts(value: object) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _values(data: Mapping[str, Any], phone_number_id: str) -> Iterator[dict[str, Any]]:
    for entry in _dicts(data.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            if not isinstance(metadata, dict):
                continue
            if str(metadata.get("phone_number_id")) != phone_number_id:
                continue  # another number of the same app
            yield value


def _text(value: object, limit: int = 64_000) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _incoming(message: dict[str, Any]) -> Incoming | None:
    sender = _text(message.get("from")) or _text(message.get("from_user_id"))
    wamid = _text(message.get("id"))
    kind = message.get("type")
    if not sender or not wamid or not isinstance(kind, str) or message.get("group_id"):
        return None
    if kind in IGNORED_TYPES:
        return None
    key = message_key(wamid)
    fields: dict[str, Any] = {
        "channel": Channel.WHATSAPP,
        "chat_id": sender,
        "user_id": sender,
        "chat_type": ChatType.PRIVATE,
        "update_id": key,
        "message_id": key,
        # The number WhatsApp verified; absent when only a business-scoped user id is given.
        "phone": f"+{sender}" if sender.isdigit() else None,
    }
    part = message.get(kind)
    part = part if isinstance(part, dict) else {}
    if kind == "text":
        text = _text(part.get("body"))
        if text is None:
            return None
        if text.startswith("/"):
            return Incoming(kind=Kind.COMMAND, text=text, **fields)
        return Incoming(kind=Kind.TEXT, text=text, **fields)
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply")
        payload = _text(reply.get("id"), 256) if isinstance(reply, dict) else None
        if payload:
            return Incoming(kind=Kind.BUTTON, payload=payload, **fields)
        return Incoming(kind=Kind.UNSUPPORTED, text="interactive", **fields)
    if kind == "button":  # a quick-reply button of a template
        payload = _text(part.get("payload"), 256) or _text(part.get("text"), 256)
        if payload:
            return Incoming(kind=Kind.BUTTON, payload=payload, **fields)
        return None
    if kind == "contacts":
        phone = _first_contact_phone(message.get("contacts"))
        if phone:
            # Someone's card from the address book: it proves nothing about the sender.
            return Incoming(kind=Kind.CONTACT, contact=SharedContact(phone, None), **fields)
    what = kind if _SAFE_KIND.match(kind) else "other"
    return Incoming(kind=Kind.UNSUPPORTED, text=what, **fields)


def _first_contact_phone(cards: object) -> str | None:
    for card in _dicts(cards):
        for phone in _dicts(card.get("phones")):
            number = _text(phone.get("phone"), 40) or _text(phone.get("wa_id"), 40)
            if number:
                return number
    return None


def _status(status: dict[str, Any], clock: Callable[[], datetime]) -> DeliveryReport | None:
    wamid = _text(status.get("id"))
    state = status.get("status")
    recipient = _text(status.get("recipient_id"), 64) or _text(status.get("recipient_user_id"),
                                                                64)
    if not wamid or state not in STATUSES or not recipient:
        return None
    stamp = status.get("timestamp")
    try:
        at = datetime.fromtimestamp(int(stamp), UTC) if stamp is not None else clock()
    except (TypeError, ValueError, OverflowError, OSError):
        at = clock()
    error, unreachable = None, False
    for problem in _dicts(status.get("errors")):
        code = problem.get("code")
        title = _text(problem.get("title"), 120) or ""
        error = f"whatsapp {code}: {title}".strip()
        unreachable = code in UNREACHABLE_CODES
        break
    return DeliveryReport(
        channel=Channel.WHATSAPP.value, platform_message_id=message_key(wamid),
        chat_id=recipient, status=state, at=at, error=error, unreachable=unreachable,
    )
