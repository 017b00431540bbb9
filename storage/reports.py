"""What the reports and the admin's exchanges with BPJS and the salary treasurer read.

- Progress per OPD or kecamatan (unit_progress), computed by a few aggregate queries
  (GROUP BY unit): issue 5 asks for the monthly report over 1,000,000 ASN and 300,000
  enrolments in at most two seconds, so nothing loads rows per ASN into Python; the database
  counts, Python only ranks a few dozen units. The region's totals and the monthly message's
  context are built from that list.
- The BPJS registration batch (the full NIK, birth date and phone, decrypted for BPJS), and
  the application of BPJS's results. The batch streams its rows (yield_per), so a
  province's batch never sits in memory whole. The payroll list is storage/payroll.py.
"""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.enrollment_status import (
    CLOSED_STATUSES,
    COVERED_STATUSES,
    HOLDING_STATUSES,
    NEVER_AGREED_STATUSES,
    EnrollmentStatus,
)
from flows.lifecycle import Actor, Move
from flows.roles import UnitKind
from flows.time_zone import JAKARTA
from storage import lifecycle
from storage.crypto import PersonalDataCipher
from storage.interfaces import UnitProgress
from storage.models import Asn, DeductionAgreement, Enrollment, Unit, Worker

# In report order, as the plain strings that key the views (and read as such in errors).
UNIT_KINDS = tuple(kind.value for kind in UnitKind)

BPJS_IMPORT = Actor("bpjs_import")
STREAM_BATCH = 1_000  # rows fetched at a time when an export walks a large result


def month_before(at: datetime) -> datetime:
    """The same moment one calendar month earlier, on the Jakarta calendar.

    31 March becomes 28 (or 29) February: the day is clamped to the shorter month.
    """
    local = at.astimezone(JAKARTA)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def _registered_by(at: datetime) -> ColumnElement[bool]:
    """BPJS had registered the enrolment by `at`. Rows moved to registered without a
    registration time (older data) count from their submission; a stopped, lapsed or ended
    enrolment counts only if its registration time is known."""
    return or_(
        and_(Enrollment.status.in_(COVERED_STATUSES),
             func.coalesce(Enrollment.registered_at, Enrollment.submitted_at) <= at),
        and_(Enrollment.status.in_(CLOSED_STATUSES), Enrollment.registered_at.is_not(None),
             Enrollment.registered_at <= at),
    )


def _group_column(kind: str) -> ColumnElement[int | None]:
    if kind == UnitKind.OPD:
        return Asn.unit_id  # type: ignore[return-value]
    if kind == UnitKind.KECAMATAN:
        return Asn.kecamatan_id  # type: ignore[return-value]
    raise ValueError(f"unknown unit kind {kind!r}: expected one of {UNIT_KINDS}")


def _participation(groups: Sequence[ColumnElement[Any]], at: datetime) -> Select[Any]:
    """Participating ASN at `at` and a month before, and protected workers, per group.

    An enrolment is "agreed and not ended at t" when submitted_at <= t, ended_at is null or
    later than t, and its status is neither draft nor rejected; an ASN participates at t
    with at least one such enrolment; a worker is protected at t when such an enrolment had
    also been registered by BPJS (registered, active, or since ended). Only enrolments
    agreed by `at` are read; the join to asn is by primary key.
    """
    before = month_before(at)
    # The WHERE below already keeps agreed enrolments submitted by `at`: each CASE checks
    # only what is left (fewer comparisons per row on a large table).
    running_now = or_(Enrollment.ended_at.is_(None), Enrollment.ended_at > at)
    running_before = and_(
        Enrollment.submitted_at <= before,
        or_(Enrollment.ended_at.is_(None), Enrollment.ended_at > before),
    )
    registered_now = and_(running_now, _registered_by(at))
    return (
        select(
            *groups,
            func.count(func.distinct(case((running_now, Enrollment.asn_id), else_=null()))),
            func.count(func.distinct(case((running_before, Enrollment.asn_id),
                                          else_=null()))),
            func.count(func.distinct(case((registered_now, Enrollment.worker_id),
                                          else_=null()))),
        )
        .select_from(Enrollment)
        .join(Asn, Asn.id == Enrollment.asn_id)
        .where(
            Enrollment.submitted_at.is_not(None),
            Enrollment.submitted_at <= at,
            Enrollment.status.not_in(NEVER_AGREED_STATUSES),
        )
        .group_by(*groups)
    )


