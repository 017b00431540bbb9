"""Workers, their enrolments, the consent given and the deduction agreed.

A NIK is stored encrypted and found by its keyed hash; a partial unique index lets one
enrolment at a time hold a worker, so two ASN saving the same NIK at once cannot both win.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flows.enrollment_status import DEDUCTED_STATUSES, HOLDING_STATUSES, EnrollmentStatus
from flows.lifecycle import Actor, Move
from flows.masking import mask_nik
from storage import lifecycle
from storage.crypto import PersonalDataCipher
from storage.interfaces import (
    AgreementRecord,
    ConsentGiven,
    EnrollmentNotFound,
    EnrollmentView,
    NikAlreadyHeld,
    WorkerDraft,
)
from storage.models import (
    Consent,
    DeductionAgreement,
    Enrollment,
    Worker,
)

# Asked during most enrolment steps: built once (see storage.statements).
_HOLDING = (select(func.count()).select_from(Enrollment)
            .where(Enrollment.asn_id == bindparam("asn_id"),
                   Enrollment.status.in_(HOLDING_STATUSES)))
_DEDUCTED = (select(func.count()).select_from(Enrollment)
             .where(Enrollment.asn_id == bindparam("asn_id"),
                    Enrollment.status.in_(DEDUCTED_STATUSES)))
_OWNED = (select(Enrollment, Worker).join(Worker, Worker.id == Enrollment.worker_id)
          .where(Enrollment.asn_id == bindparam("asn_id"),
                 Enrollment.id == bindparam("enrollment_id")))


class SqlEnrollmentRepository:
    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self._session = session
        self._cipher = cipher

    async def holding_status(self, nik: str) -> str | None:
        """The status of the enrolment holding this NIK (one at most), or None when it is
        free: the ASN who tries again is told whether the worker is being registered or
        already protected, never by whom."""
        return await self._session.scalar(
            select(Enrollment.status)
            .join(Worker, Worker.id == Enrollment.worker_id)
            .where(
                Worker.nik_hash == self._cipher.nik_hash(nik),
                Enrollment.status.in_(HOLDING_STATUSES),
            )
            .limit(1)
        )

    async def save_draft(
        self, asn_id: int, draft: WorkerDraft, consent: ConsentGiven, now: datetime
    ) -> EnrollmentView:
        """Upsert the worker by NIK, open a draft enrolment and record the consent."""
        worker = await self._upsert_worker(draft, now)
        enrollment = Enrollment(
            asn_id=asn_id,
            relationship=draft.relationship,
            status=EnrollmentStatus.DRAFT,
            channel=consent.channel,
            created_at=now,
        )
        await self._hold(enrollment, worker)
        self._session.add(
            Consent(
                enrollment_id=enrollment.id,
                worker_id=worker.id,
                wording_version=consent.version,
                wording=consent.wording,
                channel=consent.channel,
                given_at=now,
            )
        )
        return self._view(enrollment, worker)

    async def update_draft(
        self, asn_id: int, enrollment_id: int, draft: WorkerDraft, consent: ConsentGiven,
        now: datetime,
    ) -> EnrollmentView:
        """The ASN went back from the agreement to the summary and saved it again: the draft
        keeps its id and takes the new answers (another NIK is another worker, held the same
        way), and its consent the words and version of now. A worker the draft no longer
        names and no enrolment ever held loses its row, so no personal data stays behind
        without a purpose."""
        enrollment = await self._owned(asn_id, enrollment_id, (EnrollmentStatus.DRAFT,))
        before = enrollment.worker_id
        worker = await self._upsert_worker(draft, now)
        enrollment.relationship = draft.relationship
        enrollment.channel = consent.channel
        await self._hold(enrollment, worker)
        await self._session.execute(
            update(Consent).where(Consent.enrollment_id == enrollment.id).values(
                worker_id=worker.id, wording_version=consent.version, wording=consent.wording,
                channel=consent.channel, given_at=now))
        if before != worker.id:
            held = select(Enrollment.id).where(Enrollment.worker_id == before).exists()
            await self._session.execute(
                delete(Worker).where(Worker.id == before, ~held))
        return self._view(enrollment, worker)

    async def _upsert_worker(self, draft: WorkerDraft, now: datetime) -> Worker:
        """The worker with the draft's NIK (found by its keyed hash, or new), with the
        draft's data written over it."""
        encrypt = self._cipher.encrypt
        nik_hash = self._cipher.nik_hash(draft.nik)
        worker = await self._session.scalar(select(Worker).where(Worker.nik_hash == nik_hash))
        if worker is None:
            worker = Worker(nik_hash=nik_hash, nik_enc=encrypt(draft.nik))
            self._session.add(worker)
        worker.nik_masked = mask_nik(draft.nik)
        worker.name = draft.name
        worker.birth_date_enc = encrypt(draft.birth_date.isoformat())
        worker.phone_enc = encrypt(draft.phone) if draft.phone else None
        worker.occupation = draft.occupation
        worker.desa = draft.desa
        worker.kecamatan_id = draft.kecamatan_id
        worker.kecamatan_name = draft.kecamatan_name
        worker.updated_at = now
        return worker

    async def _hold(self, enrollment: Enrollment, worker: Worker) -> None:
        """Point the enrolment at the worker; the partial unique index refuses a worker that
        another enrolment holds (NikAlreadyHeld), undoing only this step."""
        try:
            async with self._session.begin_nested():
                await self._session.flush()
                enrollment.worker_id = worker.id
                self._session.add(enrollment)
                await self._session.flush()
        except IntegrityError as exc:
            raise NikAlreadyHeld from exc

    async def holding_count(self, asn_id: int) -> int:
        return await self._session.scalar(_HOLDING, {"asn_id": asn_id}) or 0

    async def deducted_count(self, asn_id: int) -> int:
        """Enrolments whose premium is (to be) deducted: agreed and not ended."""
        return await self._session.scalar(_DEDUCTED, {"asn_id": asn_id}) or 0

    async def for_asn(self, asn_id: int) -> list[EnrollmentView]:
        rows = await self._session.execute(
            select(Enrollment, Worker)
            .join(Worker, Worker.id == Enrollment.worker_id)
            .where(Enrollment.asn_id == asn_id)
            .order_by(Enrollment.created_at, Enrollment.id)
        )
        return [self._view(enrollment, worker) for enrollment, worker in rows]

    async def get_for_asn(self, asn_id: int, enrollment_id: int) -> EnrollmentView | None:
        row = (await self._session.execute(
            _OWNED, {"asn_id": asn_id, "enrollment_id": enrollment_id})).first()
        return self._view(*row) if row else None

    async def submit(
        self,
        asn_id: int,
        enrollment_id: int,
        agreement: AgreementRecord,
        channel: str,
        now: datetime,
    ) -> None:
        with lifecycle.refused_as_missing(enrollment_id):
            await lifecycle.move(self._session, enrollment_id, Move.SUBMIT, Actor("asn", asn_id),
                                 now, values={"submitted_at": now},
                                 where=(Enrollment.asn_id == asn_id,))
        self._session.add(
            # AgreementRecord's fields are the table's columns, named alike on purpose.
            DeductionAgreement(asn_id=asn_id, enrollment_id=enrollment_id, **asdict(agreement),
                               channel=channel, agreed_at=now)
        )

    async def stop(
        self, asn_id: int, enrollment_id: int, reason: str, stop_month: date, now: datetime
    ) -> None:
        # A draft never had a deduction agreed, so there is none to stop: decided in the
        # UPDATE itself, instead of loading the row once more before the move reads it.
        stop = case((Enrollment.status == EnrollmentStatus.DRAFT, None), else_=stop_month)
        with lifecycle.refused_as_missing(enrollment_id):
            await lifecycle.move(
                self._session, enrollment_id, Move.STOP, Actor("asn", asn_id), now,
                reason=reason, where=(Enrollment.asn_id == asn_id,),
                values={"deduction_stop_month": stop, "ended_at": now, "end_reason": reason})

    async def _owned(
        self, asn_id: int, enrollment_id: int, statuses: tuple[str, ...]
    ) -> Enrollment:
        enrollment = await self._session.scalar(
            select(Enrollment).where(
                Enrollment.id == enrollment_id,
                Enrollment.asn_id == asn_id,
                Enrollment.status.in_(statuses),
            )
        )
        if enrollment is None:
            raise EnrollmentNotFound(enrollment_id)
        return enrollment

    @staticmethod
    def _view(enrollment: Enrollment, worker: Worker) -> EnrollmentView:
        return EnrollmentView(
            id=enrollment.id,
            worker_name=worker.name,
            nik_masked=worker.nik_masked,
            relationship=enrollment.relationship,
            status=enrollment.status,
            created_at=enrollment.created_at,
            kpj_number=enrollment.kpj_number,
            deduction_stop_month=enrollment.deduction_stop_month,
        )
