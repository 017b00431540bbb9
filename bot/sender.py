"""Delivers outbox rows through the channel's transport, retrying what is worth retrying.

A row is marked sent only after the platform accepted it, so a crash can at worst send one
message twice, never lose one. Pacing per channel and several senders sharing rows on
PostgreSQL come with the broadcast work (issue 3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.transport import PermanentSendError, TransientSendError, Transport
from storage.crypto import PersonalDataCipher
from storage.outbox import OutgoingMessage, SqlOutbox

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... up to ten minutes."""
    return min(timedelta(seconds=2**attempts), MAX_BACKOFF)


class OutboxSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: PersonalDataCipher,
        transports: Mapping[str, Transport],
        batch_size: int = 50,
        max_attempts: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._transports = transports
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set; wakes on new rows or every `poll_seconds`."""
        while not stop.is_set():
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("outbox delivery failed; retrying shortly")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=poll_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def deliver_due(self) -> int:
        """Send one batch of due rows; the number handled."""
        async with self._sessions.begin() as session:
            rows = await SqlOutbox(session, self._cipher).due(
                self._clock(), self._batch_size, tuple(self._transports)
            )
        failed_chats: set[tuple[str, str]] = set()
        for row in rows:
            chat = (row.channel, row.chat_id)
            if chat in failed_chats:
                continue  # keep the chat's order: its later rows wait for the failed one
            if not await self._deliver(row):
                failed_chats.add(chat)
        return len(rows)

    async def drain(self) -> None:
        """Deliver until nothing is due (tests and the terminal chat)."""
        while await self.deliver_due():
            pass

    async def _deliver(self, row: OutgoingMessage) -> bool:
        """Send one row and record the outcome; True when it was sent."""
        transport = self._transports[row.channel]
        try:
            message_id = await transport.send(row.chat_id, row.body)
        except TransientSendError as error:
            delay = (timedelta(seconds=error.retry_after) if error.retry_after
                     else backoff(row.attempts))
            await self._mark(row, error=str(error), delay=delay)
            return False
        except PermanentSendError as error:
            await self._mark(row, error=str(error), delay=None)
            return False
        async with self._sessions.begin() as session:
            await SqlOutbox(session, self._cipher).mark_sent(row.id, message_id, self._clock())
        return True

    async def _mark(self, row: OutgoingMessage, error: str, delay: timedelta | None) -> None:
        log.warning("sending outbox row %s on %s failed: %s", row.id, row.channel, error)
        async with self._sessions.begin() as session:
            outbox = SqlOutbox(session, self._cipher)
            if delay is None or row.attempts + 1 >= self._max_attempts:
                await outbox.mark_failed(row.id, error)
            else:
                await outbox.mark_retry(row.id, error, delay, self._clock())