async def _asn_totals(session: AsyncSession, kind: str) -> dict[int, int]:
    group = _group_column(kind)
    return {unit_id: count for unit_id, count in await session.execute(
        select(group, func.count()).where(group.is_not(None)).group_by(group))}


def _assemble(units: Iterable[tuple[int, str]], totals: dict[int, int],
              counts: dict[int, tuple[int, int, int]]) -> list[UnitProgress]:
    raw = []
    for unit_id, name in units:
        now, ago, protected = counts.get(unit_id, (0, 0, 0))
        raw.append((unit_id, name, totals.get(unit_id, 0), now, ago, protected))
    return _ranked(raw)


async def unit_progress(session: AsyncSession, kind: str, at: datetime) -> list[UnitProgress]:
    """Every unit of `kind` ("opd" or "kecamatan") at the moment `at`, best rank first.

    Three queries: the units, the ASN per unit, and the participating ASN (now and a month
    before) with the protected workers per unit. Rank 1 is the highest percentage; equal
    percentages share a rank (1, 1, 3); units without ASN come last, sharing one rank.
    """
    group = _group_column(kind)
    units = (await session.execute(
        select(Unit.id, Unit.name).where(Unit.kind == kind)
    )).all()
    totals = await _asn_totals(session, kind)
    counted = await session.execute(_participation([group], at).where(group.is_not(None)))
    counts = {unit_id: (now, ago, protected) for unit_id, now, ago, protected in counted}
    return _assemble(units, totals, counts)


async def unit_progress_all(session: AsyncSession, at: datetime
                            ) -> dict[str, list[UnitProgress]]:
    """Both views ("opd" and "kecamatan") from one pass over the enrolments.

    The monthly report needs both; counting per (OPD, kecamatan) pair once and summing the
    pairs costs about half of two unit_progress calls. The sums are exact: an ASN sits in
    exactly one pair, and a worker is held by one enrolment at a time.
    """
    units = (await session.execute(
        select(Unit.id, Unit.name, Unit.kind).where(Unit.kind.in_(UNIT_KINDS))
    )).all()
    totals = {kind: await _asn_totals(session, kind) for kind in UNIT_KINDS}
    sums: dict[str, dict[int, tuple[int, int, int]]] = {kind: {} for kind in UNIT_KINDS}
    counted = await session.execute(_participation([Asn.unit_id, Asn.kecamatan_id], at))
    for unit_id, kecamatan_id, now, ago, protected in counted:
        for kind, key in ((UnitKind.OPD, unit_id), (UnitKind.KECAMATAN, kecamatan_id)):
            if key is not None:
                held = sums[kind].get(key, (0, 0, 0))
                sums[kind][key] = (held[0] + now, held[1] + ago, held[2] + protected)
    return {
        kind: _assemble([(unit_id, name) for unit_id, name, unit_kind in units
                         if unit_kind == kind], totals[kind], sums[kind])
        for kind in UNIT_KINDS
    }


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


# --- the region as a whole, and the monthly report's words ---------------------------------

@dataclass(frozen=True, slots=True)
class RegionTotals:
    """The sum of every OPD: each ASN belongs to exactly one OPD, so sums count people once."""

    asn_total: int
    asn_participating: int
    workers_protected: int
    participating_month_ago: int
    units: int
    units_at_target: int
    units_full: tuple[str, ...]  # OPD where every ASN participates

    @property
    def percent(self) -> float:
        return 100.0 * self.asn_participating / self.asn_total if self.asn_total else 0.0

    @property
    def change(self) -> int:
        return self.asn_participating - self.participating_month_ago


