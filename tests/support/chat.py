"""A chat driver for whole conversations through the console channel.

`client.send("…")`, `client.press("label")`, `client.share_contact("0812…")` each dispatch
one update through the real dispatcher, flows, SQLite/PostgreSQL and outbox, deliver the
outbox through the console transport, and return what this user saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from bot.app import App
from bot.console import ConsoleTransport, Shown, make
from flows.events import Incoming, Kind
from storage.conversations import SqlConversationRepository


class ChatClient:
    def __init__(self, app: App, user_id: str = "1001") -> None:
        self.app = app
        self.user_id = user_id
        console = app.transports.get("console")
        if not isinstance(console, ConsoleTransport):
            console = ConsoleTransport(app.renderer, write=lambda _text: None)
            app.add_transport(console)
        self.console = console

    @property
    def history(self) -> list[Shown]:
        return [shown for shown in self.console.shown if shown.chat_id == self.user_id]

    @property
    def last(self) -> Shown:
        return self.history[-1]

    async def deliver(self, incoming: Incoming) -> list[Shown]:
        before = len(self.history)
        await self.app.dispatcher.handle(incoming)
        await self.app.sender.drain()
        return self.history[before:]

    async def send(self, text: str) -> list[Shown]:
        kind = Kind.COMMAND if text.strip().startswith("/") else Kind.TEXT
        return await self.deliver(make(self.user_id, kind, text=text))

    async def press(self, label: str) -> list[Shown]:
        """Press a button of the latest message that has buttons (by exact label or prefix)."""
        for shown in reversed(self.history):
            if shown.buttons:
                buttons = [button for row in shown.buttons for button in row]
                break
        else:
            raise AssertionError("no message with buttons yet")
        matches = [b for b in buttons if b.label == label] or [
            b for b in buttons if b.label.startswith(label)
        ]
        if not matches:
            raise AssertionError(f"no button {label!r} among {[b.label for b in buttons]}")
        button = matches[0]
        return await self.press_payload(button.payload, button.label)

    async def press_payload(self, payload: str, label: str = "") -> list[Shown]:
        return await self.deliver(make(self.user_id, Kind.BUTTON, payload=payload, text=label))

    async def share_contact(self, phone: str, owner: str | None = None) -> list[Shown]:
        return await self.deliver(ConsoleTransport.contact(self.user_id, phone, owner))

    async def send_unsupported(self, what: str = "sticker") -> list[Shown]:
        return await self.deliver(make(self.user_id, Kind.UNSUPPORTED, text=what))

    async def state(self) -> tuple[str | None, dict[str, Any]]:
        key = self.app.dispatcher.key_for(make(self.user_id, Kind.TEXT))
        async with self.app.sessions() as session:
            return await SqlConversationRepository(session, self.app.cipher).load(key)


class _HasText(Protocol):
    @property
    def text(self) -> str: ...


def texts(shown: Iterable[_HasText]) -> str:
    """All the texts of some messages (of any channel), joined, for `in` assertions."""
    return "\n---\n".join(message.text for message in shown)
