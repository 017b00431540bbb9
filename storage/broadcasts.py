"""A camat's broadcasts and how far their delivery has come.

Delivery progress is counted from the broadcast's outbox rows, the single record of what was
sent, so the figures a camat sees are right after any crash or restart of a sender.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    """Outbox rows of one broadcast by outcome."""

    sent: int = 0
    waiting: int = 0
    failed: int = 0
    unreachable: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.waiting + self.failed + self.unreachable + self.cancelled

    @property
    def done(self) -> bool:
        return self.waiting == 0


_FIELD_BY_STATUS = {
    "sent": "sent",
    "pending": "waiting",
    "failed": "failed",
    "unreachable": "unreachable",
    "cancelled": "cancelled",
}


async def broadcast_progress(session: AsyncSession, broadcast_id: int) -> BroadcastProgress:
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    counts = {_FIELD_BY_STATUS[status]: count for status, count in rows
              if status in _FIELD_BY_STATUS}
    return BroadcastProgress(**counts)
