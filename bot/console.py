"""The terminal chat: a full channel for the demo and for end-to-end tests.

Messages print as plain text with numbered buttons; the user answers by typing, by a button's
number or its label. Choosing the share-contact button asks for the phone number the
(simulated) contact card carries, which is always the user's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flows.events import Channel, Incoming, Kind, SharedContact
from messages.renderer import Renderer


@dataclass(frozen=True, slots=True)
class Shown:
    """One message as the terminal user saw it."""

    text: str
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [button["label"] for row in self.buttons for button in row]


class ConsoleTransport:
    """Prints messages and turns typed lines into `Incoming` updates."""

    channel = Channel.CONSOLE

    def __init__(
        self,
        renderer: Renderer,
        user_id: str = "1",
        write: Callable[[str], None] = print,
    ) -> None:
        self._renderer = renderer
        self.user_id = user_id
        self._write = write
        self.shown: list[Shown] = []
        self._choices: list[dict[str, Any]] = []
        self._sent = 0

    async def send(self, chat_id: str, body: dict[str, Any]) -> str | None:
        shown = Shown(body["text"], body.get("buttons") or [])
        self.shown.append(shown)
        if shown.buttons:
            self._choices = [button for row in shown.buttons for button in row]
        elif body.get("remove_keyboard"):
            self._choices = []
        lines = ["", shown.text]
        for number, button in enumerate(self._choices if shown.buttons else [], start=1):
            lines.append(f"  [{number}] {button['label']}")
        self._write("\n".join(lines))
        self._sent += 1
        return str(self._sent)

    def button_for(self, typed: str) -> dict[str, Any] | None:
        """The button a typed number or label names, among those last shown."""
        value = typed.strip()
        if value.isdigit() and 1 <= int(value) <= len(self._choices):
            return self._choices[int(value) - 1]
        for button in self._choices:
            if button["label"].lower() == value.lower():
                return button
        return None

    def incoming(self, line: str, ask: Callable[[str], str] | None = None) -> Incoming:
        """A typed line as an update; `ask` reads the phone when the contact button is chosen."""
        button = self.button_for(line)
        if button is not None and button.get("contact"):
            if ask is None:
                raise ValueError("a contact needs a phone number")
            phone = ask(self._renderer.text("console/ask_contact_phone", {}))
            return self.contact(phone)
        if button is not None:
            return self._make(Kind.BUTTON, payload=button["payload"], text=button["label"])
        kind = Kind.COMMAND if line.strip().startswith("/") else Kind.TEXT
        return self._make(kind, text=line)

    def contact(self, phone: str, own: bool = True) -> Incoming:
        owner = self.user_id if own else f"{self.user_id}0"
        return self._make(Kind.CONTACT, contact=SharedContact(phone=phone, user_id=owner))

    def unsupported(self, what: str = "sticker") -> Incoming:
        return self._make(Kind.UNSUPPORTED, text=what)

    def _make(self, kind: Kind, **fields: Any) -> Incoming:
        return Incoming(
            channel=Channel.CONSOLE, chat_id=self.user_id, user_id=self.user_id, kind=kind,
            **fields,
        )
