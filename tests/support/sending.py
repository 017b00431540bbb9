"""What the tests of sending share (tests/bot/test_sender.py, tests/bot/test_pacing.py,
tests/storage/test_outbox_claims.py): the app's clock, one the sender's sleeps move, and rows
queued in the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from storage.outbox import SqlOutbox


class Clock:
    """The app's clock; a test moves `now` by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeClock(Clock):
    """Time that moves only when the sender sleeps (no real waiting): the sender takes a
    clock's own `sleep` for its waits."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # sends launched before the sleep start before time moves
        self.now += timedelta(seconds=max(seconds, 0))


async def add_messages(app: App, channel: str, messages: list[tuple[str, str]],
                       kind: str = "reply", **body: Any) -> None:
    """Queue (chat id, text) messages on `channel`, at the app's time, in one transaction;
    `body` adds fields to every body (an "image")."""
    async with app.sessions.begin() as session:
        outbox = SqlOutbox(session, app.cipher)
        for chat_id, text in messages:
            await outbox.add(channel, chat_id, {"text": text, **body}, app.clock(), kind=kind)
