"""What crosses the boundary between transports and flows: frozen, platform-free data.

Transports turn a platform update into an `Incoming` and a `Reply` into a platform call;
keeping both frozen and free of platform types is what lets one flow serve Telegram,
WhatsApp and the terminal alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """The chat platforms a conversation can live on."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"


class ChatType(StrEnum):
    """Private chats run conversations; groups only receive pushes (issue 3)."""

    PRIVATE = "private"
    GROUP = "group"


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
