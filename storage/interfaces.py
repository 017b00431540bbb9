"""What flows may ask of storage: small protocols and plain views, free of SQLAlchemy.

Flows import this module only; storage/*.py implement it over the database, and the
composition root in bot/ hands the implementations to the flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

# Enrolments that hold a worker's NIK, and those the ASN has agreed to pay for.
HOLDING_STATUSES = ("draft", "submitted", "verified", "registered", "active")
DEDUCTED_STATUSES = ("submitted", "verified", "registered", "active")


@dataclass(frozen=True, slots=True)
class AsnView:
    """An ASN as flows see them: enough to greet and to own enrolments."""

    id: int
    nip: str
    name: str
    unit_name: str


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


class EnrollmentRepository(Protocol):
    async def nik_is_held(self, nik: str) -> bool: ...

    async def save_draft(
        self,
        asn_id: int,
        draft: WorkerDraft,
        consent_version: str,
        consent_wording: str,
        channel: str,
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
