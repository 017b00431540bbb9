"""What flows may ask of storage: small protocols and plain views, free of SQLAlchemy.

Flows import this module only; storage/*.py implement it over the database, and the
composition root in bot/ hands the implementations to the flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class AsnView:
    """An ASN as flows see them: enough to greet and to own enrolments."""

    id: int
    nip: str
    name: str
    unit_name: str
    unit_id: int | None = None
    kecamatan_id: int | None = None
    reminders_enabled: bool = True


@dataclass(frozen=True, slots=True)
class WorkerDraft:
    """Everything the ASN typed about a worker, before it is saved."""

    nik: str
    name: str
    birth_date: date
    occupation: str
    phone: str | None
    desa: str
    kecamatan_name: str
    kecamatan_id: int | None
    relationship: str


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    """One enrolment as the ASN may see it: the NIK only masked."""

    id: int
    worker_name: str
    nik_masked: str
    relationship: str
    status: str
    created_at: datetime
    kpj_number: str | None
    deduction_stop_month: date | None


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    """The consent as the worker heard it: the words, their version, and the channel it was
    given on. Kept with the draft so a later question can be answered word for word."""

    version: str
    wording: str
    channel: str


@dataclass(frozen=True, slots=True)
class AgreementRecord:
    """The deduction agreement as it will be stored, words included."""

    wording_version: str
    wording: str
    premium_jkk: int
    premium_jkm: int
    monthly_total: int
    first_month: date


@dataclass(frozen=True, slots=True)
class KecamatanView:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class UnitProgress:
    """One unit's (OPD or kecamatan) participation at a moment and a month before.

    An ASN participates while at least one of their enrolments is agreed and not ended
    (submitted, verified, registered or active); a worker is protected once BPJS has
    registered the enrolment (registered or active). Rank 1 is the highest percentage.
    """

    unit_id: int
    unit_name: str
    asn_total: int
    asn_participating: int
    workers_protected: int
    participating_month_ago: int
    rank: int
    units_ranked: int

    @property
    def percent(self) -> float:
        return 100.0 * self.asn_participating / self.asn_total if self.asn_total else 0.0

    @property
    def percent_month_ago(self) -> float:
        return (100.0 * self.participating_month_ago / self.asn_total
                if self.asn_total else 0.0)

    @property
    def change(self) -> int:
        """ASN who joined (or, negative, left) since a month before."""
        return self.asn_participating - self.participating_month_ago


@dataclass(frozen=True, slots=True)
class RoleView:
    """A role someone holds, with the unit it is held for (None for admin)."""

    role: str
    unit_id: int | None
    unit_name: str | None


@dataclass(frozen=True, slots=True)
class Address:
    """Where to reach a chat: a channel and a chat id on it."""

    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class PendingEnrollment:
    """A submitted enrolment as its OPD's coordinator sees it: the NIK only masked."""

    id: int
    asn_id: int
    asn_name: str
    asn_nip: str
    worker_name: str
    nik_masked: str
    relationship: str
    occupation: str
    desa: str
    kecamatan_name: str
    submitted_at: datetime | None


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """What a coordinator compares with the worker's KTP: the NIK and birth date in full.

    Read only to be shown, audited, in a coordinator's private chat; never logged or stored
    anywhere else in clear."""

    nik: str
    name: str
    birth_date: date


@dataclass(frozen=True, slots=True)
class BroadcastStatus:
    """A broadcast's delivery so far, counted from its outbox rows."""

    id: int
    status: str  # sending | done | cancelled
    recipients: int
    sent: int
    waiting: int
    failed: int
    unreachable: int
    cancelled: int

    @property
    def done(self) -> bool:
        return self.waiting == 0


class NikAlreadyHeld(Exception):
    """Another active enrolment holds this NIK (possibly saved a moment ago)."""


class EnrollmentNotFound(LookupError):
    """No enrolment with that id belongs to that ASN in a status that allows the change."""


class RosterRepository(Protocol):
    async def find_by_nip_and_phone(self, nip: str, phone: str) -> AsnView | None: ...

    async def identity(self, channel: str, external_id: str) -> AsnView | None: ...

    async def link_identity(
        self, channel: str, external_id: str, chat_id: str, asn_id: int, now: datetime
    ) -> None: ...

    async def failures_since(self, channel: str, external_id: str, since: datetime) -> int: ...

    async def record_failure(self, channel: str, external_id: str, now: datetime) -> None: ...

    async def kecamatan(self) -> list[KecamatanView]: ...

    async def set_reminders(self, asn_id: int, enabled: bool) -> None: ...

    async def phone_of(self, asn_id: int) -> str | None: ...


