"""`asn-peduli export payroll`: the salary treasurer's deduction list for one month.

One row per ASN with at least one enrolment deducted that month: NIP, name, unit, number of
workers, and the amount (the premium in force that month, per worker). No worker's data is in
it: the treasurer needs who pays how much, not whom it protects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.app import App
from bot.cli_output import progress_bar
from bot.exports import PROGRESS_STEP, Column, open_table, output_format
from flows.premium import rate_on
from storage.audit import SqlAuditRepository
from storage.reports import payroll_count, payroll_rows

COLUMNS = (
    Column("NIP", 21), Column("Nama", 32), Column("Unit kerja", 40),
    Column("Jumlah pekerja", 10, "int"), Column("Potongan (Rp)", 14, "rupiah"),
)


@dataclass(frozen=True, slots=True)
class PayrollExport:
    month: date
    format: str
    asn: int
    workers: int
    total: int
    premium: int


async def export_payroll(app: App, month: date, path: Path, progress_label: str
                         ) -> PayrollExport:
    """Write the list and audit it. Raises NoPremiumRate when the schedule has no rate for
    the month, ExportFormatError for a name that is neither .xlsx nor .csv."""
    fmt = output_format(path, ("xlsx", "csv"))
    premium = rate_on(app.settings.flow_config().premium_schedule, month).total
    now = app.clock()
    asn = workers = total = 0
    async with app.sessions.begin() as session:
        expected = await payroll_count(session, month)
        with progress_bar() as bar, open_table(path, COLUMNS, private=False,
                                                sheet_title=f"Potongan {month:%Y-%m}") as table:
            task = bar.add_task(progress_label, total=expected)
            async for row in payroll_rows(session, month, premium):
                table.append([row.nip, row.name, row.unit_name, row.workers, row.amount])
                asn += 1
                workers += row.workers
                total += row.amount
                if asn % PROGRESS_STEP == 0:
                    bar.update(task, completed=asn)
            bar.update(task, completed=asn, total=asn)
        await SqlAuditRepository(session).record(
            "export_payroll", actor_asn_id=None, channel="cli",
            subject=f"month:{month:%Y-%m}",
            details={"count": asn, "workers": workers, "total": total, "format": fmt,
                     "full_nik": False},
            now=now,
        )
    return PayrollExport(month, fmt, asn, workers, total, premium)
