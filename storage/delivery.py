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

from sqlalchemy import case, func, literal, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chats import SqlChats
from storage.models import OutboxMessage
from storage.outbox import FAILED, SENT

DELIVERED, READ = "delivered", "read"
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
        """Record one report in one statement; False when no outbox row carries that message
        id (a message sent by another system on the same number, or a report older than the
        row). A time already known stays (COALESCE); only a sent row becomes failed."""
        if report.status not in STATUSES:
            return False
        at = literal(report.at, OutboxMessage.delivered_at.type)
        values: dict[str, object] = {}
        if report.status == SENT:
            values["sent_at"] = func.coalesce(OutboxMessage.sent_at, at)
        if report.status in (DELIVERED, READ):
            values["delivered_at"] = func.coalesce(OutboxMessage.delivered_at, at)
        if report.status == READ:
            values["read_at"] = func.coalesce(OutboxMessage.read_at, at)
        if report.status == FAILED:
            was_sent = OutboxMessage.status == SENT
            values["status"] = case((was_sent, FAILED), else_=OutboxMessage.status)
            values["last_error"] = case((was_sent, (report.error or FAILED)[:500]),
                                        else_=OutboxMessage.last_error)
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == report.channel,
                   OutboxMessage.platform_message_id == report.platform_message_id)
            .values(**values)
        )
        if report.status == FAILED and report.unreachable:
            await SqlChats(self._session).mark_unreachable(
                report.channel, report.chat_id, report.error or "unreachable", now)
        return bool(getattr(result, "rowcount", 0))
