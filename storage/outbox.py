"""The outbox: every outgoing message is a row before it is sent.

Rows are written in the transaction of the change that caused them, so a crash never loses a
reply nor sends one for a change that rolled back. The body (rendered text and keyboard) is
encrypted: a summary may show a worker's birth date.

Sending is claim, send, record:

1. `due_chats` + `chat_queues` + `claim`, in one short transaction: the sender picks the chats
   with due rows (answers first, then news and reports, reminders, broadcasts last), takes
   each chat's due rows in order, and sets `claimed_until`. On PostgreSQL the first query
   locks its rows FOR UPDATE SKIP LOCKED, so another sender's claim passes them by; the
   claiming UPDATE only takes rows still pending and unclaimed, so two senders never hold one
   row, whatever their timing.
2. The sender sends outside any transaction.
3. `record` writes what happened to many rows in one transaction: sent (with the platform's
   message id), wait and retry, failed, unreachable, or given back unsent.

A chat's order holds across senders: a row is claimed only when every earlier pending row of
its chat is claimed with it (`chat_queues` stops a chat at a row that waits for a retry or
that someone holds). A row whose claim ran out (its sender died) is due again: if that sender
had sent it, it is sent twice; that is the only way a message is repeated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chats import SqlChats
from storage.crypto import PersonalDataCipher
from storage.models import Attachment, BroadcastBody, Chat, OutboxMessage
from storage.statements import Runner, Statement, runner

PENDING, SENT, FAILED = "pending", "sent", "failed"
UNREACHABLE, CANCELLED = "unreachable", "cancelled"

# Every kind of row, and which a claim takes first: a user waiting for an answer must not
# wait behind a broadcast to 100,000 people.
PRIORITY: Mapping[str, int] = {"reply": 0, "news": 1, "report": 1, "reminder": 2,
                               "broadcast": 3}
URGENCY: tuple[str, ...] = tuple(sorted(PRIORITY, key=PRIORITY.__getitem__))
_TABLE = cast(Table, OutboxMessage.__table__)


@dataclass(frozen=True, slots=True)
class QueuedRow:
    """A pending row as a claim sees it; the body still encrypted."""

    id: int
    channel: str
    chat_id: str
    kind: str
    attempts: int
    body_enc: str


@dataclass(frozen=True, slots=True)
class ChatQueue:
    """The rows of one chat a sender may claim now, in order, and what the chat is.

    `rows` stops before the first row that waits for a retry or that another sender holds;
    `blocked_until` is then when that row is free again (rows behind it must wait)."""

    channel: str
    chat_id: str
    chat_type: str | None
    last_inbound_at: datetime | None
    unreachable: bool
    rows: tuple[QueuedRow, ...]
    blocked_until: datetime | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed row; `record` writes many at once.

    status: "sent", "retry" (wait until `retry_at`), "failed", "unreachable" (this row and
    every later pending row of the chat), or "release" (not sent; due again at once)."""

    row_id: int
    channel: str
    chat_id: str
    status: str
    claimed_until: datetime
    attempts: int = 0
    message_id: str | None = None
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttachmentData:
    filename: str
    content_type: str
    data: bytes


def _still_pending() -> ColumnElement[bool]:
    """status = 'pending', written so that no index on status is used: updates by primary
    key must not make SQLite walk every pending row through ix_outbox_queue instead."""
    return func.coalesce(OutboxMessage.status, "") == PENDING


def _body() -> ColumnElement[str]:
    """A row's encrypted body: its own, or its broadcast's for its channel."""
    shared = (select(BroadcastBody.body_enc)
              .where(BroadcastBody.broadcast_id == OutboxMessage.broadcast_id,
                     BroadcastBody.channel == OutboxMessage.channel)
              .scalar_subquery())
    return func.coalesce(OutboxMessage.body_enc, shared).label("body_enc")


def _free(now: datetime) -> ColumnElement[bool]:
    """Not held by a sender (never claimed, or the claim ran out)."""
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now)


