"""A month's report, taken once when the month has closed and kept (report_snapshots).

The counts of storage/reports.py read enrolments and the roster as they are today: a
submission rejected in December leaves November's figures, an ASN who moved OPD takes their
participation along. So a closed month is counted once, at the first chance (the scheduler
at the month's end, else the first report of it), stored unit by unit in the report's order,
and every later report of that month reads those rows. The running month is counted live
and says so (`MonthlyReport.live`).

Two processes taking the same month at once (PostgreSQL, two schedulers; a push and an
export) both count, but only the first INSERT of the month's row wins (ON CONFLICT DO
NOTHING); the other reads the winner's rows, so the month has one version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.months import first_of_month_after
from flows.roles import UnitKind
from flows.time_zone import JAKARTA
from storage.database import dialect_insert
from storage.interfaces import UnitProgress
from storage.models import ReportSnapshot, ReportSnapshotUnit
from storage.reports import UNIT_KINDS, unit_progress_all

# Who took a month's snapshot (report_snapshots.taken_by).
MONTH_END, REPORT_DAY, EXPORT = "month_end", "report_day", "export"


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """A month's figures per OPD and per kecamatan, best rank first.

    `at` is the moment they describe: 00:00 WIB on the first of the next month for a closed
    month, the moment of asking for the running one (`live`, kept nowhere). `taken_at` is
    when a closed month's figures were counted and kept; `target_percent` the target then.
    """

    month: date
    at: datetime
    opd: list[UnitProgress]
    kecamatan: list[UnitProgress]
    target_percent: float
    live: bool
    taken_at: datetime | None = None

    def units(self, kind: str) -> list[UnitProgress]:
        if kind not in UNIT_KINDS:
            raise ValueError(f"unknown unit kind {kind!r}: expected one of {UNIT_KINDS}")
        return self.opd if kind == UnitKind.OPD else self.kecamatan


def month_end(month: date) -> datetime:
    """The first instant after `month` in Jakarta: the moment its report describes."""
    return datetime.combine(first_of_month_after(month), time(0), tzinfo=JAKARTA)


def closed_month_before(now: datetime) -> date:
    """The latest month that has ended by `now` (on the Jakarta calendar)."""
    local = now.astimezone(JAKARTA).date()
    return (date(local.year - 1, 12, 1) if local.month == 1
            else date(local.year, local.month - 1, 1))


async def monthly_report(session: AsyncSession, month: date, now: datetime,
                         target_percent: float, taken_by: str) -> MonthlyReport:
    """`month`'s report: its kept snapshot, taken now (by `taken_by`) if it has closed and
    none is kept yet, or the live figures of a month still running. Writes in the caller's
    transaction; `target_percent` is today's target, kept with a new snapshot."""
    month = month.replace(day=1)
    if now < month_end(month):
        views = await unit_progress_all(session, now)
        return MonthlyReport(month, now, views[UnitKind.OPD], views[UnitKind.KECAMATAN],
                             target_percent, live=True)
    kept = await kept_report(session, month)
    if kept is not None:
        return kept
    report, _ = await _take(session, month, now, target_percent, taken_by)
    return report


async def ensure_snapshot(session: AsyncSession, month: date, now: datetime,
                          target_percent: float, taken_by: str) -> bool:
    """Take `month`'s snapshot if it has closed and none is kept; True when this call took
    it. One primary-key look-up when it is there (the scheduler asks every minute)."""
    month = month.replace(day=1)
    if now < month_end(month) or await session.get(ReportSnapshot, month) is not None:
        return False
    _, took = await _take(session, month, now, target_percent, taken_by)
    return took


async def kept_report(session: AsyncSession, month: date) -> MonthlyReport | None:
    """The snapshot kept for `month`, or None."""
    header = await session.get(ReportSnapshot, month.replace(day=1))
    if header is None:
        return None
    rows = (await session.scalars(
        select(ReportSnapshotUnit).where(ReportSnapshotUnit.month == header.month)
        .order_by(ReportSnapshotUnit.kind, ReportSnapshotUnit.position)
    )).all()
    lines: dict[str, list[UnitProgress]] = {kind: [] for kind in UNIT_KINDS}
    for row in rows:
        lines[row.kind].append(UnitProgress(
            unit_id=row.unit_id, unit_name=row.unit_name, asn_total=row.asn_total,
            asn_participating=row.asn_participating, workers_protected=row.workers_protected,
            participating_month_ago=row.participating_month_ago, rank=row.rank,
            units_ranked=row.units_ranked,
        ))
    return MonthlyReport(header.month, header.described_at, lines[UnitKind.OPD],
                         lines[UnitKind.KECAMATAN], header.target_percent, live=False,
                         taken_at=header.taken_at)


async def _take(session: AsyncSession, month: date, now: datetime, target_percent: float,
                taken_by: str) -> tuple[MonthlyReport, bool]:
    """Count the closed month as of its end and keep it (True); if another transaction
    kept it first, its version is the one returned (False)."""
    at = month_end(month)
    views = await unit_progress_all(session, at)
    claimed = await session.execute(
        dialect_insert(session, ReportSnapshot)
        .values(month=month, described_at=at, taken_at=now, taken_by=taken_by,
                target_percent=target_percent)
        .on_conflict_do_nothing(index_elements=["month"])
    )
    if not getattr(claimed, "rowcount", 0):
        kept = await kept_report(session, month)
        assert kept is not None, "the conflicting snapshot is committed before ours"
        return kept, False
    lines = [
        {"month": month, "kind": kind, "position": position, "unit_id": unit.unit_id,
         "unit_name": unit.unit_name, "asn_total": unit.asn_total,
         "asn_participating": unit.asn_participating,
         "participating_month_ago": unit.participating_month_ago,
         "workers_protected": unit.workers_protected, "rank": unit.rank,
         "units_ranked": unit.units_ranked}
        for kind in UNIT_KINDS for position, unit in enumerate(views[kind])
    ]
    if lines:
        await session.execute(insert(ReportSnapshotUnit), lines)
    return MonthlyReport(month, at, views[UnitKind.OPD], views[UnitKind.KECAMATAN], target_percent,
                         live=False, taken_at=now), True
