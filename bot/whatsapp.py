"""The WhatsApp channel over the Cloud API (pywa's async client): webhooks in, outbox bodies out.

Only translation lives here, as in bot/telegram.py. `read_webhook` turns a verified webhook body
into `Incoming` messages and `DeliveryReport`s; `WhatsAppTransport.send` turns an `OutgoingMessage`
into Cloud API calls and maps the API's errors once into `TransientSendError`,
`PermanentSendError` or `RecipientUnreachable`.

What reaches the dispatcher:

- text (a command when it starts with "/"), a pressed reply button or list row (BUTTON with the
  row's id as payload; a template's quick-reply button the same way), a contact card (CONTACT,
  never a proof: it carries no account), and anything else a person sends (image, sticker,
  voice, location, ...) as UNSUPPORTED so the flow explains what it expects.
- nothing else: reactions, edits and deletions of earlier messages, system notices, messages
  to another phone number of the same app, and group messages.

The sender's number (`from`) is the one WhatsApp verified when the account was registered; it
is set as `Incoming.phone` and proves the phone in identification (no contact card needed).

Sending follows WhatsApp's rules:

- Choices become up to 3 reply buttons (titles up to 20 characters, all different) or else a
  list (up to 10 rows, titles up to 24 characters; a longer label is cut and shown whole in the
  row's description). A longer list is shown a page at a time: the page carries a row
  "page:N" that the router answers with the same question on page N (`OutgoingMessage.page`).
- A message the bot starts (kind news, reminder, broadcast, report) outside the 24-hour window
  after the user's last message goes as the approved template named in settings
  (WHATSAPP_TEMPLATE_<KIND>, language WHATSAPP_TEMPLATE_LANGUAGE) with the rendered text as its
  one body parameter, flattened to one line (Meta refuses newlines, tabs and runs of spaces in
  parameters) and cut to `TEMPLATE_PARAMETER_MAX` characters. Register each template with a
  body of "{{1}}" plus at most a short fixed sentence, e.g. "{{1}}\\n\\nBalas pesan ini untuk
  melanjutkan."; the report's template also needs an IMAGE header (the chart goes there).
  Inside the window the text goes as it is. A reply that finds the window closed (error 131047)
  is sent again as the template at once.
- An image (the monthly chart) is uploaded and sent with the text as its caption.

The Graph API base URL is a setting (WHATSAPP_API_BASE_URL): pywa always points the httpx
client it is given at graph.facebook.com, so `build_client` sets the client's `base_url` back
to the configured one afterwards; tests and a staging setup use a local server that way.

Personal data (texts, numbers) is never logged here: logs name error codes and kinds only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from pywa import utils as pywa_utils
from pywa.errors import (
    AuthorizationError,
    IntegrityError,
    MessageUndeliverable,
    ReEngagementMessage,
    ThrottlingError,
    WhatsAppError,
)
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow
from pywa_async.types.templates import BaseParams, BodyText, HeaderImage, TemplateLanguage

from bot.settings import NotConfigured, Settings
from bot.transport import (
    PermanentSendError,
    RecipientUnreachable,
    SendError,
    TransientSendError,
)
from flows.events import (
    Channel,
    ChatType,
    Incoming,
    Kind,
    OutgoingButton,
    OutgoingMessage,
    SharedContact,
)
from flows.router import PAGE_PREFIX
from messages.renderer import WHATSAPP, Renderer
from storage.delivery import STATUSES, DeliveryReport

log = logging.getLogger(__name__)

# Cloud API limits (developers.facebook.com, interactive and template messages).
MAX_BUTTONS: Final = 3
BUTTON_TITLE_MAX: Final = 20
MAX_ROWS: Final = 10
ROW_TITLE_MAX: Final = 24
ROW_DESCRIPTION_MAX: Final = 72
LIST_BUTTON_MAX: Final = 20
SECTION_TITLE_MAX: Final = 24
INTERACTIVE_BODY_MAX: Final = 1024
TEXT_MAX: Final = 4096
CAPTION_MAX: Final = 1024
# A template body is at most 1024 characters with its fixed words; the parameter keeps room
# for a short fixed sentence around it.
TEMPLATE_PARAMETER_MAX: Final = 900
# Database columns hold ids up to 64 characters; longer wamids are kept as a digest.
MESSAGE_KEY_MAX: Final = 64

# The customer service window: free-form messages only within 24 hours of the user's last
# message. A small margin keeps a message queued at 23:59 from arriving after it closed.
SERVICE_WINDOW: Final = timedelta(hours=24)
WINDOW_MARGIN: Final = timedelta(minutes=10)

WEBHOOK_OBJECT: Final = "whatsapp_business_account"
SIGNATURE_HEADER: Final = pywa_utils.HUB_SIG

# Message types no flow should see: not an answer to anything.
IGNORED_TYPES: Final = frozenset({
    "reaction", "system", "request_welcome", "edit", "revoke", "ephemeral",
})
_SAFE_KIND = re.compile(r"^[a-z_]{1,32}$")

# Error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
UNREACHABLE_CODES: Final = frozenset({131026})  # not on WhatsApp, old app, terms not accepted
RATE_WAITS: Final = {130429: 1.0, 131056: 6.0, 131048: 60.0, 4: 60.0, 80007: 60.0}
SERVER_CODES: Final = frozenset({1, 2, 131000, 131016, 131053, 131057, 133004})
OPERATOR_WAIT: Final = 300.0  # an expired token or a locked account needs a person


class WhatsAppNotConfigured(NotConfigured):
    """A setting the WhatsApp channel needs is missing or malformed."""


REQUIRED_SETTINGS: Final = (
    "whatsapp_phone_number_id", "whatsapp_access_token", "whatsapp_app_secret",
    "whatsapp_verify_token",
)


def _value(settings: Settings, name: str) -> str | None:
    raw = getattr(settings, name)
    text = raw.get_secret_value() if hasattr(raw, "get_secret_value") else raw
    text = (text or "").strip()
    return text or None


def whatsapp_configured(settings: Settings) -> bool:
    """Whether the channel is set up at all (its phone number id is given). A half-filled
    configuration is an error `check_settings` names, not a silently missing channel."""
    return _value(settings, "whatsapp_phone_number_id") is not None


def check_settings(settings: Settings) -> None:
    """Raise naming every missing WhatsApp setting."""
    missing = [name.upper() for name in REQUIRED_SETTINGS if _value(settings, name) is None]
    if missing:
        raise WhatsAppNotConfigured(missing)
    try:
        TemplateLanguage(settings.whatsapp_template_language)
    except ValueError:
        raise WhatsAppNotConfigured(["WHATSAPP_TEMPLATE_LANGUAGE"], "malformed") from None


def api_base_url(settings: Settings) -> str:
    """The versioned Graph API root, e.g. https://graph.facebook.com/v21.0."""
    return f"{settings.whatsapp_api_base_url.rstrip('/')}/v{settings.whatsapp_api_version}"


