"""What the platform tells later about a message already sent: delivered, read, or failed.

WhatsApp accepts a message first (the send call returns its id) and reports its fate through
status callbacks. They are applied to the outbox row with that platform message id: the
delivered and read times are kept (the first report wins, as callbacks may come twice or out
of order), a failure marks the row failed, and a failure that will not pass (the number is not
on WhatsApp) marks the chat unreachable so nothing more is queued for it in vain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chats import SqlChats
from storage.models import OutboxMessage
from storage.outbox import FAILED, SENT

DELIVERED, READ = "delivered", "read"
Where = tuple[ColumnElement[bool], ...]
STATUSES = frozenset({SENT, DELIVERED, READ, FAILED})


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One status callback, already translated by the transport.

    `error` names the platform's error code and title only (no message text, no number);
    `unreachable` is the transport's judgement that the recipient cannot get messages at all.
    """

    channel: str
    platform_message_id: str
    chat_id: str
    status: str
    at: datetime
    error: str | None = None
    unreachable: bool = False


class SqlDelivery:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def apply(self, report: DeliveryReport, now: datetime) -> bool:
        """Record one report; False when no outbox row carries that message id (a message
        sent by another system on the same number, or a report older than the row)."""
        if report.status not in STATUSES:
            return False
        row: Where = (OutboxMessage.channel == report.channel,
                      OutboxMessage.platform_message_id == report.platform_message_id)
        matched = False
        if report.status == FAILED:
            matched = await self._set(row, (OutboxMessage.status == SENT,),
                                      status=FAILED, last_error=(report.error or FAILED)[:500])
            if report.unreachable:
                await SqlChats(self._session).mark_unreachable(
                    report.channel, report.chat_id, report.error or "unreachable", now)
            return matched or await self._exists(row)
        if report.status in (DELIVERED, READ):
            matched = await self._set(row, (OutboxMessage.delivered_at.is_(None),),
                                      delivered_at=report.at)
        if report.status == READ:
            matched = await self._set(row, (OutboxMessage.read_at.is_(None),),
                                      read_at=report.at) or matched
        if report.status == SENT:
            matched = await self._set(row, (OutboxMessage.sent_at.is_(None),),
                                      sent_at=report.at)
        return matched or await self._exists(row)

    async def _set(self, row: Where, only_if: Where, **values: object) -> bool:
        result = await self._session.execute(
            update(OutboxMessage).where(*row, *only_if).values(**values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def _exists(self, row: Where) -> bool:
        found = await self._session.scalar(select(OutboxMessage.id).where(*row).limit(1))
        return found is not None
