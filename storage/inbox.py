"""Webhook deliveries waiting to be dispatched.

The web server writes a verified update here, in its own short transaction, before it answers
the platform with 200; a background task dispatches it and deletes it. A crash between the
answer and the dispatch therefore loses nothing: the row is found again at the next start.
The body is encrypted like conversation data, because it holds what the user typed (a NIK).

A row is claimed for a while before it is handled, so two server processes sharing a
PostgreSQL database never handle the same row at once (FOR UPDATE SKIP LOCKED); a row whose
handling failed waits with a growing delay, and one that failed `max_attempts` times stays
for an operator to look at (the health endpoint counts it) instead of blocking the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import PersonalDataCipher
from storage.models import InboxUpdate


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
        self, now: datetime, limit: int, hold: timedelta, max_attempts: int
    ) -> list[InboxItem]:
        """Due rows, oldest first, held until `now + hold` so no other process takes them."""
        query = (
            select(InboxUpdate)
            .where(
                InboxUpdate.next_attempt_at <= now,
                InboxUpdate.attempts < max_attempts,
                or_(InboxUpdate.claimed_until.is_(None), InboxUpdate.claimed_until < now),
            )
            .order_by(InboxUpdate.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = (await self._session.scalars(query)).all()
        if not rows:
            return []
        await self._session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.id.in_([row.id for row in rows]))
            .values(claimed_until=now + hold)
        )
        return [
            InboxItem(row.id, row.channel, self._cipher.decrypt_json(row.body_enc), row.attempts)
            for row in rows
        ]

    async def done(self, row_ids: list[int]) -> None:
        """Handled: the row has served its purpose (the dispatcher keeps the update's id)."""
        if row_ids:
            await self._session.execute(delete(InboxUpdate).where(InboxUpdate.id.in_(row_ids)))

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
