"""storage/lifecycle.py on both engines: a move writes its row beside the change; a move the
table refuses, or one whose row moved meanwhile, writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flows.lifecycle import Actor, Move, MoveRefused
from storage import lifecycle
from storage.models import Asn, Enrollment, EnrollmentMove
from tests.conftest import seed_roster
from tests.support.worker_drafts import NOW, save


@pytest.fixture
async def draft_id(app_any_db) -> int:
    await seed_roster(app_any_db)
    async with app_any_db.sessions() as session:
        asn_id = (await session.scalars(select(Asn.id).order_by(Asn.id))).first()
    return (await save(app_any_db, asn_id)).id


async def _state(app, enrollment_id):
    async with app.sessions() as session:
        status = await session.scalar(
            select(Enrollment.status).where(Enrollment.id == enrollment_id))
        moves = (await session.execute(
            select(EnrollmentMove.move, EnrollmentMove.from_status, EnrollmentMove.to_status,
                   EnrollmentMove.actor, EnrollmentMove.reason)
            .where(EnrollmentMove.enrollment_id == enrollment_id)
            .order_by(EnrollmentMove.id))).all()
    return status, [tuple(move) for move in moves]


async def test_a_move_is_recorded_with_who_and_why(app_any_db, draft_id):
    async with app_any_db.sessions.begin() as session:
        dest = await lifecycle.move(session, draft_id, Move.STOP, Actor("asn", 7), NOW,
                                    reason="tidak jadi")
    assert dest == "stopped"
    assert await _state(app_any_db, draft_id) == (
        "stopped", [("stop", "draft", "stopped", "asn:7", "tidak jadi")])


async def test_a_refused_move_writes_nothing(app_any_db, draft_id):
    with pytest.raises(MoveRefused):
        async with app_any_db.sessions.begin() as session:
            await lifecycle.move(session, draft_id, Move.PAY, Actor("payroll_import"), NOW)
    assert await _state(app_any_db, draft_id) == ("draft", [])


async def test_move_many_moves_only_what_the_table_allows(app_any_db, draft_id):
    async with app_any_db.sessions.begin() as session:
        moved = await lifecycle.move_many(session, [draft_id, draft_id + 99], Move.SUBMIT,
                                          Actor("asn", 1), NOW)
        again = await lifecycle.move_many(session, [draft_id], Move.SUBMIT, Actor("asn", 1), NOW)
    assert (moved, again) == ([draft_id], [])
    assert await _state(app_any_db, draft_id) == (
        "submitted", [("submit", "draft", "submitted", "asn:1", None)])
