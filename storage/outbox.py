"""The outbox: every outgoing message is a row before it is sent.

Rows are written in the transaction of the change that caused them, so a crash never loses a
reply nor sends one for a change that rolled back. The body (rendered text and keyboard) is
encrypted: a summary may show a worker's birth date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.crypto import PersonalDataCipher
from storage.models import OutboxMessage

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A due outbox row, decrypted for the sender."""

    id: int
    channel: str
    chat_id: str
    body: dict[str, Any]
    attempts: int


class SqlOutbox:
    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self._session = session
        self._cipher = cipher

    def add(
        self,
        channel: str,
        chat_id: str,
        body: dict[str, Any],
        now: datetime,
        kind: str = "reply",
        broadcast_id: int | None = None,
    ) -> None:
        """Queue one message; `kind` says whether it answers the user ("reply") or the bot
        starts it ("news", "reminder", "broadcast", "report")."""
        self._session.add(
            OutboxMessage(
                channel=channel,
                chat_id=chat_id,
                body_enc=self._cipher.encrypt_json(body),
                status=PENDING,
                kind=kind,
                broadcast_id=broadcast_id,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    async def due(
        self, now: datetime, limit: int, channels: tuple[str, ...]
    ) -> list[OutgoingMessage]:
        """Pending rows whose time has come, oldest first, leaving out any chat whose earlier
        message still waits for a retry, so a message is never overtaken by the next one (the
        sender also stops a chat's batch at its first failure); on PostgreSQL rows another
        sender holds are skipped (FOR UPDATE SKIP LOCKED)."""
        earlier = aliased(OutboxMessage)
        waiting_behind = (
            select(earlier.id)
            .where(
                earlier.channel == OutboxMessage.channel,
                earlier.chat_id == OutboxMessage.chat_id,
                earlier.status == PENDING,
                earlier.next_attempt_at > now,
                earlier.id < OutboxMessage.id,
            )
            .exists()
        )
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == PENDING,
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.channel.in_(channels),
                ~waiting_behind,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = (await self._session.scalars(query)).all()
        return [
            OutgoingMessage(
                id=row.id,
                channel=row.channel,
                chat_id=row.chat_id,
                body=self._cipher.decrypt_json(row.body_enc),
                attempts=row.attempts,
            )
            for row in rows
        ]

    async def mark_sent(self, row_id: int, platform_message_id: str | None, now: datetime) -> None:
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(
                status=SENT,
                sent_at=now,
                platform_message_id=platform_message_id,
                attempts=OutboxMessage.attempts + 1,
            )
        )

    async def mark_retry(self, row_id: int, error: str, delay: timedelta, now: datetime) -> None:
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=now + delay,
                last_error=error[:500],
            )
        )

    async def mark_failed(self, row_id: int, error: str) -> None:
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status=FAILED, attempts=OutboxMessage.attempts + 1, last_error=error[:500])
        )
