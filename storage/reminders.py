"""What the scheduler owes: reminders and report pushes as queries over due times.

Nothing here waits or keeps a timer. Each rule is a query asking "whose due time has passed
and is not in `reminder_log` yet?", so a restart, a late run, a run twice or two schedulers
at once change nothing: a message is owed until its log row exists, and the log row is
written (INSERT ... ON CONFLICT DO NOTHING) in the same transaction as its outbox row.

The rules (DESIGN.md §5.7), all times Asia/Jakarta:

- unfinished enrolment: an ASN's latest enrolment activity (a draft's creation, or the last
  message of a conversation left in an "Enrollment:" or "Deduction:" step, or at the menu
  with a form /mulai set aside) is the anchor; a
  reminder is owed after each of `unfinished_days` (1 and 3) days of it. Log rows:
  kind "unfinished_<N>d", subject "asn:<id>", period = the anchor's UTC time stamp. New
  activity moves the anchor, so the clock starts again from the ASN's last step.
- no worker yet: a linked ASN with no enrolment holding a worker gets the campaign message
  once a month, from `monthly_day`; kind "no_worker", period "YYYY-MM".
- coordinator: an OPD coordinator whose OPD has submitted enrolments waiting for
  verification, every working day (Monday to Friday) at `coordinator_time`; kind
  "coordinator", subject "role:<roles.id>", period "YYYY-MM-DD".
- report: every group chat linked to a unit, on `report_day` at `report_time`; kind
  "report", subject "chat:<chats.id>", period "YYYY-MM".

A periodic rule owes only its latest period: after a long outage one campaign message goes
out, not one per missed month.

How a conversation row finds its ASN: the dispatcher keys a conversation by the numeric chat
and user ids (bot.dispatcher.numeric_id), and `channel_identities` keeps the same ids as
text. Every channel today uses numeric ids (Telegram user ids, WhatsApp numbers, the console's
"1"), so the row joins the identity whose external_id and chat_id are its user_id and chat_id
written out. An id that is not a number is stored hashed and cannot be joined back; such a
conversation still reminds through its draft once one is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flows import roles, states
from flows.chat_types import ChatType
from flows.enrollment_status import HOLDING_STATUSES, EnrollmentStatus
from flows.time_zone import JAKARTA
from storage.database import dialect_insert
from storage.interfaces import Address
from storage.models import (
    Asn,
    ChannelIdentity,
    Chat,
    ConversationState,
    Enrollment,
    ReminderLog,
    Role,
    Unit,
    Worker,
)

NO_WORKER = "no_worker"
COORDINATOR = "coordinator"
REPORT = "report"
# Conversation states of an enrolment begun and not finished: typing the worker's data (or
# the menu while /mulai holds that form aside), or the draft saved and the deduction not yet
# agreed.
ENTRY_PATTERNS = (f"{states.prefix(states.Enrollment)}:%", states.Menu.paused)
MID_ENROLMENT_PATTERNS = (*ENTRY_PATTERNS, f"{states.prefix(states.Deduction)}:%")

RECIPIENT_CHUNK = 1_000  # ASN per query, well under the engines' bound parameters
_SUNDAY = 6
_SATURDAY = 5


def unfinished_kind(days: int) -> str:
    """The log kind of the reminder owed `days` days after unfinished activity."""
    return f"unfinished_{days}d"


def asn_subject(asn_id: int) -> str:
    return f"asn:{asn_id}"


def role_subject(role_id: int) -> str:
    return f"role:{role_id}"


def chat_subject(chat_row_id: int) -> str:
    return f"chat:{chat_row_id}"


def anchor_period(anchor: datetime) -> str:
    """The period of an unfinished-enrolment reminder: its anchor, to the microsecond."""
    return anchor.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")


# --- the calendar ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReminderTimes:
    """When each rule falls due and when the bot may speak at all (Asia/Jakarta)."""

    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    unfinished_days: tuple[int, ...] = (1, 3)
    monthly_day: int = 10
    coordinator_time: time = time(9, 0)
    report_day: int = 1
    report_time: time = time(8, 0)

    def allowed(self, moment: datetime) -> bool:
        """Not on a Sunday and not in the quiet hours. A message owed at a forbidden moment
        simply waits: the first allowed run (07:00 on the next allowed day) finds it due."""
        local = moment.astimezone(JAKARTA)
        if local.weekday() == _SUNDAY:
            return False
        clock = local.time().replace(tzinfo=None)
        if self.quiet_start == self.quiet_end:
            return True
        if self.quiet_start > self.quiet_end:  # the quiet hours span midnight
            return self.quiet_end <= clock < self.quiet_start
        return not self.quiet_start <= clock < self.quiet_end

    def latest_monthly(self, now: datetime, day: int, at: time) -> tuple[str, datetime]:
        """The latest (period "YYYY-MM", due time) of a monthly rule that is not after now."""
        local = now.astimezone(JAKARTA)
        year, month = local.year, local.month
        due = datetime.combine(date(year, month, day), at, tzinfo=JAKARTA)
        if due > now:
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
            due = datetime.combine(date(year, month, day), at, tzinfo=JAKARTA)
        return f"{year:04d}-{month:02d}", due

    def latest_working_day(self, now: datetime, at: time) -> tuple[str, datetime]:
        """The latest (period "YYYY-MM-DD", due time) of a Monday-to-Friday rule."""
        day = now.astimezone(JAKARTA).date()
        while True:
            due = datetime.combine(day, at, tzinfo=JAKARTA)
            if day.weekday() < _SATURDAY and due <= now:
                return day.isoformat(), due
            day -= timedelta(days=1)

    def no_worker_period(self, now: datetime) -> tuple[str, datetime]:
        """The campaign falls due as the monthly day begins; the quiet hours hold it to 07:00."""
        return self.latest_monthly(now, self.monthly_day, time(0, 0))

    def coordinator_period(self, now: datetime) -> tuple[str, datetime]:
        return self.latest_working_day(now, self.coordinator_time)

    def report_period(self, now: datetime) -> tuple[str, datetime]:
        return self.latest_monthly(now, self.report_day, self.report_time)


# --- the log --------------------------------------------------------------------------------

LogKey = tuple[str, str, str]  # (kind, subject, period)


async def claim(session: AsyncSession, keys: Sequence[LogKey], now: datetime) -> set[LogKey]:
    """Write the log rows of a batch in one statement; return those this transaction wrote.

    INSERT ... ON CONFLICT DO NOTHING RETURNING: a row another run already wrote is left
    alone and not returned. On PostgreSQL a second scheduler inserting the same row waits
    for the first one's transaction and then does nothing, so only one of them queues the
    message. Callers pass keys in a fixed order, so two schedulers never wait on each other
    in a circle.
    """
    if not keys:
        return set()
    written = await session.execute(
        dialect_insert(session, ReminderLog)
        .values([{"kind": kind, "subject": subject, "period": period, "queued_at": now}
                 for kind, subject, period in keys])
        .on_conflict_do_nothing(index_elements=["kind", "subject", "period"])
        .returning(ReminderLog.kind, ReminderLog.subject, ReminderLog.period)
    )
    return {(kind, subject, period) for kind, subject, period in written}


def _subject(prefix: str, column: ColumnElement[int]) -> ColumnElement[str]:
    """"asn:" || id in SQL, to meet the log's subject column."""
    return literal(prefix, String) + cast(column, String)


