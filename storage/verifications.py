"""An OPD's submitted enrolments, the coordinator's decision on each, and the OPD's progress.

Every query is bounded by the coordinator's unit: an enrolment id from a button (perhaps a
forged one) that belongs to another OPD's ASN, or that was decided meanwhile, is simply not
found, and the decision is one guarded UPDATE, so two coordinators deciding the same
enrolment at once cannot both win, and nobody decides an enrolment they submitted
themselves (verification is a second person's check).

The worker's NIK and birth date are decrypted here for one purpose only: a coordinator
comparing them with the KTP. The caller shows them in a private chat and audits it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows import roles
from flows.enrollment_status import EnrollmentStatus
from flows.lifecycle import Actor, Move
from storage import lifecycle
from storage.crypto import PersonalDataCipher
from storage.interfaces import (
    PendingEnrollment,
    UnitProgress,
    WorkerIdentity,
)
from storage.models import Asn, Enrollment, Role, Worker
from storage.reports import unit_progress

# Submitted: the deduction agreed, waiting for a coordinator of the ASN's OPD.
_WAITING = Enrollment.status == EnrollmentStatus.SUBMITTED


def _in_unit(unit_id: int) -> Select[tuple[int]]:
    return select(Asn.id).where(Asn.unit_id == unit_id)


class SqlVerificationRepository:
    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self._session = session
        self._cipher = cipher

    async def pending_count(self, unit_id: int) -> int:
        return await self._session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .join(Asn, Asn.id == Enrollment.asn_id)
            .where(Asn.unit_id == unit_id, _WAITING)
        ) or 0

    async def pending(self, unit_id: int, offset: int, limit: int) -> list[PendingEnrollment]:
        """Oldest first: the ASN who has waited longest is answered first."""
        rows = await self._session.execute(
            self._select()
            .where(Asn.unit_id == unit_id, _WAITING)
            .order_by(Enrollment.submitted_at, Enrollment.id)
            .offset(offset)
            .limit(limit)
        )
        return [PendingEnrollment(*row) for row in rows]

    async def pending_one(self, unit_id: int, enrollment_id: int) -> PendingEnrollment | None:
        row = (await self._session.execute(
            self._select().where(Asn.unit_id == unit_id, _WAITING,
                                 Enrollment.id == enrollment_id)
        )).first()
        return PendingEnrollment(*row) if row else None

    async def identity(self, unit_id: int, enrollment_id: int) -> WorkerIdentity | None:
        """The worker's NIK, name and birth date in full, for a submitted enrolment of the
        unit only: what the coordinator must compare with the KTP before approving."""
        row = (await self._session.execute(
            select(Worker.nik_enc, Worker.name, Worker.birth_date_enc)
            .join(Enrollment, Enrollment.worker_id == Worker.id)
            .join(Asn, Asn.id == Enrollment.asn_id)
            .where(Asn.unit_id == unit_id, _WAITING,
                   Enrollment.id == enrollment_id)
        )).first()
        if row is None:
            return None
        nik_enc, name, birth_date_enc = row
        decrypt = self._cipher.decrypt
        return WorkerIdentity(nik=decrypt(nik_enc), name=name,
                              birth_date=date.fromisoformat(decrypt(birth_date_enc)))

    async def other_coordinators(self, unit_id: int, asn_id: int) -> int:
        """How many coordinators of the unit there are besides `asn_id`: who else could
        verify an enrolment that `asn_id` submitted."""
        return await self._session.scalar(
            select(func.count()).select_from(Role)
            .where(Role.role == roles.Role.COORDINATOR, Role.unit_id == unit_id,
                   Role.asn_id != asn_id)
        ) or 0

    async def decide(
        self, unit_id: int, enrollment_id: int, *, verified: bool, reason: str | None,
        by_asn_id: int, now: datetime,
    ) -> None:
        """Verified, or rejected with a reason (a rejected enrolment no longer holds the
        worker's NIK); EnrollmentNotFound when it is not a submitted enrolment of the unit,
        or when `by_asn_id` submitted it."""
        with lifecycle.refused_as_missing(enrollment_id):  # decided elsewhere meanwhile
            await lifecycle.move(
                self._session, enrollment_id, Move.VERIFY if verified else Move.REJECT,
                Actor("coordinator", by_asn_id), now, reason=None if verified else reason,
                values={"decided_at": now, "decided_by_asn_id": by_asn_id,
                        "rejection_reason": None if verified else reason},
                where=(_WAITING, Enrollment.asn_id != by_asn_id,
                       Enrollment.asn_id.in_(_in_unit(unit_id))))

    @staticmethod
    def _select() -> Select[tuple[int, int, str, str, str, str, str, str, str, str,
                                  datetime | None]]:
        return (
            select(Enrollment.id, Asn.id, Asn.name, Asn.nip, Worker.name, Worker.nik_masked,
                   Enrollment.relationship, Worker.occupation, Worker.desa,
                   Worker.kecamatan_name, Enrollment.submitted_at)
            .join(Asn, Asn.id == Enrollment.asn_id)
            .join(Worker, Worker.id == Enrollment.worker_id)
        )


class SqlProgressRepository:
    """One unit's line of the ranking the monthly report uses (storage/reports.py)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def unit_progress(self, kind: str, unit_id: int, at: datetime
                            ) -> UnitProgress | None:
        for unit in await unit_progress(self._session, kind, at):
            if unit.unit_id == unit_id:
                return unit
        return None
