"""Applying the lifecycle's moves (flows/lifecycle.py) to enrolments, with their record.

Every status change of an enrolment goes through here, so that each one is guarded by the
table and leaves an `enrollment_moves` row (who or what, from, to, why, when) in the same
transaction as the change and as the outbox rows the caller queues to tell people. A move
the table refuses raises `MoveRefused` before anything is written; the UPDATE is guarded by
the status it read, so a row another transaction moved meanwhile is refused, not half-moved.

`move_many` is the set-based form the imports use: one guarded UPDATE ... RETURNING per
source status and one INSERT of the moves, per chunk of ids.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.enrollment_status import EnrollmentStatus
from flows.lifecycle import Actor, Move, MoveRefused, next_status, sources
from storage.interfaces import EnrollmentNotFound
from storage.models import Enrollment, EnrollmentMove

CHUNK = 500  # ids per statement: well under SQLite's and asyncpg's parameter limits

REASON_LIMIT = 500  # enrollment_moves.reason's length


async def move(
    session: AsyncSession,
    enrollment_id: int,
    trigger: Move,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> EnrollmentStatus:
    """Move one enrolment by `trigger` and record it; the new status.

    `values` are further columns the move sets (a KPJ number, a stop month); `where` are
    further conditions the caller's rule puts on the row (its unit, its owner). Without a
    row matching them: EnrollmentNotFound. The table has no such move from the row's
    status, or the row moved meanwhile: MoveRefused, and nothing is written.
    """
    status = await session.scalar(
        select(Enrollment.status).where(Enrollment.id == enrollment_id, *where))
    if status is None:
        raise EnrollmentNotFound(enrollment_id)
    dest = next_status(status, trigger)
    changed = await session.execute(
        update(Enrollment).where(Enrollment.id == enrollment_id, Enrollment.status == status)
        .values(status=dest, **dict(values or {}))
        .execution_options(synchronize_session=False))
    if not getattr(changed, "rowcount", 0):
        raise MoveRefused(trigger, status)
    session.add(EnrollmentMove(enrollment_id=enrollment_id, move=trigger,
                               from_status=status, to_status=dest, actor=str(actor),
                               reason=_reason(reason), at=now))
    return dest


async def move_many(
    session: AsyncSession,
    enrollment_ids: Collection[int],
    trigger: Move,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> list[int]:
    """Move every enrolment of `enrollment_ids` that the table lets `trigger` move; the ids
    moved, in order. The others (already moved, or in a status the move cannot leave) are
    left as they are: the caller compares, and says which it refused."""
    moved: list[int] = []
    for chunk in _chunks(sorted(set(enrollment_ids))):
        for source in sources(trigger):
            dest = next_status(source, trigger)
            ids = list((await session.scalars(
                update(Enrollment)
                .where(Enrollment.id.in_(chunk), Enrollment.status == source)
                .values(status=dest, **dict(values or {}))
                .returning(Enrollment.id)
                .execution_options(synchronize_session=False))).all())
            if ids:
                await session.execute(insert(EnrollmentMove), [
                    {"enrollment_id": enrollment_id, "move": str(trigger),
                     "from_status": str(source), "to_status": str(dest), "actor": str(actor),
                     "reason": _reason(reason), "at": now}
                    for enrollment_id in ids])
                moved += ids
    return sorted(moved)


@contextmanager
def refused_as_missing(enrollment_id: int) -> Iterator[None]:
    """For a repository whose contract says EnrollmentNotFound when the enrolment is not in
    a status that allows the change (a second tap, a decision made elsewhere meanwhile)."""
    try:
        yield
    except MoveRefused as refused:
        raise EnrollmentNotFound(enrollment_id) from refused


def _reason(reason: str | None) -> str | None:
    return reason[:REASON_LIMIT] if reason else None


def _chunks(values: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]

