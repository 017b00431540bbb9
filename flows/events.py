"""What crosses the boundary between transports and flows: frozen, platform-free data.

Transports turn a platform update into an `Incoming`; a flow answers with `Reply`s, which the
renderer (messages/) turns into `OutgoingMessage`s for the outbox, and the sender hands those
to a transport. Keeping all of them frozen and free of platform types is what lets one flow
serve Telegram, WhatsApp and the terminal alike, and they live here because both messages/
and bot/ may import flows/ (never each other's insides).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from flows.chat_types import ChatType


class Channel(StrEnum):
    """The chat platforms a conversation can live on."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"


class Kind(StrEnum):
    """What the user sent, as far as a flow cares."""

    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    CONTACT = "contact"
    UNSUPPORTED = "unsupported"  # sticker, photo, voice, location, document ...


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A contact card the user shared; `user_id` says whose account it belongs to."""

    phone: str
    user_id: str | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One user action, normalised at the edge."""

    channel: Channel
    chat_id: str
    user_id: str
    kind: Kind
    chat_type: ChatType = ChatType.PRIVATE
    text: str = ""
    payload: str = ""
    contact: SharedContact | None = None
    update_id: str | None = None
    message_id: str | None = None
    # The sender's own phone number (E.164), set only by a transport whose platform vouches
    # for it (WhatsApp: the number a message comes from). It proves the phone the way a
    # shared contact does on Telegram, so identification needs no contact card there.
    phone: str | None = None

    @property
    def command(self) -> str | None:
        """The command word without slash or bot suffix ("/mulai@bot x" gives "mulai")."""
        if self.kind is not Kind.COMMAND:
            return None
        word = self.text.strip().split(maxsplit=1)[0] if self.text.strip() else "/"
        return word[1:].split("@", 1)[0].lower()


@dataclass(frozen=True, slots=True)
class Button:
    """A choice: `label` is a key in messages/labels.toml, `payload` what comes back."""

    label: str
    payload: str
    context: dict[str, Any] = field(default_factory=dict)
    request_contact: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """An outgoing message as data: a template key and its context, plus choices.

    `inline` buttons sit under the message; otherwise they form a reply keyboard
    (needed for "share my contact"). `remove_keyboard` clears a reply keyboard. `image` is
    the id of a stored attachment (the monthly chart) sent with the text as its caption.
    `page` is which page of a long list of choices a channel with a small list (WhatsApp:
    10 rows) shows; the user turns pages with a "page:N" choice.
    `chat_id`/`channel` address someone other than the sender (a coordinator, a group).
    `confidential` marks personal data shown in full (the NIK a coordinator verifies): a
    channel that can keep a message from being forwarded or saved (Telegram) does so.
    """

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    inline: bool = True
    remove_keyboard: bool = False
    chat_id: str | None = None
    channel: Channel | None = None
    image: int | None = None
    page: int = 0
    confidential: bool = False


class Markup(StrEnum):
    """The markup a rendered text is written in: the renderer escapes for it, and a transport
    tells its platform how to read it (Telegram: HTML; WhatsApp: its asterisks; the terminal:
    plain text)."""

    HTML = "html"
    WHATSAPP = "whatsapp"
    PLAIN = "plain"


@dataclass(frozen=True, slots=True)
class OutgoingButton:
    """A rendered choice: the label as the user reads it, the payload that comes back, and
    whether pressing it shares the user's contact (Telegram's reply keyboard)."""

    label: str
    payload: str
    contact: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    """A picture sent with a message (the monthly chart, a camat's invitation QR code)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A `Reply` rendered for one channel: what the outbox stores and a transport sends.

    The renderer fills the first fields, which are what an outbox row stores (storage/ keeps
    them as JSON: `as_json` and `from_json`, the one place that form is written and read).
    The sender adds what it knows when it delivers a row: the row's `kind` ("reply", "news",
    "reminder", "broadcast", "report"), when the user last wrote (`last_inbound_at`, None
    when never: WhatsApp's 24-hour window) and the picture `image` names, loaded.
    """

    text: str
    buttons: tuple[tuple[OutgoingButton, ...], ...] = ()
    inline: bool = True
    remove_keyboard: bool = False
    markup: Markup = Markup.PLAIN
    image: int | None = None
    page: int = 0
    confidential: bool = False
    kind: str = "reply"
    last_inbound_at: datetime | None = None
    attachment: Attachment | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored form, key for key what rows already in the outbox hold: the optional
        keys only when set, and never what the sender adds."""
        body: dict[str, Any] = {
            "text": self.text,
            "buttons": [[{"label": button.label, "payload": button.payload,
                          "contact": button.contact} for button in row]
                        for row in self.buttons],
            "inline": self.inline,
            "remove_keyboard": self.remove_keyboard,
            "markup": self.markup.value,
        }
        if self.image is not None:
            body["image"] = self.image
        if self.page:
            body["page"] = self.page
        if self.confidential:
            body["confidential"] = True
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> OutgoingMessage:
        """A stored body read back. Every key but "text" may be missing (rows written by
        hand or by older code hold fewer); a body of another shape raises ValueError."""
        try:
            return cls(
                text=str(body["text"]),
                buttons=tuple(
                    tuple(OutgoingButton(str(button["label"]), str(button["payload"]),
                                         bool(button.get("contact")))
                          for button in row)
                    for row in body.get("buttons") or ()),
                inline=bool(body.get("inline", True)),
                remove_keyboard=bool(body.get("remove_keyboard")),
                markup=Markup(body.get("markup", Markup.PLAIN)),
                image=_optional_int(body.get("image")),
                page=int(body.get("page") or 0),
                confidential=bool(body.get("confidential")),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not an outgoing message: {type(error).__name__}") from error


def _optional_int(value: object) -> int | None:
    """An attachment id as stored: an int, anything else none (as the sender always read it)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
