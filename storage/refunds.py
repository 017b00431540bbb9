"""Deductions to give back: listed salary months that paid for no cover.

`bpjs import` records them (BPJS refused the worker, or registered a worker whose earlier
months had been listed); the payroll export hands each one to the treasurer once, on the
first list it exports afterwards for a salary month still to come, and shows it again on
every run of that same month. A refund stays unconfirmed (`refunded_at` empty) until the
treasurer's result file shows it returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.time_zone import JAKARTA
from storage.models import Asn, DeductionRefund, PayrollEntry, Unit


@dataclass(frozen=True, slots=True)
class RefundMonth:
    """One salary month taken, and what was taken."""

    month: date
    amount: int


@dataclass(frozen=True, slots=True)
class RefundRow:
    """A refund as the treasurer's list shows it: who gets it back, for which month."""

    nip: str
    name: str
    unit_name: str
    enrollment_id: int
    month: date
    amount: int
    reason: str
    recorded_at: datetime


async def record_refunds(session: AsyncSession, enrollment_id: int, reason: str,
                         now: datetime, before: date | None = None) -> list[RefundMonth]:
    """Record as refunds the enrolment's listed months (only those before `before` when
    given) that are not refunds already; the months recorded, oldest first."""
    refunded = exists().where(DeductionRefund.enrollment_id == PayrollEntry.enrollment_id,
                              DeductionRefund.month == PayrollEntry.month)
    query = (select(PayrollEntry.asn_id, PayrollEntry.month, PayrollEntry.amount)
             .where(PayrollEntry.enrollment_id == enrollment_id, ~refunded)
             .order_by(PayrollEntry.month))
    if before is not None:
        query = query.where(PayrollEntry.month < before)
    months = []
    for asn_id, month, amount in await session.execute(query):
        session.add(DeductionRefund(
            enrollment_id=enrollment_id, asn_id=asn_id, month=month, amount=amount,
            reason=reason, recorded_at=now))
        months.append(RefundMonth(month, amount))
    return months


async def carry_refunds(session: AsyncSession, month: date, now: datetime) -> None:
    """Put on `month`'s list every refund no list has carried yet. A list for the month
    under way or a past one takes none: salaries are paid on the first of the month, so
    its salaries are paid already and the refund waits for a salary still to come."""
    if month <= now.astimezone(JAKARTA).date().replace(day=1):
        return
    await session.execute(
        update(DeductionRefund).where(DeductionRefund.payroll_month.is_(None))
        .values(payroll_month=month)
    )


async def refund_rows(session: AsyncSession, month: date) -> list[RefundRow]:
    """The refunds `month`'s list carries, by OPD, ASN, enrolment and month taken (a few
    rows a month: read whole)."""
    rows = await session.execute(
        select(Asn.nip, Asn.name, Unit.name, DeductionRefund.enrollment_id,
               DeductionRefund.month, DeductionRefund.amount, DeductionRefund.reason,
               DeductionRefund.recorded_at)
        .join(Asn, Asn.id == DeductionRefund.asn_id)
        .join(Unit, Unit.id == Asn.unit_id)
        .where(DeductionRefund.payroll_month == month)
        .order_by(Unit.name, Asn.name, Asn.nip, DeductionRefund.enrollment_id,
                  DeductionRefund.month)
    )
    return [RefundRow(*row) for row in rows]
