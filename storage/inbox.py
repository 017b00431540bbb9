"""Webhook deliveries waiting to be dispatched.

The web server writes a verified update here, in its own short transaction, before it answers
the platform with 200; a background task dispatches it and deletes it. A crash between the
answer and the dispatch therefore loses nothing: the row is found again at the next start.
The body is encrypted like conversation data, because it holds what the user typed (a NIK).

A row is claimed for a while before it is handled, so two server processes sharing a
PostgreSQL database never handle the same row at once. The claim goes per chat: a chat's rows
are taken oldest first, and not at all while an older row of the same chat is held by another
process or waits for its retry, so a chat's messages are dispatched in the order they came
however many processes share the inbox. The chats are inside the encrypted bodies, so a claim
reads the oldest rows (10 x the batch), decrypts them for their chats, and is made one process at a
time (a transaction-level advisory lock on PostgreSQL; SQLite serves one process). A row
whose handling failed waits with a growing delay, and one that failed `max_attempts` times
stays for an operator to look at (the health endpoint counts it) instead of blocking the
rest, its chat included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import PersonalDataCipher
from storage.models import InboxUpdate
from storage.statements import ADVISORY_LOCK

# The key of the advisory lock that makes inbox claims one at a time across processes.
CLAIM_LOCK = 0x1AB0C5_C1A1
# The chats a delivery concerns, from its channel and body: rows sharing one go in order.
ChatKeys = Callable[[str, dict[str, Any]], set[str]]


def no_chats(channel: str, body: dict[str, Any]) -> set[str]:
    """Every row on its own (a caller that does not know the chats)."""
    return set()


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A claimed inbox row, decrypted for its channel's handler."""

    id: int
    channel: str
    body: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class InboxCounts:
    """How many rows wait to be handled, and how many gave up after every attempt."""

    waiting: int
    stuck: int


class SqlInbox:
    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self._session = session
        self._cipher = cipher

    def add(self, channel: str, body: dict[str, Any], now: datetime) -> None:
        """Keep one verified delivery; it commits with the caller's transaction."""
        self._session.add(
            InboxUpdate(
                channel=channel,
                body_enc=self._cipher.encrypt_json(body),
                received_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )

    async def claim(
        self, now: datetime, limit: int, hold: timedelta, max_attempts: int,
        chats: ChatKeys = no_chats,
    ) -> list[InboxItem]:
        """Up to `limit` due rows, oldest first, held until `now + hold` so no other process
        takes them; a row is left while an older row of one of its chats (`chats`) is held
        elsewhere or not due yet. Reads the oldest 10 x `limit` rows."""
        if self._session.get_bind().dialect.name == "postgresql":
            # Claims one at a time: a claim must see every hold made before it, committed.
            await self._session.execute(ADVISORY_LOCK.built("postgresql"),
                                        {"lock": CLAIM_LOCK})
        rows = (await self._session.scalars(
            select(InboxUpdate)
            .where(InboxUpdate.attempts < max_attempts)
            .order_by(InboxUpdate.id)
            .limit(10 * limit)
        )).all()
        taken: list[InboxItem] = []
        blocked: set[str] = set()
        for row in rows:
            if len(taken) >= limit:
                break
            body = self._cipher.decrypt_json(row.body_enc)
            keys = chats(row.channel, body)
            free = row.next_attempt_at <= now and (
                row.claimed_until is None or row.claimed_until < now)
            if not free or keys & blocked:
                blocked |= keys  # the chat's later rows wait for this one
                continue
            taken.append(InboxItem(row.id, row.channel, body, row.attempts))
        if taken:
            await self._session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.id.in_([item.id for item in taken]))
                .values(claimed_until=now + hold)
            )
        return taken

    async def done(self, row_ids: list[int]) -> None:
        """Handled: the row has served its purpose (the dispatcher keeps the update's id)."""
        if row_ids:
            await self._session.execute(delete(InboxUpdate).where(InboxUpdate.id.in_(row_ids)))

    async def release(self, row_ids: list[int]) -> None:
        """Not handled, through no fault of the row (an earlier row of its chat failed, or
        the database went away): free to be claimed again, no attempt counted."""
        if row_ids:
            await self._session.execute(
                update(InboxUpdate).where(InboxUpdate.id.in_(row_ids)).values(claimed_until=None)
            )

    async def retry(self, row_id: int, error: str, delay: timedelta, now: datetime) -> None:
        """Handling failed (the database was down, a bug): try again after `delay`.
        `error` names the failure's kind only; the body is never copied into it."""
        await self._session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.id == row_id)
            .values(
                attempts=InboxUpdate.attempts + 1,
                next_attempt_at=now + delay,
                claimed_until=None,
                last_error=error[:200],
            )
        )

    async def counts(self, max_attempts: int) -> InboxCounts:
        """Both counts in one statement (the health check runs it on every probe)."""
        waiting, stuck = (await self._session.execute(
            select(func.count().filter(InboxUpdate.attempts < max_attempts),
                   func.count().filter(InboxUpdate.attempts >= max_attempts))
            .select_from(InboxUpdate)
        )).one()
        return InboxCounts(waiting or 0, stuck or 0)
