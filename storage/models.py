"""The schema as typed SQLAlchemy 2 models; migrations/versions/ creates the same tables.

Personal data columns (`*_enc`) hold Fernet tokens, never plain text; a NIK is found through
`nik_hash`, a keyed HMAC, so the database alone reveals no NIK.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from flows.enrollment_status import HOLDING_STATUSES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A second ASN cannot enrol a worker while another enrolment holds their NIK.
_HOLDING_SQL = "status IN ({})".format(", ".join(f"'{status}'" for status in HOLDING_STATUSES))


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every engine.

    SQLite keeps no time zone: without this, a time written in WIB would read back as a naive
    value and compare wrongly with UTC times. Naive datetimes are refused outright.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
    }


class Unit(Base):
    """An OPD (office) or a kecamatan (district); both group ASN for reports and roles."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "opd" | "kecamatan"
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(32))  # Kemendagri code for a kecamatan


class Asn(Base):
    """One civil servant on the roster; identity is proven by NIP plus this phone."""

    __tablename__ = "asn"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nip: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    position: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    # The ASN's own choice (menu); the roster import never touches it.
    # The roster import no longer found the ASN (retired, moved away, died): when, and the
    # first salary month their deductions stop (storage/roster_changes.py).
    left_at: Mapped[datetime | None]
    deductions_stop_month: Mapped[date | None] = mapped_column(Date)
    reminders_enabled: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true"))


