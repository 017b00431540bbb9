"""The payroll-deduction list of a salary month, and the record of what each list asked for.

The rule (flows/payroll.py, here as SQL): an enrolment is deducted in month M when BPJS
registered the worker, with a KPJ number, before M began; M is not before the month the ASN
agreed to; and the ASN had not stopped it by M. The list streams its rows (yield_per), so a
province's list never sits in memory whole.

Each run also writes a `payroll_entries` row per enrolment and month it lists (once: a month
run again adds only what is new), so that a later refusal by BPJS knows what was taken.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flows.enrollment_status import COVERED_STATUSES, EnrollmentStatus
from flows.time_zone import JAKARTA
from storage.models import (
    Asn,
    DeductionAgreement,
    Enrollment,
    PayrollEntry,
    Unit,
    UtcDateTime,
)
from storage.reports import STREAM_BATCH


@dataclass(frozen=True, slots=True)
class PayrollRow:
    """One ASN's deduction in a month: how many workers, and the premium in force then."""

    nip: str
    name: str
    unit_name: str
    workers: int
    amount: int


def month_starts(month: date) -> datetime:
    """00:00 WIB on the first day of `month`: when that month's salary period begins."""
    return datetime.combine(month, time(0), tzinfo=JAKARTA)


def _deducted_in(month: date) -> ColumnElement[bool]:
    """The enrolment's premium is deducted from salary month `month` (the module's rule).

    A registered row without a registration time (older data) counts from its submission;
    a stopped enrolment is deducted until its stop month only if BPJS had registered it; a
    lapsed one no longer.
    """
    return and_(
        Enrollment.kpj_number.is_not(None),
        func.coalesce(Enrollment.registered_at, Enrollment.submitted_at) < month_starts(month),
        DeductionAgreement.first_month <= month,
        or_(Enrollment.deduction_stop_month.is_(None), Enrollment.deduction_stop_month > month),
        or_(
            Enrollment.status.in_(COVERED_STATUSES),
            and_(Enrollment.status == EnrollmentStatus.STOPPED,
                 Enrollment.deduction_stop_month.is_not(None)),
        ),
    )


def _deducted(month: date) -> Select[tuple[int, int]]:
    return (
        select(Enrollment.id, Enrollment.asn_id)
        .join(DeductionAgreement, DeductionAgreement.enrollment_id == Enrollment.id)
        .where(_deducted_in(month))
    )


def _payroll_query(month: date) -> Select[tuple[str, str, str, int]]:
    deducted = _deducted(month).subquery()
    workers = func.count(deducted.c.id)
    return (
        select(Asn.nip, Asn.name, Unit.name, workers)
        .select_from(deducted)
        .join(Asn, Asn.id == deducted.c.asn_id)
        .join(Unit, Unit.id == Asn.unit_id)
        .group_by(Asn.id, Asn.nip, Asn.name, Unit.name)
        .order_by(Unit.name, Asn.name, Asn.nip)
    )


async def payroll_count(session: AsyncSession, month: date) -> int:
    """How many ASN the month's list holds (for the progress bar)."""
    inner = _payroll_query(month).order_by(None).subquery()
    return await session.scalar(select(func.count()).select_from(inner)) or 0


async def payroll_rows(
    session: AsyncSession, month: date, per_worker: int
) -> AsyncIterator[PayrollRow]:
    """Every ASN with at least one enrolment deducted in `month`, by OPD then name.

    `per_worker` is the premium in force in that month (flows.premium.rate_on over the dated
    schedule): a regulated change, such as a discount, applies to every agreement from its
    first month.
    """
    result = await session.stream(
        _payroll_query(month).execution_options(yield_per=STREAM_BATCH))
    async for nip, name, unit_name, workers in result:
        yield PayrollRow(nip, name, unit_name, workers, workers * per_worker)


async def record_entries(session: AsyncSession, month: date, per_worker: int,
                         now: datetime) -> None:
    """Keep what the month's list asks for: one row per enrolment listed, in one INSERT ...
    SELECT. An enrolment already recorded for the month keeps its first row, so running a
    month again records only the enrolments new to it."""
    deducted = _deducted(month).subquery()
    recorded = exists().where(PayrollEntry.enrollment_id == deducted.c.id,
                              PayrollEntry.month == month)
    chosen = select(
        deducted.c.id, deducted.c.asn_id, literal(month, Date()),
        literal(per_worker, Integer()), literal(now, UtcDateTime()),
    ).where(~recorded)
    await session.execute(insert(PayrollEntry).from_select(
        ["enrollment_id", "asn_id", "month", "amount", "listed_at"], chosen))
