"""A draft changed after going back from the agreement (issue 16 point 4), and the status a
held NIK is told with (point 9), on SQLite and PostgreSQL: the partial unique index still
allows one holder per NIK, and no worker is left behind without an enrolment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from storage.enrollments import SqlEnrollmentRepository
from storage.interfaces import ConsentGiven, EnrollmentNotFound, NikAlreadyHeld, WorkerDraft
from storage.models import Asn, Consent, Enrollment, Worker
from tests.conftest import seed_roster

SITI = "3324015708800001"
ANDI = "3324011205900002"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 8, 5, tzinfo=UTC)
DRAFT = WorkerDraft(nik=SITI, name="SITI AMINAH", birth_date=date(1980, 8, 17),
                    occupation="art", phone=None, desa="Kumpulrejo", kecamatan_name="Patebon",
                    kecamatan_id=None, relationship="art")


@pytest.fixture
async def people(app_any_db) -> list[int]:
    await seed_roster(app_any_db)
    async with app_any_db.sessions() as session:
        return list((await session.scalars(select(Asn.id).order_by(Asn.id))).all())


async def save(app, asn_id: int, draft: WorkerDraft = DRAFT) -> int:
    async with app.sessions.begin() as session:
        repo = SqlEnrollmentRepository(session, app.cipher)
        consent = ConsentGiven("v2", "kata", "console")
        return (await repo.save_draft(asn_id, draft, consent, NOW)).id


async def change(app, asn_id: int, enrollment_id: int, draft: WorkerDraft) -> None:
    async with app.sessions.begin() as session:
        repo = SqlEnrollmentRepository(session, app.cipher)
        await repo.update_draft(asn_id, enrollment_id, draft,
                                ConsentGiven("v2", "kata baru", "telegram"), LATER)


async def all_rows(app, model) -> list:
    async with app.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_a_changed_draft_keeps_its_id_and_takes_the_new_answers(app_any_db, people):
    budi = people[0]
    draft_id = await save(app_any_db, budi)
    await change(app_any_db, budi, draft_id, replace(DRAFT, name="SITI RAHAYU",
                                                     relationship="tetangga"))
    [enrollment] = await all_rows(app_any_db, Enrollment)
    [worker] = await all_rows(app_any_db, Worker)
    [consent] = await all_rows(app_any_db, Consent)
    assert (enrollment.id, enrollment.status, enrollment.relationship) == (
        draft_id, "draft", "tetangga")
    assert worker.name == "SITI RAHAYU" and enrollment.worker_id == worker.id
    assert (consent.wording, consent.channel, consent.given_at) == ("kata baru", "telegram",
                                                                   LATER)


async def test_another_nik_moves_the_draft_and_drops_the_workers_row(app_any_db, people):
    budi = people[0]
    draft_id = await save(app_any_db, budi)
    await change(app_any_db, budi, draft_id, replace(DRAFT, nik=ANDI, name="ANDI"))
    [worker] = await all_rows(app_any_db, Worker)  # Siti's personal data is gone
    assert app_any_db.cipher.decrypt(worker.nik_enc) == ANDI
    [enrollment] = await all_rows(app_any_db, Enrollment)
    [consent] = await all_rows(app_any_db, Consent)
    assert enrollment.worker_id == worker.id == consent.worker_id
    async with app_any_db.sessions() as session:
        repo = SqlEnrollmentRepository(session, app_any_db.cipher)
        assert await repo.holding_status(SITI) is None
        assert await repo.holding_status(ANDI) == "draft"


async def test_a_worker_who_was_enrolled_before_keeps_the_row(app_any_db, people):
    budi = people[0]
    first = await save(app_any_db, budi)
    async with app_any_db.sessions.begin() as session:
        await SqlEnrollmentRepository(session, app_any_db.cipher).stop(
            budi, first, "alasan", date(2026, 12, 1), NOW)
    again = await save(app_any_db, budi)
    await change(app_any_db, budi, again, replace(DRAFT, nik=ANDI, name="ANDI"))
    names = sorted(worker.name for worker in await all_rows(app_any_db, Worker))
    assert names == ["ANDI", "SITI AMINAH"]  # the ended enrolment still names Siti


async def test_another_nik_held_elsewhere_is_refused_and_nothing_changes(app_any_db, people):
    budi, sri = people
    draft_id = await save(app_any_db, budi)
    await save(app_any_db, sri, replace(DRAFT, nik=ANDI, name="ANDI"))
    with pytest.raises(NikAlreadyHeld):
        await change(app_any_db, budi, draft_id, replace(DRAFT, nik=ANDI, name="ANDI"))
    enrollments = await all_rows(app_any_db, Enrollment)
    workers = {w.id: w.name for w in await all_rows(app_any_db, Worker)}
    assert [workers[e.worker_id] for e in enrollments] == ["SITI AMINAH", "ANDI"]


async def test_only_the_owners_draft_can_be_changed(app_any_db, people):
    budi, sri = people
    draft_id = await save(app_any_db, budi)
    with pytest.raises(EnrollmentNotFound):
        await change(app_any_db, sri, draft_id, DRAFT)
    async with app_any_db.sessions.begin() as session:
        await session.execute(update(Enrollment).values(status="submitted"))
    with pytest.raises(EnrollmentNotFound):  # agreed meanwhile: no longer a draft
        await change(app_any_db, budi, draft_id, DRAFT)


@pytest.mark.parametrize("status", ["draft", "submitted", "verified", "registered", "active"])
async def test_the_holding_status_is_the_enrolments(app_any_db, people, status):
    await save(app_any_db, people[0])
    async with app_any_db.sessions.begin() as session:
        await session.execute(update(Enrollment).values(status=status))
    async with app_any_db.sessions() as session:
        assert await SqlEnrollmentRepository(session, app_any_db.cipher).holding_status(
            SITI) == status