def is_full(unit: UnitProgress) -> bool:
    """Every ASN of the unit participates (a unit without ASN is not "full")."""
    return unit.asn_total > 0 and unit.asn_participating >= unit.asn_total


def region_totals(progress: list[UnitProgress], target_percent: float) -> RegionTotals:
    return RegionTotals(
        asn_total=sum(unit.asn_total for unit in progress),
        asn_participating=sum(unit.asn_participating for unit in progress),
        workers_protected=sum(unit.workers_protected for unit in progress),
        participating_month_ago=sum(unit.participating_month_ago for unit in progress),
        units=len(progress),
        units_at_target=sum(1 for unit in progress
                            if unit.asn_total and unit.percent >= target_percent),
        units_full=tuple(unit.unit_name for unit in progress if is_full(unit)),
    )


def _one_decimal(value: float) -> float:
    return round(value, 1)


def unit_line(unit: UnitProgress) -> dict[str, Any]:
    """One unit as the report's templates read it."""
    return {
        "name": unit.unit_name, "percent": _one_decimal(unit.percent), "rank": unit.rank,
        "units": unit.units_ranked, "participating": unit.asn_participating,
        "total": unit.asn_total, "change": unit.change, "protected": unit.workers_protected,
    }


def monthly_report_context(
    opd: list[UnitProgress],
    *,
    at: datetime,
    target_percent: float,
    region_name: str,
    own: UnitProgress | None = None,
    own_kind: str = UnitKind.OPD,
    top: int = 3,
) -> dict[str, Any]:
    """The context of report/monthly.j2 for one group chat.

    `opd` is unit_progress(session, "opd", at); `own` is the group's own unit (an OPD from
    `opd`, or a kecamatan from unit_progress(session, "kecamatan", at)), or None for a group
    linked to no unit. The same `opd` list serves every group of the region.
    """
    totals = region_totals(opd, target_percent)
    leaders = [unit for unit in opd if unit.asn_total > 0][:top]
    return {
        "region": region_name,
        "report_at": at,
        "report_target": _one_decimal(target_percent),
        "report_percent": _one_decimal(totals.percent),
        "report_participating": totals.asn_participating,
        "report_asn_total": totals.asn_total,
        "report_protected": totals.workers_protected,
        "report_change": totals.change,
        "report_top": [unit_line(unit) for unit in leaders],
        "report_full": list(totals.units_full),
        "report_own": unit_line(own) if own is not None else None,
        "report_own_kind": own_kind,
    }


# --- the BPJS registration batch -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BatchRow:
    """A verified enrolment as BPJS Ketenagakerjaan's BPU registration asks for it.

    Holds the worker's NIK, birth date and phone in full: BPJS cannot register without them.
    """

    enrollment_id: int
    nik: str
    name: str
    birth_date: date
    phone: str | None
    desa: str
    kecamatan: str
    occupation: str
    first_month: date
    monthly_premium: int
    asn_nip: str
    asn_name: str
    unit_name: str


def _batch_query() -> Select[Any]:
    return (
        select(
            Enrollment.id, Worker.nik_enc, Worker.name, Worker.birth_date_enc,
            Worker.phone_enc, Worker.desa, Worker.kecamatan_name, Worker.occupation,
            DeductionAgreement.first_month,
            # This worker's premium: the agreement's monthly_total covers all the ASN's
            # workers at the time (a second worker's agreement says Rp33.600).
            DeductionAgreement.premium_jkk + DeductionAgreement.premium_jkm, Asn.nip,
            Asn.name, Unit.name,
        )
        .select_from(Enrollment)
        .join(Worker, Worker.id == Enrollment.worker_id)
        .join(DeductionAgreement, DeductionAgreement.enrollment_id == Enrollment.id)
        .join(Asn, Asn.id == Enrollment.asn_id)
        .join(Unit, Unit.id == Asn.unit_id)
        .where(Enrollment.status == EnrollmentStatus.VERIFIED)
        .order_by(Unit.name, Enrollment.id)
    )


