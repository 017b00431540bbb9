"""`asn-peduli export report`: the monthly report as a workbook for Disperinaker.

Three sheets: "Ringkasan" (the region), "OPD" and "Kecamatan" (every unit with its ASN,
participating ASN, percentage, protected workers, the month before, the change and the rank).
The numbers are unit_progress's, the same the group chats and the coordinators read. The
column headers are the file's layout, like the roster's column names, and stay in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot.app import App
from bot.exports import Column, Sheet, Value, write_workbook
from messages.formatting import JAKARTA, date_time, month_year
from storage.audit import SqlAuditRepository
from storage.interfaces import UnitProgress
from storage.reports import RegionTotals, region_totals, report_moment, unit_progress_all

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
    month: date
    at: datetime
    opd: list[UnitProgress]
    kecamatan: list[UnitProgress]
    totals: RegionTotals


class MonthNotStarted(ValueError):
    """A report for a month that has not begun describes nothing yet."""


def _share(unit: UnitProgress) -> float:
    return unit.asn_participating / unit.asn_total if unit.asn_total else 0.0


def unit_rows(progress: list[UnitProgress]) -> list[list[object]]:
    return [
        [unit.rank, unit.unit_name, unit.asn_total, unit.asn_participating, _share(unit),
         unit.workers_protected, unit.participating_month_ago, unit.change]
        for unit in progress
    ]


def summary_rows(report: ReportExport, region: str, target_percent: float
                 ) -> list[list[object]]:
    totals = report.totals
    without_kecamatan = totals.asn_total - sum(unit.asn_total for unit in report.kecamatan)
    share = totals.asn_participating / totals.asn_total if totals.asn_total else 0.0
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
        ["OPD 100%", ", ".join(totals.units_full) or "-"],
        ["ASN tanpa data kecamatan", Value(without_kecamatan, "int")],
    ]


async def export_report(app: App, month: date, path: Path) -> ReportExport:
    """Write the workbook for `month` and audit it; MonthNotStarted for a future month."""
    now = app.clock()
    if datetime.combine(month, datetime.min.time(), tzinfo=JAKARTA) > now:
        raise MonthNotStarted(month.isoformat())
    at = report_moment(month, now)
    settings = app.settings
    async with app.sessions.begin() as session:
        views = await unit_progress_all(session, at)
        opd, kecamatan = views["opd"], views["kecamatan"]
        report = ReportExport(month, at, opd, kecamatan,
                              region_totals(opd, settings.coverage_target_percent))
        write_workbook(path, [
            Sheet("Ringkasan", SUMMARY_COLUMNS,
                  summary_rows(report, settings.region_name,
                               settings.coverage_target_percent)),
            Sheet("OPD", unit_columns("OPD"), unit_rows(opd)),
            Sheet("Kecamatan", unit_columns("Kecamatan"), unit_rows(kecamatan)),
        ])
        await SqlAuditRepository(session).record(
            "export_report", actor_asn_id=None, channel="cli",
            subject=f"month:{month:%Y-%m}",
            details={"count": len(opd) + len(kecamatan), "format": "xlsx", "full_nik": False},
            now=now,
        )
    return report
