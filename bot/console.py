"""The terminal chat: a full channel for the demo and for end-to-end tests.

Messages print as plain text with numbered buttons; the user answers by typing, by a button's
number or its label. Choosing the share-contact button asks for the phone number the
(simulated) contact card carries, which is always the user's own. Several users may share
one transport (tests do); each chat keeps its own last buttons, as a phone would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flows.answers import number_of
from flows.button_words import AmbiguousWords, named_choice
from flows.events import (
    Attachment,
    Channel,
    Incoming,
    Kind,
    OutgoingButton,
    OutgoingMessage,
    SharedContact,
)
from messages.renderer import Renderer


@dataclass(frozen=True, slots=True)
class Shown:
    """One message as the terminal user saw it (tests read the conversation from these)."""

    chat_id: str
    text: str
    buttons: list[list[OutgoingButton]] = field(default_factory=list)
    # A picture sent with the text (the monthly chart, a camat's invitation QR code).
    attachment: Attachment | None = None

    @property
    def labels(self) -> list[str]:
        return [button.label for row in self.buttons for button in row]


class ConsoleTransport:
    """Prints messages and turns typed lines into `Incoming` updates."""

    channel = Channel.CONSOLE

    def __init__(self, renderer: Renderer, write: Callable[[str], None] = print,
                 own_chat: str | None = None) -> None:
        self._renderer = renderer
        self._write = write
        # The terminal's own user: a message for another console user (a coordinator told
        # of a submission) is printed under a line saying whose it is.
        self._own_chat = own_chat
        self.shown: list[Shown] = []
        self._choices: dict[str, list[OutgoingButton]] = {}

    async def send(self, chat_id: str, message: OutgoingMessage) -> str | None:
        shown = Shown(chat_id, message.text, [list(row) for row in message.buttons],
                      message.attachment)
        self.shown.append(shown)
        lines = [""]
        if self._own_chat is not None and chat_id != self._own_chat:
            lines.append(self._renderer.text("console/for_other", {"chat_id": chat_id}))
        if shown.attachment is not None:
            lines.append(self._renderer.text(
                "console/picture", {"filename": shown.attachment.filename}))
        lines.append(shown.text)
        if shown.buttons:
            self._choices[chat_id] = [button for row in shown.buttons for button in row]
            for number, button in enumerate(self._choices[chat_id], start=1):
                lines.append(f"  [{number}] {button.label}")
        elif message.remove_keyboard:
            self._choices.pop(chat_id, None)
        self._write("\n".join(lines))
        return str(len(self.shown))

    def button_for(self, user_id: str, typed: str) -> OutgoingButton | None:
        """The button a typed number or label names, among those last shown to this user.

        Words follow the flows' rule (flows/button_words.py); words that fit two buttons are
        passed on as text, for the flow to explain."""
        choices = self._choices.get(user_id, [])
        value = typed.strip()
        number = number_of(value)  # not str.isdigit: "²" passes it and int() refuses it
        if number is not None and 1 <= number <= len(choices):
            return choices[number - 1]
        try:
            return named_choice(value, [(button.label, button) for button in choices])
        except AmbiguousWords:
            return None

    def incoming(self, user_id: str, line: str) -> Incoming:
        """A typed line as an update: a button's number or label, a command, or text.

        The share-contact button is not handled here: the terminal asks for the number first
        (see admin/terminal.py) and then sends `contact(...)`.
        """
        button = self.button_for(user_id, line)
        if button is not None and not button.contact:
            return make(user_id, Kind.BUTTON, payload=button.payload, text=button.label)
        kind = Kind.COMMAND if line.strip().startswith("/") else Kind.TEXT
        return make(user_id, kind, text=line)

    def wants_contact(self, user_id: str, line: str) -> bool:
        button = self.button_for(user_id, line)
        return button is not None and button.contact

    @staticmethod
    def contact(user_id: str, phone: str, owner: str | None = None) -> Incoming:
        """A shared contact card; `owner` other than the user makes it someone else's."""
        card = SharedContact(phone=phone, user_id=owner or user_id)
        return make(user_id, Kind.CONTACT, contact=card)


def make(user_id: str, kind: Kind, **fields: Any) -> Incoming:
    """An update from a terminal user (private chat: chat id is the user id)."""
    return Incoming(channel=Channel.CONSOLE, chat_id=user_id, user_id=user_id, kind=kind,
                    **fields)
