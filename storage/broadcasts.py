"""A camat's broadcasts: who they reach (and who they cannot reach yet), their queueing, how
far delivery has come, and their cancelling.

Delivery progress is counted from the broadcast's outbox rows, the single record of what was
sent, so the figures a camat sees are right after any crash or restart of a sender. Every
query of the repository is bounded by the camat's kecamatan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flows.audiences import AUDIENCES, Audience
from flows.chat_types import ChatType
from flows.enrollment_status import DEDUCTED_STATUSES
from storage.crypto import PersonalDataCipher
from storage.interfaces import BroadcastStatus
from storage.models import (
    Asn,
    Broadcast,
    BroadcastBody,
    ChannelIdentity,
    Chat,
    Enrollment,
    OutboxMessage,
    UtcDateTime,
)

# A broadcast's own status (its outbox rows have theirs).
SENDING, DONE, CANCELLED = "sending", "done", "cancelled"


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    """Outbox rows of one broadcast by outcome."""

    sent: int = 0
    waiting: int = 0
    failed: int = 0
    unreachable: int = 0
    cancelled: int = 0


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


# --- a camat's broadcasts: audience, queueing, delivery, cancelling --------------------------

def _reachable(channel: Any, chat_id: Any) -> ColumnElement[bool]:
    """No record says this chat blocked the bot or is not on the platform."""
    return ~(
        select(Chat.id)
        .where(Chat.channel == channel, Chat.chat_id == chat_id, Chat.unreachable_at.is_not(None))
        .exists()
    )


def _latest_identity() -> ColumnElement[bool]:
    """The ASN's latest linked account only: one message per ASN, not one per channel."""
    newer = aliased(ChannelIdentity)
    return ~(
        select(newer.id)
        .where(
            newer.asn_id == ChannelIdentity.asn_id,
            or_(newer.linked_at > ChannelIdentity.linked_at,
                and_(newer.linked_at == ChannelIdentity.linked_at,
                     newer.id > ChannelIdentity.id)),
        )
        .exists()
    )


def recipients(unit_id: int, audience: str) -> Select[tuple[str, str]]:
    """(channel, chat_id) of everyone a broadcast to this kecamatan and audience reaches.

    "all": ASN living in the kecamatan with a linked chat; "not_participating": those of
    them with no enrolment agreed and not ended; "groups": group chats linked to it. Chats
    known to be unreachable are left out.
    """
    if audience == Audience.GROUPS:
        return (
            select(Chat.channel.label("channel"), Chat.chat_id.label("chat_id"))
            .where(Chat.unit_id == unit_id, Chat.chat_type == ChatType.GROUP,
                   Chat.unreachable_at.is_(None))
        )
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    query = (
        select(ChannelIdentity.channel.label("channel"),
               ChannelIdentity.chat_id.label("chat_id"))
        .join(Asn, Asn.id == ChannelIdentity.asn_id)
        .where(Asn.kecamatan_id == unit_id, _latest_identity(),
               _reachable(ChannelIdentity.channel, ChannelIdentity.chat_id))
    )
    if audience == Audience.NOT_PARTICIPATING:
        query = query.where(~_participating())
    return query


