"""The inbox worker of `asn-peduli serve`: dispatches the deliveries the webhooks stored.

A delivery is stored, encrypted, when it arrives (bot/web.py), and answered at once; this
worker dispatches it through its channel's handler (bot/webhooks.py) and deletes it. A crash
after the answer loses nothing: the row is dispatched at the next start. Deliveries of one
chat are dispatched in the order they arrived, also when several servers share one
PostgreSQL inbox (the inbox claims per chat); other chats move on beside them. While the
database does not answer nothing is counted against a delivery: the worker waits, and goes
on when it is back (bot/loops.py `supervise`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from bot.app import App
from bot.chat_order import WAITING, in_chat_order
from bot.loops import backoff, supervise
from bot.waits import first_of
from bot.webhooks import ChannelWebhook
from storage.inbox import InboxItem, SqlInbox
from storage.outages import database_unavailable, error_summary

log = logging.getLogger(__name__)

INBOX_BATCH = 50
# Chats dispatched at once, on PostgreSQL (keep it below the database pool). SQLite takes one
# writer at a time: more than one dispatch at once only queues in its busy handler, which
# halved the throughput when measured (38 instead of 70 updates/s), so there it is one.
INBOX_CONCURRENCY = 16
INBOX_MAX_ATTEMPTS = 10
INBOX_HOLD = timedelta(minutes=2)
# A claimed delivery not handled through no fault of its own is released with no attempt
# counted: UNAVAILABLE while the database is down, or bot/chat_order.py's WAITING when it
# stood behind an earlier delivery of its chat that was not handled.
UNAVAILABLE = "DatabaseUnavailable"
# A failed delivery is tried again after 1 s, 2 s, 4 s ... at most this many seconds.
MAX_RETRY_DELAY = 300.0


class InboxWorker:
    """Dispatches stored deliveries: in arrival order per chat, whichever process holds the
    chat (the claim is per chat), up to INBOX_CONCURRENCY chats at once; a delivery whose
    handling raised is tried again later with a growing delay. While the database does not
    answer nothing is counted against a delivery: it waits, and goes on when it is back."""

    def __init__(self, app: App, handlers: Iterable[ChannelWebhook],
                 batch_size: int = INBOX_BATCH, concurrency: int | None = None,
                 max_attempts: int = INBOX_MAX_ATTEMPTS) -> None:
        self._app = app
        self._handlers = {handler.channel: handler for handler in handlers}
        self._batch_size = batch_size
        if concurrency is None:
            sqlite = app.engine.dialect.name == "sqlite"
            concurrency = 1 if sqlite else INBOX_CONCURRENCY
        self._slots = asyncio.Semaphore(concurrency)
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        """Called after a delivery was stored."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Dispatch until `stop` is set; wakes on new deliveries or every `poll_seconds` (rows
        left by a crash, or waiting for a retry, or the database coming back)."""
        self._stop = stop

        async def dispatch_due() -> bool:
            return await self.process_due() > 0

        await supervise(dispatch_due, stop, name="inbox", log=log, idle=poll_seconds,
                        wake=self._wake)

    async def process_due(self) -> int:
        """Claim one batch, dispatch it, record the outcome; the number of rows claimed."""
        app = self._app
        async with app.sessions.begin() as session:
            items = await SqlInbox(session, app.cipher).claim(
                app.clock(), self._batch_size, INBOX_HOLD, self.max_attempts, self._chats)
        if not items:
            return 0
        outcomes = await in_chat_order(
            items, lambda item: self._chats(item.channel, item.body), self._handle, self._slots)
        await self._record(list(zip(items, outcomes, strict=True)))
        return len(items)

    async def _record(self, results: list[tuple[InboxItem, str | None]]) -> None:
        """Delete what was handled, free what waited, schedule the failures' retries. While
        the database does not answer this is tried again (the rows stay held meanwhile):
        a delivery done but not deleted would be dispatched again and dropped as a
        duplicate, but would wait out its hold first."""
        while True:
            try:
                await self._record_once(results)
                return
            except Exception as error:
                if not database_unavailable(error) or self._stop.is_set():
                    raise
                log.error("inbox: recording outcomes failed, the database does not answer "
                          "(%s); trying again shortly", type(error).__name__)
                await first_of(self._stop, seconds=1.0)

    async def _record_once(self, results: list[tuple[InboxItem, str | None]]) -> None:
        app = self._app
        now = app.clock()
        async with app.sessions.begin() as session:
            inbox = SqlInbox(session, app.cipher)
            await inbox.done([item.id for item, error in results if error is None])
            await inbox.release([item.id for item, error in results
                                 if error in (WAITING, UNAVAILABLE)])
            for item, error in results:
                if error is None or error in (WAITING, UNAVAILABLE):
                    continue
                delay = timedelta(seconds=backoff(item.attempts, 1.0, MAX_RETRY_DELAY))
                await inbox.retry(item.id, error, delay, now)
                if item.attempts + 1 >= self.max_attempts:
                    log.error("inbox: %s delivery %s failed %s times and is left for an "
                              "operator (%s)", item.channel, item.id, item.attempts + 1, error)

    def _chats(self, channel: str, body: dict[str, Any]) -> set[str]:
        """The delivery's chats as `channel:chat` keys (an odd body: none, it goes alone and
        its handler reports the problem)."""
        handler = self._handlers.get(channel)
        if handler is None:
            return set()
        try:
            return {f"{channel}:{chat}" for chat in handler.chats(body)}
        except Exception:
            return set()

    async def _handle(self, item: InboxItem) -> str | None:
        """Dispatch one delivery; None when done, else what went wrong (a class name: safe
        to log and store). Nothing is counted against it while the database is down."""
        handler = self._handlers.get(item.channel)
        if handler is None:
            return f"{item.channel} channel not configured"
        try:
            await handler.handle(item.body)
        except Exception as error:
            if database_unavailable(error):
                log.error("inbox: a %s delivery waits, the database does not answer (%s)",
                          item.channel, type(error).__name__)
                return UNAVAILABLE
            log.warning("inbox: dispatching a %s delivery failed: %s", item.channel,
                        error_summary(error))
            return type(error).__name__
        return None