def build_client(settings: Settings, session: httpx.AsyncClient) -> WhatsApp:
    """pywa's async client on our own httpx client, pointed at WHATSAPP_API_BASE_URL.

    pywa sets the session's base URL to graph.facebook.com when it takes the session; the
    session is ours, so its base URL is set back to the configured one right after. The
    settings are `check_settings`-ed by the caller, before it opens the session."""
    client = WhatsApp(
        phone_id=_value(settings, "whatsapp_phone_number_id"),
        token=_value(settings, "whatsapp_access_token"),
        session=session,
        api_version=settings.whatsapp_api_version,
    )
    session.base_url = httpx.URL(api_base_url(settings))
    return client


# -- webhook signature and verification --------------------------------------------------------


def signature_ok(settings: Settings, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is "sha256=" + HMAC-SHA256 of the raw body under the app secret;
    compared in constant time (pywa's validator). No secret configured: False."""
    secret = _value(settings, "whatsapp_app_secret")
    if secret is None or not header or not header.isascii():
        return False
    return pywa_utils.webhook_updates_validator(
        app_secret=secret, request_body=body, x_hub_signature=header)


def verify_token_ok(settings: Settings, mode: str | None, token: str | None) -> bool:
    """Meta's GET verification: hub.mode=subscribe and hub.verify_token equal to ours."""
    secret = _value(settings, "whatsapp_verify_token")
    if secret is None or mode != "subscribe" or token is None:
        return False
    return hmac.compare_digest(token.encode(), secret.encode())


# -- webhook bodies -----------------------------------------------------------------------------


def message_key(wamid: str) -> str:
    """A WhatsApp message id as stored (update ids, outbox message ids): as it is when it fits,
    else a digest of it, the same for the send answer and the later status callbacks."""
    if len(wamid) <= MESSAGE_KEY_MAX:
        return wamid
    return "sha256:" + hashlib.sha256(wamid.encode()).hexdigest()[:MESSAGE_KEY_MAX - 7]


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


# -- outgoing -----------------------------------------------------------------------------------


def choices_of(message: OutgoingMessage) -> list[OutgoingButton]:
    """The message's buttons in reading order; a contact button has no WhatsApp equivalent."""
    return [button for row in message.buttons for button in row if not button.contact]


def pages(count: int) -> list[tuple[int, int]]:
    """Slices of `count` choices, each page at most 10 rows including its page turns: the
    first page keeps a row for "next", middle pages one for "previous" and one for "next"."""
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        room = MAX_ROWS - (1 if spans else 0)
        if count - start <= room:
            spans.append((start, count))
            return spans
        spans.append((start, start + room - 1))
        start += room - 1


def fits_buttons(choices: list[OutgoingButton]) -> bool:
    labels = [choice.label for choice in choices]
    return (0 < len(choices) <= MAX_BUTTONS
            and all(0 < len(label) <= BUTTON_TITLE_MAX for label in labels)
            and len(set(labels)) == len(labels))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def template_parameter(text: str, limit: int = TEMPLATE_PARAMETER_MAX) -> str:
    """The rendered text as one template parameter: one line (a line that ends a sentence
    is followed by a space, others by " · "), single spaces, at most `limit` characters."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    flat = ""
    for line in filter(None, lines):
        if flat:
            flat += " " if flat[-1] in ".!?:;…" else " · "
        flat += line
    if len(flat) > limit:
        flat = flat[:limit - 1].rsplit(" ", 1)[0].rstrip(" ·") + "…"
    return flat or "-"


def chunks(text: str, limit: int = TEXT_MAX) -> list[str]:
    """A text in pieces of at most `limit` characters, cut at line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    if text.strip():
        pieces.append(text)
    return pieces


def window_open(message: OutgoingMessage, now: datetime) -> bool:
    """Whether free-form messages reach the user now (the 24-hour customer service window
    after `last_inbound_at`, which the sender sets from the chat; None: never wrote)."""
    last = message.last_inbound_at
    if last is None:
        return False
    if last.tzinfo is None:  # a time without its zone is UTC, as the database keeps it
        last = last.replace(tzinfo=UTC)
    return now - last < SERVICE_WINDOW - WINDOW_MARGIN


def send_error(error: WhatsAppError) -> SendError:
    """A Cloud API error as the sender needs it. The text names the code and pywa's class,
    never the API's message (it may quote the number or the text sent)."""
    code = error.code
    what = f"whatsapp {code} {type(error).__name__}"
    if isinstance(error, MessageUndeliverable) or code in UNREACHABLE_CODES:
        return RecipientUnreachable(what)
    if isinstance(error, ThrottlingError) or code in RATE_WAITS:
        return TransientSendError(what, retry_after=RATE_WAITS.get(code, 60.0))
    if isinstance(error, AuthorizationError | IntegrityError):
        return TransientSendError(what, retry_after=OPERATOR_WAIT)
    if code in SERVER_CODES or error.is_transient or (error.status_code or 0) >= 500:
        return TransientSendError(what)
    return PermanentSendError(what)


class WhatsAppTransport:
    """Translates between the Cloud API and the dispatcher; holds no conversation state."""

    channel = Channel.WHATSAPP

    def __init__(self, settings: Settings, renderer: Renderer,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 timeout: float = 20.0) -> None:
        check_settings(settings)
        self._settings = settings
        self._session = httpx.AsyncClient(timeout=timeout)
        self._client = build_client(settings, self._session)
        self._renderer = renderer
        self._clock = clock
        self.phone_number_id = _value(settings, "whatsapp_phone_number_id") or ""
        self._language = TemplateLanguage(settings.whatsapp_template_language)

    @property
    def client(self) -> WhatsApp:
        """pywa's client, for calls beyond sending (none yet)."""
        return self._client

    async def close(self) -> None:
        """Close the HTTP connections of the session handed to pywa."""
        await self._session.aclose()

    # -- reception -------------------------------------------------------------------------

    def read(self, data: Mapping[str, Any]) -> WebhookContent:
        return read_webhook(data, self.phone_number_id, self._clock)

    # -- delivery --------------------------------------------------------------------------

    async def send(self, chat_id: str, message: OutgoingMessage) -> str | None:
        """Send one rendered message; the id of the (last) message sent."""
        try:
            if not window_open(message, self._clock()):
                return await self._send_template(chat_id, message)
            try:
                return await self._send_free(chat_id, message)
            except ReEngagementMessage:
                log.info("whatsapp: the 24-hour window was closed; sending the template")
                return await self._send_template(chat_id, message)
        except WhatsAppError as error:
            raise send_error(error) from error
        except httpx.TimeoutException as error:
            raise TransientSendError(f"whatsapp timeout: {type(error).__name__}") from error
        except httpx.HTTPError as error:
            raise TransientSendError(f"whatsapp network: {type(error).__name__}") from error
        except (ValueError, KeyError, TypeError) as error:
            # pywa refusing the request before sending it (a recipient it cannot read), or an
            # answer of another shape than documented: sending the same again will not help.
            raise PermanentSendError(f"whatsapp request: {type(error).__name__}") from error

    async def _send_free(self, to: str, message: OutgoingMessage) -> str:
        text = message.text
        choices = choices_of(message)
        attachment = message.attachment
        sent: list[str] = []
        if attachment is not None:
            caption = text if text and len(text) <= CAPTION_MAX and not choices else None
            image = await self._client.send_image(
                to=to, image=attachment.data, caption=caption,
                mime_type=attachment.content_type or "image/png",
            )
            sent.append(image.id)
            if caption is not None:
                text = ""
        if not choices or len(text) > INTERACTIVE_BODY_MAX:
            # The text alone; with choices, too long to be their message's body.
            for piece in chunks(text):
                sent.append((await self._client.send_message(to=to, text=piece)).id)
            text = ""
        if choices:
            prompt = text or self._renderer.text("whatsapp/choose", {}, WHATSAPP)
            sent.append(await self._send_choices(to, prompt, choices, message.page))
        if not sent:
            raise PermanentSendError("whatsapp: nothing to send in this message")
        return message_key(sent[-1])

    async def _send_choices(self, to: str, text: str, choices: list[OutgoingButton],
                            page: int) -> str:
        if fits_buttons(choices):
            buttons = [Button(title=choice.label, callback_data=choice.payload)
                       for choice in choices]
            return (await self._client.send_message(to=to, text=text, buttons=buttons)).id
        spans = pages(len(choices))
        page = min(max(page, 0), len(spans) - 1)
        start, end = spans[page]
        rows = [self._row(choice) for choice in choices[start:end]]
        count = len(spans)
        if page > 0:
            label = self._renderer.label("page_prev")
            rows.insert(0, SectionRow(title=_cut(label, ROW_TITLE_MAX),
                                      callback_data=f"{PAGE_PREFIX}{page - 1}"))
        if page < count - 1:
            label = self._renderer.label("page_next", {"page": page + 2, "pages": count})
            rows.append(SectionRow(title=_cut(label, ROW_TITLE_MAX),
                                   callback_data=f"{PAGE_PREFIX}{page + 1}"))
        title = self._renderer.label("page_section", {"page": page + 1, "pages": count})
        listing = SectionList(
            button_title=_cut(self._renderer.label("list_open"), LIST_BUTTON_MAX),
            sections=[Section(title=_cut(title, SECTION_TITLE_MAX), rows=rows)],
        )
        return (await self._client.send_message(to=to, text=text, buttons=listing)).id

    @staticmethod
    def _row(choice: OutgoingButton) -> SectionRow:
        if len(choice.label) <= ROW_TITLE_MAX:
            return SectionRow(title=choice.label, callback_data=choice.payload)
        return SectionRow(title=_cut(choice.label, ROW_TITLE_MAX), callback_data=choice.payload,
                          description=_cut(choice.label, ROW_DESCRIPTION_MAX))

    def template_name(self, kind: str) -> str:
        """The approved template for a kind of message; a late reply goes as news."""
        settings = self._settings
        return {
            "reminder": settings.whatsapp_template_reminder,
            "broadcast": settings.whatsapp_template_broadcast,
            "report": settings.whatsapp_template_report,
        }.get(kind, settings.whatsapp_template_news)

    async def _send_template(self, to: str, message: OutgoingMessage) -> str:
        params: list[BaseParams | dict[str, Any]] = []
        attachment = message.attachment
        if attachment is not None:
            params.append(HeaderImage.params(
                image=attachment.data, mime_type=attachment.content_type or "image/png"))
        params.append(BodyText.params(template_parameter(message.text)))
        sent = await self._client.send_template(
            to=to, name=self.template_name(message.kind),
            language=self._language, params=params,
        )
        return message_key(sent.id)