class EnrollmentRepository(Protocol):
    async def holding_status(self, nik: str) -> str | None: ...

    async def save_draft(
        self, asn_id: int, draft: WorkerDraft, consent: ConsentGiven, now: datetime
    ) -> EnrollmentView: ...

    async def update_draft(
        self, asn_id: int, enrollment_id: int, draft: WorkerDraft, consent: ConsentGiven,
        now: datetime,
    ) -> EnrollmentView: ...

    async def holding_count(self, asn_id: int) -> int: ...

    async def deducted_count(self, asn_id: int) -> int: ...

    async def for_asn(self, asn_id: int) -> list[EnrollmentView]: ...

    async def get_for_asn(self, asn_id: int, enrollment_id: int) -> EnrollmentView | None: ...

    async def submit(
        self, asn_id: int, enrollment_id: int, agreement: AgreementRecord, channel: str,
        now: datetime,
    ) -> None: ...

    async def stop(
        self, asn_id: int, enrollment_id: int, reason: str, stop_month: date, now: datetime
    ) -> None: ...


class AuditRepository(Protocol):
    async def record(
        self,
        action: str,
        *,
        actor_asn_id: int | None,
        channel: str | None,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
        now: datetime,
    ) -> None: ...


class RoleRepository(Protocol):
    """Who holds which role for which unit, where role holders are reached, and the group
    chats linked to a unit."""

    async def roles_of(self, asn_id: int) -> list[RoleView]: ...

    async def holds(self, asn_id: int, role: str, unit_id: int | None) -> bool: ...

    async def coordinator_addresses(self, unit_id: int) -> list[Address]: ...

    async def address_of_asn(self, asn_id: int) -> Address | None: ...

    async def link_group(
        self, channel: str, chat_id: str, unit_id: int, asn_id: int, now: datetime
    ) -> int | None: ...


class VerificationRepository(Protocol):
    """The submitted enrolments of one OPD and the coordinator's decision on each; every
    method is bounded by the unit, so no id reaches another OPD's enrolment."""

    async def pending_count(self, unit_id: int) -> int: ...

    async def pending(self, unit_id: int, offset: int, limit: int
                      ) -> list[PendingEnrollment]: ...

    async def pending_one(self, unit_id: int, enrollment_id: int
                          ) -> PendingEnrollment | None: ...

    async def identity(self, unit_id: int, enrollment_id: int) -> WorkerIdentity | None: ...

    async def other_coordinators(self, unit_id: int, asn_id: int) -> int: ...

    async def decide(
        self, unit_id: int, enrollment_id: int, *, verified: bool, reason: str | None,
        by_asn_id: int, now: datetime,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Invitation:
    """A way into the bot for someone who never chatted with it: the chat link of one
    channel (t.me, wa.me) and a stored QR code picture of it (an attachment id)."""

    channel: str
    link: str
    image: int


class InvitationRepository(Protocol):
    """The bot's invitations, one per channel whose public link is known."""

    async def invitations(self, now: datetime) -> list[Invitation]: ...


class ProgressRepository(Protocol):
    async def unit_progress(self, kind: str, unit_id: int, at: datetime
                            ) -> UnitProgress | None: ...


class BroadcastRepository(Protocol):
    """A camat's audience, the queueing of a broadcast, its delivery and its cancelling;
    bounded by the camat's kecamatan like the verifications are by the OPD."""

    async def recipients_by_channel(self, unit_id: int, audience: str) -> dict[str, int]: ...

    async def unlinked_count(self, unit_id: int, audience: str) -> int: ...

    async def queue(
        self, *, asn_id: int, unit_id: int, audience: str, template: str | None,
        text: str | None, channel: str, bodies: dict[str, dict[str, Any]], now: datetime,
    ) -> BroadcastStatus: ...

    async def status(self, broadcast_id: int, unit_id: int) -> BroadcastStatus | None: ...

    async def latest_id(self, unit_id: int) -> int | None: ...

    async def cancel(self, broadcast_id: int, unit_id: int, now: datetime
                     ) -> BroadcastStatus | None: ...