# Inline: the new row's id is not fetched (no RETURNING), nobody reads it.
_QUEUE = Statement(insert(_TABLE).inline().values(
    channel=bindparam("channel"), chat_id=bindparam("chat_id"), body_enc=bindparam("body_enc"),
    status=PENDING, kind=bindparam("kind"), broadcast_id=bindparam("broadcast_id"), attempts=0,
    next_attempt_at=bindparam("now"), created_at=bindparam("now"),
))


def _check_kind(kind: str) -> None:
    """Refuse a row no sender would ever take, at the moment it is queued."""
    if kind not in PRIORITY:
        raise ValueError(f"unknown outbox kind {kind!r}: the sender would never take it")


class SqlOutbox:
    def __init__(self, db: AsyncSession | Runner, cipher: PersonalDataCipher) -> None:
        self._db = runner(db)
        self._cipher = cipher

    @property
    def _session(self) -> AsyncSession:
        return self._db.session

    async def add(
        self,
        channel: str,
        chat_id: str,
        body: dict[str, Any],
        now: datetime,
        kind: str = "reply",
        broadcast_id: int | None = None,
    ) -> None:
        """Queue one message; `kind` says whether it answers the user ("reply") or the bot
        starts it ("news", "reminder", "broadcast", "report"). Inserted at once (not at the
        session's flush), so a chat's rows get their ids in the order they were queued."""
        _check_kind(kind)
        await self._db.run(_QUEUE, {
            "channel": channel, "chat_id": chat_id, "body_enc": self._cipher.encrypt_json(body),
            "kind": kind, "broadcast_id": broadcast_id, "now": now,
        })

    def body(self, body_enc: str) -> dict[str, Any]:
        return self._cipher.decrypt_json(body_enc)

    # -- claiming ----------------------------------------------------------------------------

    async def due_chats(
        self,
        now: datetime,
        limit: int,
        channels: Collection[str],
        exclude: Mapping[str, Collection[str]] | None = None,
    ) -> list[tuple[str, str]]:
        """Chats with a due, unclaimed row, most urgent first (answers before news before
        broadcasts, then the longest due first), from the first `limit` such rows, shared
        between the channels. `exclude` leaves out chats the sender knows cannot send now
        (paced, or waiting for a retry).

        One query per urgency and channel, each walking the index ix_outbox_queue (status,
        kind, channel, next_attempt_at) from its oldest row: 100,000 waiting broadcast rows
        cost a claim no more than 50 do, and one channel's rows (Telegram's, paced at 30/s)
        never stand in the way of another's. On PostgreSQL the rows are locked FOR UPDATE
        SKIP LOCKED until the claim commits, so a concurrent claim skips them instead of
        waiting."""
        chats: dict[tuple[str, str], None] = {}
        wanted = list(channels)
        found = 0
        for kind in URGENCY:  # one kind and channel a query: each an index range, none sorted
            for index, channel in enumerate(wanted):
                room = limit - found
                if room <= 0:
                    return list(chats)
                # A fair share of what is left for each channel still to ask; what one
                # leaves unused goes to the next.
                share = -(-room // (len(wanted) - index))
                query = (
                    select(OutboxMessage.id, OutboxMessage.chat_id)
                    .where(
                        OutboxMessage.status == PENDING,
                        OutboxMessage.kind == kind,
                        OutboxMessage.channel == channel,
                        OutboxMessage.next_attempt_at <= now,
                        _free(now),
                    )
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(share)
                )
                excluded = (exclude or {}).get(channel)
                if excluded:
                    query = query.where(~OutboxMessage.chat_id.in_(list(excluded)))
                if self._dialect() == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                for _, chat_id in await self._session.execute(query):
                    chats.setdefault((channel, chat_id), None)
                    found += 1
        return list(chats)

    async def chat_queues(
        self, chats: Sequence[tuple[str, str]], now: datetime, per_chat: int
    ) -> list[ChatQueue]:
        """For each chat (in the order given), its first `per_chat` pending rows in order, cut
        before the first one that is not due or that a sender holds."""
        by_channel: dict[str, list[str]] = defaultdict(list)
        for channel, chat_id in chats:
            by_channel[channel].append(chat_id)
        found: dict[tuple[str, str], list[Any]] = defaultdict(list)
        facts: dict[tuple[str, str], Any] = {}
        for channel, chat_ids in by_channel.items():
            rank = func.row_number().over(
                partition_by=(OutboxMessage.channel, OutboxMessage.chat_id),
                order_by=OutboxMessage.id,
            ).label("rank")
            ranked = (
                select(OutboxMessage.id, rank)
                .where(OutboxMessage.status == PENDING, OutboxMessage.channel == channel,
                       OutboxMessage.chat_id.in_(chat_ids))
                .subquery()
            )
            query = (
                select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.chat_id,
                       OutboxMessage.kind, OutboxMessage.attempts,
                       OutboxMessage.next_attempt_at, OutboxMessage.claimed_until,
                       _body(), Chat.chat_type, Chat.last_inbound_at,
                       Chat.unreachable_at)
                .join(ranked, ranked.c.id == OutboxMessage.id)
                .outerjoin(Chat, and_(Chat.channel == OutboxMessage.channel,
                                      Chat.chat_id == OutboxMessage.chat_id))
                .where(ranked.c.rank <= per_chat)
                .order_by(OutboxMessage.id)
            )
            for row in await self._session.execute(query):
                key = (row.channel, row.chat_id)
                found[key].append(row)
                facts.setdefault(key, row)
        queues = []
        for key in chats:
            rows = found.get(key)
            if not rows:
                continue  # sent or claimed since: nothing left to take
            taken: list[QueuedRow] = []
            blocked_until: datetime | None = None
            for row in rows:
                held = row.claimed_until is not None and row.claimed_until > now
                if held or row.next_attempt_at > now:
                    blocked_until = row.claimed_until if held else row.next_attempt_at
                    break
                taken.append(QueuedRow(row.id, row.channel, row.chat_id, row.kind,
                                       row.attempts, row.body_enc))
            first = facts[key]
            queues.append(ChatQueue(
                channel=key[0], chat_id=key[1], chat_type=first.chat_type,
                last_inbound_at=first.last_inbound_at,
                unreachable=first.unreachable_at is not None, rows=tuple(taken),
                blocked_until=blocked_until,
            ))
        return queues

    async def claim(self, row_ids: Collection[int], now: datetime, until: datetime
                    ) -> set[int]:
        """Hold these rows until `until`; the ids actually taken (still pending, and held by
        no one else)."""
        ids = list(row_ids)
        if ids and self._dialect() == "postgresql":
            # Only rows this transaction can lock at once: the UPDATE then waits for no one.
            # Updating rows another claim holds locked (its due_chats lock) could deadlock
            # with that claim updating rows this one locked.
            ids = list(await self._session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.id.in_(ids))
                .order_by(OutboxMessage.id).with_for_update(skip_locked=True)
            ))
        if not ids:
            return set()
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), _still_pending(), _free(now))
            .values(claimed_until=until)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return set(result.scalars())

    async def release(self, row_ids: Collection[int], claimed_until: datetime) -> None:
        """Give rows back unsent (only while this claim still holds them)."""
        if row_ids:
            await self._session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(row_ids)),
                       OutboxMessage.claimed_until == claimed_until)
                .values(claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    async def mark_chat_unreachable(
        self, channel: str, chat_id: str, reason: str, now: datetime, after_id: int = 0
    ) -> int:
        """Every pending row to this chat after `after_id` will not be sent: the recipient
        cannot be reached. (No other sender holds one of them: a chat's rows are claimed
        from its first, and the caller holds or has just tried that one.) The number of
        rows."""
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id,
                   OutboxMessage.status == PENDING, OutboxMessage.id > after_id)
            .values(status=UNREACHABLE, claimed_until=None, last_error=reason[:500])
            .execution_options(synchronize_session=False)
        )
        return max(getattr(result, "rowcount", 0), 0)

    async def attachments(self, ids: Iterable[int]) -> dict[int, AttachmentData]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = await self._session.execute(
            select(Attachment.id, Attachment.filename, Attachment.content_type,
                   Attachment.data).where(Attachment.id.in_(wanted))
        )
        return {row.id: AttachmentData(row.filename, row.content_type, bytes(row.data))
                for row in rows}

    # -- recording ---------------------------------------------------------------------------

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Write many outcomes in this transaction: one statement per kind of outcome.

        "sent" is written whatever the claim: the message went out. Every other outcome
        changes a row only while it is pending and this claim still holds it, so a late
        sender never undoes a cancellation or another sender's claim."""
        by_status: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in outcomes:
            by_status[outcome.status].append(outcome)
        if by_status["sent"]:
            await self._session.execute(
                update(_TABLE)
                .where(_TABLE.c.id == bindparam("row_id"))
                .values(status=SENT, sent_at=bindparam("at"),
                        platform_message_id=bindparam("message_id"),
                        attempts=bindparam("tries"), claimed_until=None),
                [{"row_id": o.row_id, "at": now, "message_id": o.message_id,
                  "tries": o.attempts + 1} for o in by_status["sent"]],
            )
        held = and_(_TABLE.c.id == bindparam("row_id"), _TABLE.c.status == PENDING,
                    _TABLE.c.claimed_until == bindparam("claim"))
        if by_status["retry"]:
            await self._session.execute(
                update(_TABLE).where(held)
                .values(attempts=bindparam("tries"), next_attempt_at=bindparam("retry_at"),
                        last_error=bindparam("error"), claimed_until=None),
                [{"row_id": o.row_id, "claim": o.claimed_until, "tries": o.attempts + 1,
                  "retry_at": o.retry_at or now, "error": (o.error or "")[:500]}
                 for o in by_status["retry"]],
            )
        if by_status["failed"]:
            await self._session.execute(
                update(_TABLE).where(held)
                .values(status=FAILED, attempts=bindparam("tries"),
                        last_error=bindparam("error"), claimed_until=None),
                [{"row_id": o.row_id, "claim": o.claimed_until, "tries": o.attempts + 1,
                  "error": (o.error or "")[:500]} for o in by_status["failed"]],
            )
        if by_status["release"]:
            await self._session.execute(
                update(_TABLE).where(held).values(claimed_until=None),
                [{"row_id": o.row_id, "claim": o.claimed_until}
                 for o in by_status["release"]],
            )
        for outcome in by_status["unreachable"]:
            reason = (outcome.error or "unreachable")[:500]
            await self._session.execute(
                update(_TABLE).where(held)
                .values(status=UNREACHABLE, attempts=bindparam("tries"),
                        last_error=bindparam("error"), claimed_until=None),
                [{"row_id": outcome.row_id, "claim": outcome.claimed_until,
                  "tries": outcome.attempts + 1, "error": reason}],
            )
            await self.mark_chat_unreachable(outcome.channel, outcome.chat_id, reason, now,
                                             after_id=outcome.row_id)
            await SqlChats(self._session).mark_unreachable(
                outcome.channel, outcome.chat_id, reason, now)

    # -- waiting -----------------------------------------------------------------------------

    async def next_change(self, now: datetime, channels: Collection[str]
                          ) -> tuple[bool, datetime | None]:
        """Whether any row is pending, and the first time after `now` a pending row becomes
        due or free (a retry's time, a claim running out)."""
        if not channels:
            return False, None
        free_at = case(
            (and_(OutboxMessage.claimed_until.is_not(None),
                  OutboxMessage.claimed_until > OutboxMessage.next_attempt_at),
             OutboxMessage.claimed_until),
            else_=OutboxMessage.next_attempt_at,
        )
        pending = (OutboxMessage.status == PENDING, OutboxMessage.channel.in_(list(channels)))
        exists = await self._session.scalar(select(OutboxMessage.id).where(*pending).limit(1))
        if exists is None:
            return False, None
        first = await self._session.scalar(
            select(func.min(free_at)).where(*pending, free_at > now)
        )
        return True, first

    def _dialect(self) -> str:
        return self._db.dialect