class ChannelIdentity(Base):
    """A chat account proven to belong to an ASN (Telegram user id, WhatsApp number...)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)
    linked_at: Mapped[datetime]


class LoginAttempt(Base):
    """A failed proof of identity; counted per chat account to cap guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_account", "channel", "external_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class Worker(Base):
    """A pekerja rentan, one row per NIK; personal data encrypted, NIK found by hash."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nik_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nik_enc: Mapped[str] = mapped_column(Text)
    nik_masked: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    birth_date_enc: Mapped[str] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    occupation: Mapped[str] = mapped_column(String(64))
    desa: Mapped[str] = mapped_column(String(200))
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    kecamatan_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class Enrollment(Base):
    """An ASN's protection of one worker, from draft to ended."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index(
            "uq_enrollments_holding_worker",
            "worker_id",
            unique=True,
            sqlite_where=text(_HOLDING_SQL),
            postgresql_where=text(_HOLDING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    relationship: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    deduction_stop_month: Mapped[date | None] = mapped_column(Date)
    kpj_number: Mapped[str | None] = mapped_column(String(32))
    # The coordinator's verification (verified or rejected) and BPJS's answer.
    decided_at: Mapped[datetime | None]
    decided_by_asn_id: Mapped[int | None] = mapped_column(ForeignKey("asn.id"))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    registered_at: Mapped[datetime | None]
    # Derived from premium_months by storage (never typed): the first and the latest month
    # paid, kept on the row so that "covered today" and "until when" need no aggregate.
    covered_from: Mapped[date | None] = mapped_column(Date)
    covered_until: Mapped[date | None] = mapped_column(Date)  # the last day covered
    # A takeover: the enrolment of a departed ASN this one continues (the KPJ is kept). No
    # foreign key: migration 0007 adds the column without rebuilding the table.
    takeover_of_id: Mapped[int | None] = mapped_column(Integer)


class Consent(Base):
    """The worker's consent to share data with BPJS, as the ASN recorded it."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    wording_version: Mapped[str] = mapped_column(String(32))
    wording: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    given_at: Mapped[datetime]


class DeductionAgreement(Base):
    """The ASN's explicit agreement to a payroll deduction, kept with the words shown."""

    __tablename__ = "deduction_agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    wording_version: Mapped[str] = mapped_column(String(32))
    wording: Mapped[str] = mapped_column(Text)
    premium_jkk: Mapped[int] = mapped_column(Integer)
    premium_jkm: Mapped[int] = mapped_column(Integer)
    monthly_total: Mapped[int] = mapped_column(Integer)
    first_month: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    agreed_at: Mapped[datetime]


class PayrollEntry(Base):
    """A salary month the payroll list asked the treasurer to deduct for one enrolment.

    Written by `export payroll` (the first run of a month that lists the enrolment), so that
    what was taken is known when BPJS later refuses the worker. One row per enrolment and
    month, the grain of the treasurer's result file: the months actually paid can be
    recorded against these rows later."""

    __tablename__ = "payroll_entries"
    __table_args__ = (UniqueConstraint("enrollment_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)  # who paid
    month: Mapped[date] = mapped_column(Date)  # the salary month, its first day
    amount: Mapped[int] = mapped_column(Integer)  # the premium in force that month
    listed_at: Mapped[datetime]


class PremiumMonth(Base):
    """The salary treasurer's result for one enrolment and salary month (`payroll import`):
    paid or not, and the amount. One row per enrolment and month, so a re-import or a
    correction replaces the month's fact and never counts it twice."""

    __tablename__ = "premium_months"
    __table_args__ = (UniqueConstraint("enrollment_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)  # who paid
    month: Mapped[date] = mapped_column(Date, index=True)  # the salary month, its first day
    paid: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int] = mapped_column(Integer)  # what was deducted for this worker
    source: Mapped[str] = mapped_column(String(200))  # the file it came from
    recorded_at: Mapped[datetime]


class EnrollmentMove(Base):
    """One move of the lifecycle table (flows/lifecycle.py): from what to what, by whom or
    what (`Actor`: "coordinator:12", "payroll_import"), why, and when."""

    __tablename__ = "enrollment_moves"
    __table_args__ = (Index("ix_enrollment_moves_to_status_at", "to_status", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    move: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime]


EARLIEST_MONTH = date(2000, 1, 1)  # before any enrolment: "since always"


class AsnUnitMonth(Base):
    """The OPD an ASN belonged to from a salary month on: reports count an ASN who moved in
    the new OPD from the month of the move. An ASN without rows belongs to `asn.unit_id`;
    the first move writes the old unit from `EARLIEST_MONTH` as well."""

    __tablename__ = "asn_unit_months"
    __table_args__ = (UniqueConstraint("asn_id", "from_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    from_month: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime]


class DeductionRefund(Base):
    """A listed month to give back to the ASN: BPJS refused the worker, or the month was
    listed before BPJS registered them (no cover existed for it).

    `payroll_month` is the list that tells the treasurer to return it (the first list
    exported after the refund was recorded for a salary month still to come); `refunded_at`
    stays empty until the treasurer's result file shows it returned."""

    __tablename__ = "deduction_refunds"
    __table_args__ = (UniqueConstraint("enrollment_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)
    month: Mapped[date] = mapped_column(Date)  # the salary month it was taken from
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))  # bpjs_rejected | before_registration
    recorded_at: Mapped[datetime]
    payroll_month: Mapped[date | None] = mapped_column(Date, index=True)
    refunded_at: Mapped[datetime | None]


class Role(Base):
    """A role beyond plain ASN: coordinator of an OPD, camat of a kecamatan, admin."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("asn_id", "role", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    granted_at: Mapped[datetime]


class ConversationState(Base):
    """aiogram's StorageKey → (state, data); data is a Fernet token of the JSON."""

    __tablename__ = "conversation_states"
    __table_args__ = (
        UniqueConstraint(
            "bot_id", "chat_id", "user_id", "thread_id", "business_connection_id", "destiny",
            name="uq_conversation_states_key",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    # NULLs never collide in a unique index, so "no thread" is stored as 0 and "" instead.
    thread_id: Mapped[int] = mapped_column(BigInteger, default=0)
    business_connection_id: Mapped[str] = mapped_column(String(64), default="")
    destiny: Mapped[str] = mapped_column(String(64), default="default")
    state: Mapped[str | None] = mapped_column(String(64))
    data_enc: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class ProcessedUpdate(Base):
    """A platform update already handled; a redelivery of it is dropped."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime]


class InboxUpdate(Base):
    """A verified webhook delivery not yet dispatched (raw JSON, encrypted: it holds what the
    user typed). The web server writes it before answering the platform and a background task
    dispatches and deletes it, so an update acknowledged with 200 survives a crash."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_due", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    body_enc: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # A server process handling the row holds it until this time; another one skips it.
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))


class Chat(Base):
    """A chat the bot talks in: its last inbound message (WhatsApp's 24-hour window),
    whether the recipient blocked the bot, and for a group the unit it is linked to."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    chat_type: Mapped[str] = mapped_column(String(16))  # private | group
    title: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    linked_by_asn_id: Mapped[int | None] = mapped_column(ForeignKey("asn.id"))
    linked_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))


class Broadcast(Base):
    """A camat's campaign message to an audience of their kecamatan."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asn_id: Mapped[int] = mapped_column(ForeignKey("asn.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    audience: Mapped[str] = mapped_column(String(32))  # all | not_participating | groups
    template: Mapped[str | None] = mapped_column(String(64))  # a ready campaign template
    text: Mapped[str | None] = mapped_column(Text)  # or the camat's own words
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # sending | done | cancelled
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]


class BroadcastBody(Base):
    """A broadcast's message as rendered for one channel, encrypted once: its outbox rows
    (up to a whole kecamatan's ASN) refer to it instead of each carrying a copy."""

    __tablename__ = "broadcast_bodies"

    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    body_enc: Mapped[str] = mapped_column(Text)


class Attachment(Base):
    """A file sent with a message (the monthly chart); outbox bodies refer to it by id."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ReminderLog(Base):
    """A reminder or report already queued: (kind, subject, period) is queued once only,
    so a scheduler that runs late, twice, or in two processes never repeats one."""

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("kind", "subject", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    queued_at: Mapped[datetime]


class OutboxMessage(Base):
    """An outgoing message, written in the transaction that caused it; body encrypted."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_chat", "channel", "chat_id", "status", "id"),
        # The sender's claim: due rows of one kind and channel, oldest first, without
        # sorting them all.
        Index("ix_outbox_queue", "status", "kind", "channel", "next_attempt_at", "id"),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
        Index("ix_outbox_platform_message", "channel", "platform_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    # Rendered text + keyboard as JSON; NULL for a broadcast's rows (broadcast_bodies).
    body_enc: Mapped[str | None] = mapped_column(Text)
    # pending | sent | failed | unreachable | cancelled
    status: Mapped[str] = mapped_column(String(16))
    # reply (answer to the user) | news | reminder | broadcast | report: all but a reply are
    # started by the bot, which on WhatsApp needs a template outside the 24-hour window.
    kind: Mapped[str] = mapped_column(String(16), default="reply", server_default="reply")
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    # A sender holds a row it is sending until this time; another sender skips it.
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500))
    # What the platform reported later (WhatsApp status callbacks).
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class AuditLog(Base):
    """Who did what to whom and when; never holds a NIK, birth date or phone in full."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_asn_id: Mapped[int | None] = mapped_column(ForeignKey("asn.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class KeyCheck(Base):
    """Per key setting, what shows whether the configured keys are the ones this
    database's data was written with (storage/key_checks.py): an HMAC of a fixed label
    under NIK_HASH_KEY, a Fernet token of one under DATA_ENCRYPTION_KEYS. Neither reveals
    a key."""

    __tablename__ = "key_checks"

    setting: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ReportSnapshot(Base):
    """A closed month's report as it was first taken, kept so that the month reads the same
    however often and however late it is reported again: statuses change afterwards (a
    coordinator rejects, BPJS refuses, an ASN moves OPD) and no later count can see the
    month as it stood. Taken once: by the scheduler when the month ends, else by the first
    report of it (the report day's push, `export report`, `export chart`)."""

    __tablename__ = "report_snapshots"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    described_at: Mapped[datetime]  # 00:00 WIB on the first of the next month
    taken_at: Mapped[datetime]
    taken_by: Mapped[str] = mapped_column(String(32))  # month_end | report_day | export
    target_percent: Mapped[float] = mapped_column(Float)


class ReportSnapshotUnit(Base):
    """One unit's line of a kept monthly report, in the report's order. `unit_id` is no
    foreign key and the name is copied: the month keeps a unit merged or renamed since."""

    __tablename__ = "report_snapshot_units"

    month: Mapped[date] = mapped_column(
        ForeignKey("report_snapshots.month", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # opd | kecamatan
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    unit_name: Mapped[str] = mapped_column(String(200))
    asn_total: Mapped[int] = mapped_column(Integer)
    asn_participating: Mapped[int] = mapped_column(Integer)
    participating_month_ago: Mapped[int] = mapped_column(Integer)
    workers_protected: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    units_ranked: Mapped[int] = mapped_column(Integer)
