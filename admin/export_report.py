"""`asn-peduli export report`: the monthly report as a workbook for Disperinaker.

Three sheets: "Ringkasan" (the region), "OPD" and "Kecamatan" (every unit with its ASN,
participating ASN, percentage, protected workers, the month before, the change and the rank).
A closed month is read from its kept snapshot (storage/report_snapshots.py), taken by this
export if nothing reported the month before, so the file is the same whenever it is written
and equals what the group chats were sent; the running month is counted live and marked so.
The column headers are the file's layout, like the roster's column names, and stay in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from admin.exports import Column, Sheet, Value, write_workbook
from bot.app import App
from flows.time_zone import JAKARTA
from messages.formatting import date_time, month_year
from storage.audit import SqlAuditRepository
from storage.interfaces import UnitProgress
from storage.report_snapshots import EXPORT, MonthlyReport, monthly_report
from storage.reports import RegionTotals, region_totals

SUMMARY_COLUMNS = (Column("Keterangan", 34), Column("Nilai", 60))


def unit_columns(kind_header: str) -> tuple[Column, ...]:
    return (
        Column("Peringkat", 10, "int"), Column(kind_header, 44),
        Column("Jumlah ASN", 12, "int"), Column("ASN ikut", 11, "int"),
        Column("Partisipasi", 12, "percent"), Column("Pekerja terdaftar BPJS", 14, "int"),
        Column("ASN ikut bulan lalu", 14, "int"), Column("Perubahan", 11, "int"),
    )


@dataclass(frozen=True, slots=True)
class ReportExport:
    """What `export report` wrote: the month's report (kept or live) and its region totals,
    for the summary the command says."""

    report: MonthlyReport
    totals: RegionTotals

    @property
    def at(self) -> datetime:
        return self.report.at

    @property
    def opd(self) -> list[UnitProgress]:
        return self.report.opd

    @property
    def kecamatan(self) -> list[UnitProgress]:
        return self.report.kecamatan


class MonthNotStarted(ValueError):
    """A report for a month that has not begun describes nothing yet."""


async def exported_month(app: App, session: AsyncSession, month: date) -> MonthlyReport:
    """The month an export writes: kept (or taken now) when closed, live while running;
    MonthNotStarted for a month that has not begun in Jakarta."""
    now = app.clock()
    if datetime.combine(month, datetime.min.time(), tzinfo=JAKARTA) > now:
        raise MonthNotStarted(month.isoformat())
    return await monthly_report(session, month, now, app.settings.coverage_target_percent,
                                EXPORT)


def kept_or_live(report: MonthlyReport) -> str:
    """How the figures stand: counted now for a running month, or kept since when."""
    if report.live or report.taken_at is None:
        return "Sementara: bulan masih berjalan, angka dapat berubah"
    return f"Tetap: dicatat {date_time(report.taken_at)}"


def _share(unit: UnitProgress) -> float:
    return unit.asn_participating / unit.asn_total if unit.asn_total else 0.0


def unit_rows(progress: list[UnitProgress]) -> list[list[object]]:
    return [
        [unit.rank, unit.unit_name, unit.asn_total, unit.asn_participating, _share(unit),
         unit.workers_protected, unit.participating_month_ago, unit.change]
        for unit in progress
    ]


def summary_rows(export: ReportExport, region: str) -> list[list[object]]:
    report, totals = export.report, export.totals
    without_kecamatan = totals.asn_total - sum(unit.asn_total for unit in report.kecamatan)
    share = totals.asn_participating / totals.asn_total if totals.asn_total else 0.0
    target_percent = report.target_percent
    return [
        ["Wilayah", region],
        ["Bulan laporan", month_year(report.month)],
        ["Keadaan per", date_time(report.at)],
        ["Jumlah ASN", Value(totals.asn_total, "int")],
        ["ASN ikut melindungi pekerja rentan", Value(totals.asn_participating, "int")],
        ["Partisipasi", Value(share, "percent")],
        ["Target", Value(target_percent / 100, "percent")],
        ["Pekerja terdaftar BPJS", Value(totals.workers_protected, "int")],
        ["ASN ikut sebulan sebelumnya", Value(totals.participating_month_ago, "int")],
        ["Perubahan sejak sebulan sebelumnya", Value(totals.change, "int")],
        ["Jumlah OPD", Value(totals.units, "int")],
        ["OPD mencapai target", Value(totals.units_at_target, "int")],
        ["OPD 100%", ", ".join(totals.units_full) or "Belum ada OPD yang 100%"],
        ["ASN tanpa data kecamatan", Value(without_kecamatan, "int")],
        ["Sifat angka", kept_or_live(report)],
    ]


async def export_report(app: App, month: date, path: Path) -> ReportExport:
    """Write the workbook for `month` and audit it; MonthNotStarted for a future month."""
    settings = app.settings
    async with app.sessions.begin() as session:
        report = await exported_month(app, session, month)
        export = ReportExport(report, region_totals(report.opd, report.target_percent))
        write_workbook(path, [
            Sheet("Ringkasan", SUMMARY_COLUMNS, summary_rows(export, settings.region_name)),
            Sheet("OPD", unit_columns("OPD"), unit_rows(report.opd)),
            Sheet("Kecamatan", unit_columns("Kecamatan"), unit_rows(report.kecamatan)),
        ])
        await SqlAuditRepository(session).record(
            "export_report", actor_asn_id=None, channel="cli",
            subject=f"month:{month:%Y-%m}",
            details={"count": len(report.opd) + len(report.kecamatan), "format": "xlsx",
                     "full_nik": False, "live": report.live},
            now=app.clock(),
        )
    return export