async def batch_count(session: AsyncSession) -> int:
    return await session.scalar(
        select(func.count()).select_from(Enrollment)
        .where(Enrollment.status == EnrollmentStatus.VERIFIED)
    ) or 0


async def batch_rows(session: AsyncSession, cipher: PersonalDataCipher
                     ) -> AsyncIterator[BatchRow]:
    """Every verified enrolment, decrypted for BPJS, by OPD then enrolment id."""
    result = await session.stream(_batch_query().execution_options(yield_per=STREAM_BATCH))
    decrypt = cipher.decrypt
    async for row in result:
        (enrollment_id, nik_enc, name, birth_enc, phone_enc, desa, kecamatan, occupation,
         first_month, premium, asn_nip, asn_name, unit_name) = row
        yield BatchRow(
            enrollment_id=enrollment_id, nik=decrypt(nik_enc), name=name,
            birth_date=date.fromisoformat(decrypt(birth_enc)),
            phone=decrypt(phone_enc) if phone_enc else None, desa=desa, kecamatan=kecamatan,
            occupation=occupation, first_month=first_month, monthly_premium=premium,
            asn_nip=asn_nip, asn_name=asn_name, unit_name=unit_name,
        )


# --- BPJS results: registered (with a KPJ number) or rejected --------------------------------

@dataclass(slots=True)
class ResultTarget:
    """The enrolment a BPJS result names, with what the ASN's message needs."""

    enrollment_id: int
    asn_id: int
    status: str
    kpj_number: str | None
    rejection_reason: str | None
    worker_name: str
    nik_masked: str
    nik_hash: str
    first_month: date | None  # the agreement's first month (None: never agreed)


def _target_query() -> Select[Any]:
    return (
        select(Enrollment.id, Enrollment.asn_id, Enrollment.status, Enrollment.kpj_number,
               Enrollment.rejection_reason, Worker.name, Worker.nik_masked, Worker.nik_hash,
               DeductionAgreement.first_month)
        .join(Worker, Worker.id == Enrollment.worker_id)
        .outerjoin(DeductionAgreement, DeductionAgreement.enrollment_id == Enrollment.id)
    )


async def targets_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, ResultTarget]:
    found: dict[int, ResultTarget] = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = await session.execute(_target_query().where(Enrollment.id.in_(chunk)))
        for row in rows:
            found[row[0]] = ResultTarget(*row)
    return found


async def targets_by_nik_hash(session: AsyncSession, hashes: Iterable[str]
                              ) -> dict[str, ResultTarget]:
    """The enrolment a NIK names: the one holding the worker now, else the latest one that
    was ever agreed (a rejected or ended enrolment: a repeated import finds it again)."""
    found: dict[str, tuple[tuple[int, int], ResultTarget]] = {}
    for chunk in _chunks(sorted(set(hashes))):
        rows = await session.execute(
            _target_query().where(Worker.nik_hash.in_(chunk),
                                  Enrollment.status != EnrollmentStatus.DRAFT))
        for row in rows:
            target = ResultTarget(*row)
            preference = (1 if target.status in HOLDING_STATUSES else 0, target.enrollment_id)
            held = found.get(target.nik_hash)
            if held is None or preference > held[0]:
                found[target.nik_hash] = (preference, target)
    return {key: target for key, (_, target) in found.items()}


async def mark_registered(session: AsyncSession, enrollment_id: int, kpj_number: str,
                          now: datetime) -> None:
    """BPJS gave the worker a KPJ number (the caller checked the enrolment is verified)."""
    await lifecycle.move(session, enrollment_id, Move.REGISTER, BPJS_IMPORT, now,
                         values={"kpj_number": kpj_number, "registered_at": now})


async def mark_rejected(session: AsyncSession, enrollment_id: int, reason: str | None,
                        now: datetime) -> None:
    """BPJS refused the registration: the enrolment ends its hold on the worker and is no
    longer deducted (rejected is neither a holding nor a deducted status)."""
    await lifecycle.move(session, enrollment_id, Move.REJECT, BPJS_IMPORT, now, reason=reason,
                         values={"rejection_reason": reason})


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