def _not_logged(kind: str, subject: ColumnElement[str], period: str) -> ColumnElement[bool]:
    """The subject has no log row of `kind` for `period`.

    NOT IN over one (kind, period) slice of the log, which both engines read once into a
    hash or a temporary index: it stays fast right after a campaign wrote thousands of log
    rows, when PostgreSQL's statistics are stale and a correlated NOT EXISTS on the computed
    subject was planned as a nested loop (seconds instead of milliseconds for 10,000 ASN).
    """
    return subject.not_in(
        select(ReminderLog.subject).where(ReminderLog.kind == kind, ReminderLog.period == period)
    )


# --- who can be reached ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Recipient:
    """Where an ASN was last linked, whether the platform said they cannot be reached, and
    when they last wrote there (None: never), which tells whether they are mid-conversation."""

    address: Address
    unreachable: bool
    last_inbound_at: datetime | None = None

    def in_conversation(self, now: datetime, hold: timedelta) -> bool:
        """They wrote less than `hold` ago: a reminder now would land between a message of
        theirs and its answer."""
        return (self.last_inbound_at is not None and hold > timedelta(0)
                and now - self.last_inbound_at < hold)


async def recipients(session: AsyncSession, asn_ids: Sequence[int]) -> dict[int, Recipient]:
    """Each ASN's latest linked chat (as SqlChats.address_of_asn), a thousand ASN a query."""
    found: dict[int, Recipient] = {}
    for start in range(0, len(asn_ids), RECIPIENT_CHUNK):
        rows = await session.execute(
            select(ChannelIdentity.asn_id, ChannelIdentity.channel, ChannelIdentity.chat_id,
                   Chat.unreachable_at, Chat.last_inbound_at)
            .outerjoin(Chat, and_(Chat.channel == ChannelIdentity.channel,
                                  Chat.chat_id == ChannelIdentity.chat_id))
            .where(ChannelIdentity.asn_id.in_(asn_ids[start:start + RECIPIENT_CHUNK]))
            .order_by(ChannelIdentity.asn_id, ChannelIdentity.linked_at.desc(),
                      ChannelIdentity.id.desc())
        )
        for asn_id, channel, chat_id, unreachable_at, last_inbound_at in rows:
            found.setdefault(asn_id, Recipient(Address(channel, chat_id),
                                               unreachable_at is not None,
                                               last_inbound_at))
    return found