def unlinked(unit_id: int, audience: str) -> Select[tuple[int]]:
    """Ids of the ASN of the kecamatan (and audience) whom no broadcast can reach because they
    never linked a chat to the bot: the people a camat's invitation is for."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    query = (
        select(Asn.id)
        .where(Asn.kecamatan_id == unit_id,
               ~select(ChannelIdentity.id).where(ChannelIdentity.asn_id == Asn.id).exists())
    )
    if audience == Audience.NOT_PARTICIPATING:
        query = query.where(~_participating())
    return query


def _participating() -> ColumnElement[bool]:
    """The ASN has an enrolment agreed and not ended (storage.reports counts the same)."""
    return (
        select(Enrollment.id)
        .where(Enrollment.asn_id == Asn.id, Enrollment.status.in_(DEDUCTED_STATUSES))
        .exists()
    )


_OUTBOX_COLUMNS = ("channel", "chat_id", "body_enc", "status", "kind", "broadcast_id",
                   "attempts", "next_attempt_at", "created_at")


class SqlBroadcastRepository:
    """BroadcastRepository over one session.

    Queueing writes one outbox row per recipient with one INSERT … SELECT per channel: the
    body is rendered and encrypted once per channel, and no recipient passes through Python,
    so 100,000 recipients queue in one short transaction.
    """

    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self._session = session
        self._cipher = cipher

    async def recipients_by_channel(self, unit_id: int, audience: str) -> dict[str, int]:
        found = recipients(unit_id, audience).subquery()
        rows = await self._session.execute(
            select(found.c.channel, func.count()).group_by(found.c.channel)
        )
        return {channel: count for channel, count in rows}

    async def unlinked_count(self, unit_id: int, audience: str) -> int:
        """How many ASN of the audience the bot cannot reach yet (no chat ever linked); 0
        for the groups audience, which names chats, not people."""
        if audience == Audience.GROUPS:
            return 0
        found = unlinked(unit_id, audience).subquery()
        return await self._session.scalar(select(func.count()).select_from(found)) or 0

    async def queue(
        self, *, asn_id: int, unit_id: int, audience: str, template: str | None,
        text: str | None, channel: str, bodies: dict[str, dict[str, Any]], now: datetime,
    ) -> BroadcastStatus:
        """The broadcast row and its outbox rows, in the caller's transaction; recipients
        on a channel without a body (none was rendered for it) are not reached."""
        broadcast = Broadcast(asn_id=asn_id, unit_id=unit_id, audience=audience,
                              template=template, text=text, channel=channel,
                              status=SENDING, recipients=0, created_at=now)
        self._session.add(broadcast)
        await self._session.flush()
        found = recipients(unit_id, audience).subquery()
        stamp = literal(now, UtcDateTime())
        total = 0
        for target, body in sorted(bodies.items()):
            rows = select(
                found.c.channel, found.c.chat_id, literal(None, Text()), literal("pending"),
                literal("broadcast"), literal(broadcast.id), literal(0), stamp, stamp,
            ).where(found.c.channel == target)
            result = await self._session.execute(
                insert(OutboxMessage).from_select(list(_OUTBOX_COLUMNS), rows)
            )
            queued = max(getattr(result, "rowcount", 0), 0)
            if queued:
                # The body once per channel; the rows refer to it (their own body is NULL).
                self._session.add(BroadcastBody(broadcast_id=broadcast.id, channel=target,
                                                body_enc=self._cipher.encrypt_json(body)))
            total += queued
        broadcast.recipients = total
        if total == 0:
            broadcast.status = DONE
        await self._session.flush()
        return _status(broadcast, BroadcastProgress())

    async def status(self, broadcast_id: int, unit_id: int) -> BroadcastStatus | None:
        """Delivery so far; the first look that finds nothing waiting records it done."""
        broadcast = await self._owned(broadcast_id, unit_id)
        if broadcast is None:
            return None
        progress = await broadcast_progress(self._session, broadcast_id)
        if broadcast.status == SENDING and progress.waiting == 0:
            broadcast.status = DONE
        return _status(broadcast, progress)

    async def latest_id(self, unit_id: int) -> int | None:
        """The kecamatan's most recent broadcast, so a camat can come back to its progress."""
        return await self._session.scalar(
            select(Broadcast.id).where(Broadcast.unit_id == unit_id)
            .order_by(Broadcast.created_at.desc(), Broadcast.id.desc()).limit(1)
        )

    async def cancel(self, broadcast_id: int, unit_id: int, now: datetime
                     ) -> BroadcastStatus | None:
        """Rows not yet sent are cancelled (a sender never sends them); rows a sender holds
        this very moment may still go out and are then counted as sent."""
        broadcast = await self._owned(broadcast_id, unit_id)
        if broadcast is None:
            return None
        if broadcast.status == SENDING:
            await self._session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.broadcast_id == broadcast_id,
                       OutboxMessage.status == "pending")
                .values(status="cancelled")
                .execution_options(synchronize_session=False)
            )
            broadcast.status = CANCELLED
            broadcast.cancelled_at = now
        return _status(broadcast, await broadcast_progress(self._session, broadcast_id))

    async def _owned(self, broadcast_id: int, unit_id: int) -> Broadcast | None:
        return await self._session.scalar(
            select(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.unit_id == unit_id)
        )


def _status(broadcast: Broadcast, progress: BroadcastProgress) -> BroadcastStatus:
    return BroadcastStatus(
        id=broadcast.id, status=broadcast.status, recipients=broadcast.recipients,
        sent=progress.sent, waiting=progress.waiting, failed=progress.failed,
        unreachable=progress.unreachable, cancelled=progress.cancelled,
    )
