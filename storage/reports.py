"""Progress per OPD or kecamatan, computed by a few aggregate queries (GROUP BY unit).

Issue 5 asks for the monthly report over 1,000,000 ASN and 300,000 enrolments in at most two
seconds, so nothing here loads rows per ASN into Python: the database counts, Python only
ranks a few dozen units.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from fractions import Fraction

from sqlalchemy import ColumnElement, and_, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from messages.formatting import JAKARTA
from storage.interfaces import UnitProgress
from storage.models import Asn, Enrollment, Unit

UNIT_KINDS = ("opd", "kecamatan")

# Statuses never counted as participating: not yet agreed, or refused by the coordinator.
_NOT_AGREED = ("draft", "rejected")
_REGISTERED = ("registered", "active")


def month_before(at: datetime) -> datetime:
    """The same moment one calendar month earlier, on the Jakarta calendar.

    31 March becomes 28 (or 29) February: the day is clamped to the shorter month.
    """
    local = at.astimezone(JAKARTA)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def agreed_at(at: datetime) -> ColumnElement[bool]:
    """An enrolment agreed (submitted) and not ended at the moment `at`."""
    return and_(
        Enrollment.submitted_at.is_not(None),
        Enrollment.submitted_at <= at,
        or_(Enrollment.ended_at.is_(None), Enrollment.ended_at > at),
        Enrollment.status.not_in(_NOT_AGREED),
    )


def protected_at(at: datetime) -> ColumnElement[bool]:
    """An enrolment BPJS had registered and that had not ended at `at`.

    Rows moved to registered without a registration time (older data) count from their
    submission; an ended enrolment counts only if its registration time is known.
    """
    return and_(
        agreed_at(at),
        or_(
            and_(Enrollment.status.in_(_REGISTERED),
                 func.coalesce(Enrollment.registered_at, Enrollment.submitted_at) <= at),
            and_(Enrollment.status == "ended", Enrollment.registered_at.is_not(None),
                 Enrollment.registered_at <= at),
        ),
    )


def _group_column(kind: str) -> ColumnElement[int | None]:
    if kind == "opd":
        return Asn.unit_id  # type: ignore[return-value]
    if kind == "kecamatan":
        return Asn.kecamatan_id  # type: ignore[return-value]
    raise ValueError(f"unknown unit kind {kind!r}: expected one of {UNIT_KINDS}")


async def unit_progress(session: AsyncSession, kind: str, at: datetime) -> list[UnitProgress]:
    """Every unit of `kind` ("opd" or "kecamatan") at the moment `at`, best rank first.

    Three queries: the units, the ASN per unit, and the participating ASN (now and a month
    before) with the protected workers per unit. Rank 1 is the highest percentage; equal
    percentages share a rank (1, 1, 3); units without ASN come last, sharing one rank.
    """
    group = _group_column(kind)
    before = month_before(at)

    units = (await session.execute(
        select(Unit.id, Unit.name).where(Unit.kind == kind)
    )).all()
    totals = dict((await session.execute(
        select(group, func.count()).where(group.is_not(None)).group_by(group)
    )).tuples().all())
    counted = await session.execute(
        select(
            group,
            func.count(func.distinct(case((agreed_at(at), Enrollment.asn_id), else_=null()))),
            func.count(func.distinct(case((agreed_at(before), Enrollment.asn_id),
                                          else_=null()))),
            func.count(func.distinct(case((protected_at(at), Enrollment.worker_id),
                                          else_=null()))),
        )
        .select_from(Enrollment)
        .join(Asn, Asn.id == Enrollment.asn_id)
        .where(
            group.is_not(None),
            Enrollment.submitted_at.is_not(None),
            Enrollment.submitted_at <= at,
            Enrollment.status.not_in(_NOT_AGREED),
        )
        .group_by(group)
    )
    counts = {unit_id: (now, ago, protected) for unit_id, now, ago, protected in counted}

    raw = []
    for unit_id, name in units:
        now, ago, protected = counts.get(unit_id, (0, 0, 0))
        raw.append((unit_id, name, totals.get(unit_id, 0), now, ago, protected))
    return _ranked(raw)


def _ranked(raw: list[tuple[int, str, int, int, int, int]]) -> list[UnitProgress]:
    """Competition ranking by exact percentage (fractions, so 1/3 and 2/6 tie)."""
    with_asn = [row for row in raw if row[2] > 0]
    without = [row for row in raw if row[2] == 0]
    with_asn.sort(key=lambda row: (-Fraction(row[3], row[2]), row[1]))
    without.sort(key=lambda row: row[1])
    result: list[UnitProgress] = []
    previous: Fraction | None = None
    rank = 0
    for position, row in enumerate(with_asn, start=1):
        share = Fraction(row[3], row[2])
        if share != previous:
            rank, previous = position, share
        result.append(_view(row, rank, len(raw)))
    last = len(with_asn) + 1
    result.extend(_view(row, last, len(raw)) for row in without)
    return result


def _view(row: tuple[int, str, int, int, int, int], rank: int, units: int) -> UnitProgress:
    unit_id, name, total, now, ago, protected = row
    return UnitProgress(
        unit_id=unit_id, unit_name=name, asn_total=total, asn_participating=now,
        workers_protected=protected, participating_month_ago=ago, rank=rank,
        units_ranked=units,
    )