# --- unfinished enrolments ------------------------------------------------------------------

def _mid_enrolment_activity(patterns: Sequence[str] = MID_ENROLMENT_PATTERNS
                            ) -> Select[tuple[int, datetime]]:
    """(asn_id, at) of each conversation left in one of the steps `patterns` match."""
    return (
        select(ChannelIdentity.asn_id.label("asn_id"), ConversationState.updated_at.label("at"))
        .join(ChannelIdentity, and_(
            ChannelIdentity.external_id == cast(ConversationState.user_id, String),
            ChannelIdentity.chat_id == cast(ConversationState.chat_id, String),
        ))
        .where(or_(*(ConversationState.state.like(pattern) for pattern in patterns)))
    )


@dataclass(frozen=True, slots=True)
class UnfinishedDue:
    """An ASN whose enrolment stopped half-way at `anchor`, with the steps already logged;
    `in_progress` when a worker's data was being typed (not yet a draft)."""

    asn_id: int
    name: str
    reminders_enabled: bool
    anchor: datetime
    logged_days: frozenset[int]
    draft_workers: tuple[str, ...]
    in_progress: bool


async def unfinished_due(
    session: AsyncSession, now: datetime, days: Sequence[int], after_asn_id: int, limit: int
) -> list[UnfinishedDue]:
    """ASN (by id, after `after_asn_id`) whose latest reminder step is due and not logged."""
    steps = sorted(set(days))
    if not steps:
        return []
    activity = union_all(
        select(Enrollment.asn_id.label("asn_id"), Enrollment.created_at.label("at"))
        .where(Enrollment.status == EnrollmentStatus.DRAFT),
        _mid_enrolment_activity(),
    ).subquery()
    anchors = (
        select(activity.c.asn_id, func.max(activity.c.at).label("anchor"))
        .group_by(activity.c.asn_id)
        .subquery()
    )
    # The step owed now: the longest one whose time has come.
    latest_step = case(
        *((anchors.c.anchor <= now - timedelta(days=step), unfinished_kind(step))
          for step in reversed(steps))
    )
    latest_logged = exists().where(
        ReminderLog.kind == latest_step,
        ReminderLog.subject == _subject("asn:", anchors.c.asn_id),
        ReminderLog.queued_at >= anchors.c.anchor,
    )
    rows = (
        await session.execute(
            select(anchors.c.asn_id, anchors.c.anchor, Asn.name, Asn.reminders_enabled)
            .join(Asn, Asn.id == anchors.c.asn_id)
            .where(
                anchors.c.anchor <= now - timedelta(days=steps[0]),
                anchors.c.asn_id > after_asn_id,
                ~latest_logged,
            )
            .order_by(anchors.c.asn_id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    asn_ids = [row.asn_id for row in rows]
    logged: dict[tuple[str, str], set[str]] = {}
    for kind, subject, period in await session.execute(
        select(ReminderLog.kind, ReminderLog.subject, ReminderLog.period).where(
            ReminderLog.subject.in_([asn_subject(asn_id) for asn_id in asn_ids]),
            ReminderLog.kind.in_([unfinished_kind(step) for step in steps]),
        )
    ):
        logged.setdefault((subject, period), set()).add(kind)
    drafts: dict[int, list[str]] = {}
    for asn_id, worker_name in await session.execute(
        select(Enrollment.asn_id, Worker.name)
        .join(Worker, Worker.id == Enrollment.worker_id)
        .where(Enrollment.asn_id.in_(asn_ids), Enrollment.status == EnrollmentStatus.DRAFT)
        .order_by(Enrollment.created_at, Enrollment.id)
    ):
        drafts.setdefault(asn_id, []).append(worker_name)
    typing = _mid_enrolment_activity(ENTRY_PATTERNS).subquery()
    in_progress = set(await session.scalars(
        select(typing.c.asn_id).where(typing.c.asn_id.in_(asn_ids)).distinct()
    ))
    found = []
    for row in rows:
        kinds = logged.get((asn_subject(row.asn_id), anchor_period(row.anchor)), set())
        found.append(UnfinishedDue(
            asn_id=row.asn_id,
            name=row.name,
            reminders_enabled=row.reminders_enabled,
            anchor=row.anchor,
            logged_days=frozenset(step for step in steps if unfinished_kind(step) in kinds),
            draft_workers=tuple(drafts.get(row.asn_id, ())),
            in_progress=row.asn_id in in_progress,
        ))
    return found


# --- no worker yet --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AsnDue:
    asn_id: int
    name: str
    reminders_enabled: bool


async def no_worker_due(
    session: AsyncSession, period: str, due: datetime, after_asn_id: int, limit: int
) -> list[AsnDue]:
    """Linked ASN (linked before the campaign fell due) with no enrolment holding a worker,
    not half-way through one, and not yet reminded for `period`."""
    linked = exists().where(ChannelIdentity.asn_id == Asn.id, ChannelIdentity.linked_at <= due)
    holding = exists().where(Enrollment.asn_id == Asn.id,
                             Enrollment.status.in_(HOLDING_STATUSES))
    mid = _mid_enrolment_activity().subquery()
    rows = await session.execute(
        select(Asn.id, Asn.name, Asn.reminders_enabled)
        .where(
            Asn.id > after_asn_id,
            linked,
            ~holding,
            Asn.id.not_in(select(mid.c.asn_id)),
            _not_logged(NO_WORKER, _subject("asn:", Asn.id), period),
        )
        .order_by(Asn.id)
        .limit(limit)
    )
    return [AsnDue(asn_id, name, enabled) for asn_id, name, enabled in rows]


# --- coordinators with pending verifications ------------------------------------------------

@dataclass(frozen=True, slots=True)
class CoordinatorDue:
    role_id: int
    asn_id: int
    name: str
    reminders_enabled: bool
    unit_name: str
    pending: int


async def coordinator_due(
    session: AsyncSession, period: str, due: datetime, after_role_id: int, limit: int
) -> list[CoordinatorDue]:
    """Linked coordinators not yet reminded for the working day `period` whose own OPD had
    submitted enrolments waiting at its due time that still wait; `pending` counts all that
    wait now. Only the coordinator's unit counts: never another OPD's, nor the ones the
    coordinator submitted (another coordinator verifies those)."""
    coordinator = aliased(Asn)
    member = aliased(Asn)
    linked = exists().where(ChannelIdentity.asn_id == Role.asn_id)
    pending = func.count(Enrollment.id)
    waiting_since_due = func.sum(case((Enrollment.submitted_at <= due, 1), else_=0))
    rows = await session.execute(
        select(Role.id, Role.asn_id, coordinator.name, coordinator.reminders_enabled,
               Unit.name, pending)
        .join(coordinator, coordinator.id == Role.asn_id)
        .join(Unit, Unit.id == Role.unit_id)
        .join(member, and_(member.unit_id == Role.unit_id, member.id != Role.asn_id))
        .join(Enrollment, and_(Enrollment.asn_id == member.id,
                               Enrollment.status == EnrollmentStatus.SUBMITTED))
        .where(
            Role.role == roles.Role.COORDINATOR,
            Role.id > after_role_id,
            linked,
            _not_logged(COORDINATOR, _subject("role:", Role.id), period),
        )
        .group_by(Role.id, Role.asn_id, coordinator.name, coordinator.reminders_enabled,
                  Unit.name)
        .having(waiting_since_due > 0)
        .order_by(Role.id)
        .limit(limit)
    )
    return [CoordinatorDue(*row) for row in rows]


# --- the monthly report to linked groups ----------------------------------------------------

@dataclass(frozen=True, slots=True)
class GroupDue:
    chat_row_id: int
    address: Address
    unit_id: int
    unit_kind: str
    unreachable: bool


async def report_due(
    session: AsyncSession, period: str, due: datetime, after_chat_row_id: int, limit: int
) -> list[GroupDue]:
    """Group chats linked to a unit (before the report fell due) without `period`'s report."""
    rows = await session.execute(
        select(Chat.id, Chat.channel, Chat.chat_id, Chat.unit_id, Unit.kind,
               Chat.unreachable_at)
        .join(Unit, Unit.id == Chat.unit_id)
        .where(
            Chat.chat_type == ChatType.GROUP,
            Chat.id > after_chat_row_id,
            or_(Chat.linked_at.is_(None), Chat.linked_at <= due),
            _not_logged(REPORT, _subject("chat:", Chat.id), period),
        )
        .order_by(Chat.id)
        .limit(limit)
    )
    return [
        GroupDue(row_id, Address(channel, chat_id), unit_id, kind, unreachable is not None)
        for row_id, channel, chat_id, unit_id, kind, unreachable in rows
    ]
