"""Workers and enrolments: encrypted at rest, found by keyed hash, one holder per NIK."""

import asyncio
from datetime import date

import pytest
from sqlalchemy import select, text

from storage.enrollments import SqlEnrollmentRepository
from storage.interfaces import AgreementRecord, EnrollmentNotFound, NikAlreadyHeld
from storage.models import Asn, Consent, DeductionAgreement, Enrollment, Worker
from tests.conftest import seed_roster
from tests.support.worker_drafts import NIK, NOW, save


@pytest.fixture
async def asn_ids(app_any_db) -> list[int]:
    await seed_roster(app_any_db)
    async with app_any_db.sessions() as session:
        return list((await session.scalars(select(Asn.id).order_by(Asn.id))).all())


async def test_personal_data_is_encrypted_and_masked(app_any_db, asn_ids):
    view = await save(app_any_db, asn_ids[0])
    assert view.nik_masked == "3324••••••••0001"
    async with app_any_db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM workers"))).mappings().all()
    dump = repr(rows)
    assert NIK not in dump and "1980-08-17" not in dump and "85711112222" not in dump
    async with app_any_db.sessions() as session:
        worker = (await session.scalars(select(Worker))).one()
    assert app_any_db.cipher.decrypt(worker.nik_enc) == NIK
    assert app_any_db.cipher.decrypt(worker.birth_date_enc) == "1980-08-17"
    assert worker.nik_hash == app_any_db.cipher.nik_hash(NIK)


async def test_one_active_holder_per_nik(app_any_db, asn_ids):
    budi, sri = asn_ids
    first = await save(app_any_db, budi)
    with pytest.raises(NikAlreadyHeld):
        await save(app_any_db, sri)
    async with app_any_db.sessions.begin() as session:
        repo = SqlEnrollmentRepository(session, app_any_db.cipher)
        assert await repo.holding_status(NIK) == "draft"
        await repo.stop(budi, first.id, "alasan", date(2026, 12, 1), NOW)
        assert await repo.holding_status(NIK) is None
    again = await save(app_any_db, sri)
    async with app_any_db.sessions() as session:
        statuses = sorted((await session.scalars(select(Enrollment.status))).all())
        workers = (await session.scalars(select(Worker))).all()
    assert statuses == ["draft", "stopped"]
    async with app_any_db.sessions() as session:
        ended = (await session.scalars(select(Enrollment).where(Enrollment.id == first.id))).one()
    assert ended.deduction_stop_month is None  # a draft had no deduction to stop
    assert len(workers) == 1 and again.id != first.id


async def test_simultaneous_saves_of_one_nik_have_one_winner(app_any_db, asn_ids):
    results = await asyncio.gather(
        *(save(app_any_db, asn_ids[i % 2], NIK) for i in range(6)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert losers and all(isinstance(r, NikAlreadyHeld) for r in losers), losers
    async with app_any_db.sessions() as session:
        assert len((await session.scalars(select(Enrollment))).all()) == 1
        assert len((await session.scalars(select(Consent))).all()) == 1


async def test_submit_stores_agreement_and_only_for_owner(app_any_db, asn_ids):
    budi, sri = asn_ids
    view = await save(app_any_db, budi)
    record = AgreementRecord("v1", "Saya setuju", 10_000, 6_800, 16_800, date(2026, 12, 1))
    async with app_any_db.sessions.begin() as session:
        repo = SqlEnrollmentRepository(session, app_any_db.cipher)
        with pytest.raises(EnrollmentNotFound):
            await repo.submit(sri, view.id, record, "telegram", NOW)
    async with app_any_db.sessions.begin() as session:
        repo = SqlEnrollmentRepository(session, app_any_db.cipher)
        await repo.submit(budi, view.id, record, "telegram", NOW)
        assert await repo.deducted_count(budi) == 1
        assert await repo.holding_count(budi) == 1
    async with app_any_db.sessions() as session:
        agreement = (await session.scalars(select(DeductionAgreement))).one()
        enrollment = (await session.scalars(select(Enrollment))).one()
    assert (agreement.monthly_total, agreement.channel, agreement.wording) == (
        16_800, "telegram", "Saya setuju")
    assert agreement.agreed_at == NOW
    assert enrollment.status == "submitted" and enrollment.submitted_at == NOW
