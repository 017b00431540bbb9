"""`asn-peduli export payroll`: the salary treasurer's deduction list for one month.

Who is deducted (flows/payroll.py): an ASN pays for a worker from the first salary month after
the month BPJS Ketenagakerjaan registered that worker (a KPJ number), never before the month
the ASN agreed to, until the month they stopped it. An enrolment waiting for verification or
for BPJS is not deducted, however long it waits. The amount is the premium in force in the
month, per worker.

What the file holds (no worker's data: the treasurer needs who pays how much, not whom it
protects):

- the deductions: one row per ASN (NIP, name, unit, workers, amount, the salary month) and a
  last row marked TOTAL in the NIP column with the number of workers and the amount;
- the refunds the list hands over: months already taken that paid for no cover (BPJS refused
  the worker, or the month was deducted before the worker was registered), one row per
  enrolment and month, with a TOTAL row. Each refund is on the first list exported after it
  was recorded for a salary month still to come (salaries are paid on the 1st: the running
  month's are paid), again on any later run of that same month, never on another month's
  list (storage/refunds.py).

An XLSX has a sheet for each, with a title naming the list, the month and the region above the
header. A CSV stays one table a program can read: its first line is the header, every row
names its salary month, and the TOTAL row is the last (a program skips it by its NIP column,
a person sees the sums, and a cut-off file is seen to lack it); the refunds go to a second CSV
beside it, `<name>-pengembalian.csv`, written when the month has refunds.

Every run records the enrolments it lists (storage/payroll.py), so a month run twice lists the
same people and records each enrolment once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from admin.cli_output import progress_bar
from admin.exports import (
    PROGRESS_STEP,
    Column,
    TableWriter,
    open_table,
    open_workbook,
    output_format,
)
from bot.app import App
from flows.premium import rate_on
from flows.time_zone import JAKARTA
from storage.audit import SqlAuditRepository
from storage.payroll import payroll_count, payroll_rows, record_entries
from storage.refunds import RefundRow, carry_refunds, refund_rows

# The files' layout, like the roster's column names: in code. TOTAL marks the sums' row.
TOTAL = "TOTAL"
COLUMNS = (
    Column("NIP", 21), Column("Nama", 32), Column("Unit kerja", 40),
    Column("Jumlah pekerja", 10, "int"), Column("Potongan (Rp)", 14, "rupiah"),
    Column("Bulan gaji", 11, "month"),
)
REFUND_COLUMNS = (
    Column("NIP", 21), Column("Nama", 32), Column("Unit kerja", 40),
    Column("Referensi pendaftaran", 13, "int"), Column("Bulan gaji dipotong", 12, "month"),
    Column("Dikembalikan (Rp)", 14, "rupiah"), Column("Alasan", 36),
    Column("Dicatat", 12, "date"),
)


@dataclass(frozen=True, slots=True)
class PayrollExport:
    month: date
    format: str
    asn: int
    workers: int
    total: int
    premium: int
    refunds: int  # months given back
    refund_asn: int
    refund_total: int
    refund_path: Path | None  # the CSV of refunds, when one was written


def refund_path_for(path: Path) -> Path:
    """Where a CSV list's refunds go: beside it, named after it."""
    return path.with_name(f"{path.stem}-pengembalian.csv")


class _PayrollWriter:
    """Writes a month's two tables, deductions and refunds, into the tables it is given,
    counting what it wrote."""

    def __init__(self, app: App, session: AsyncSession, month: date, premium: int,
                 refunds: list[RefundRow]) -> None:
        self._app = app
        self._session = session
        self._month = month
        self._premium = premium
        self.refunds = refunds
        self.asn = self.workers = self.total = 0
        self.deduction_title = f"Potongan {month:%Y-%m}"
        self.refund_title = f"Pengembalian {month:%Y-%m}"
        self._context = {"month": month, "region": app.settings.region_name,
                         "premium": premium, "made_at": app.clock(),
                         "refunds": len(refunds), "sheet": self.refund_title}

    def heading(self, template: str) -> list[str]:
        """The lines above an XLSX table's header: what the list is, for which month and
        region, and the rule it follows."""
        return self._app.renderer.text(f"cli/{template}", self._context).splitlines()

    async def deductions(self, table: TableWriter, expected: int, progress_label: str
                         ) -> None:
        month = self._month
        with progress_bar() as bar:
            task = bar.add_task(progress_label, total=expected)
            async for row in payroll_rows(self._session, month, self._premium):
                table.append([row.nip, row.name, row.unit_name, row.workers, row.amount,
                              month])
                self.asn += 1
                self.workers += row.workers
                self.total += row.amount
                if self.asn % PROGRESS_STEP == 0:
                    bar.update(task, completed=self.asn)
            bar.update(task, completed=self.asn, total=self.asn)
        table.total([TOTAL, None, None, self.workers, self.total, month])

    def refunds_table(self, table: TableWriter) -> None:
        renderer = self._app.renderer
        for refund in self.refunds:
            table.append([
                refund.nip, refund.name, refund.unit_name, refund.enrollment_id,
                refund.month, refund.amount,
                renderer.text("cli/refund_reason", {"reason": refund.reason}),
                refund.recorded_at.astimezone(JAKARTA).date(),
            ])
        table.total([TOTAL, None, None, None, None, self.refund_total, None, None])

    @property
    def refund_total(self) -> int:
        return sum(refund.amount for refund in self.refunds)


async def export_payroll(app: App, month: date, path: Path, progress_label: str
                         ) -> PayrollExport:
    """Write the list, record what it lists and audit it. Raises NoPremiumRate when the
    schedule has no rate for the month, ExportFormatError for a name that is neither .xlsx
    nor .csv."""
    fmt = output_format(path, ("xlsx", "csv"))
    premium = rate_on(app.settings.flow_config().premium_schedule, month).total
    now = app.clock()
    async with app.sessions.begin() as session:
        expected = await payroll_count(session, month)
        await record_entries(session, month, premium, now)
        await carry_refunds(session, month, now)
        writer = _PayrollWriter(app, session, month, premium,
                                await refund_rows(session, month))
        refund_path = None
        if fmt == "xlsx":
            with open_workbook(path, private=False) as book:
                await writer.deductions(
                    book.table(writer.deduction_title, COLUMNS,
                               writer.heading("payroll_heading")),
                    expected, progress_label)
                writer.refunds_table(book.table(writer.refund_title, REFUND_COLUMNS,
                                                writer.heading("refunds_heading")))
        else:
            with open_table(path, COLUMNS, private=False,
                            sheet_title=writer.deduction_title) as table:
                await writer.deductions(table, expected, progress_label)
            if writer.refunds:
                refund_path = refund_path_for(path)
                with open_table(refund_path, REFUND_COLUMNS, private=False,
                                sheet_title=writer.refund_title) as table:
                    writer.refunds_table(table)
        await SqlAuditRepository(session).record(
            "export_payroll", actor_asn_id=None, channel="cli",
            subject=f"month:{month:%Y-%m}",
            details={"count": writer.asn, "workers": writer.workers, "total": writer.total,
                     "refunds": len(writer.refunds), "refund_total": writer.refund_total,
                     "format": fmt, "full_nik": False},
            now=now,
        )
    return PayrollExport(
        month, fmt, writer.asn, writer.workers, writer.total, premium,
        refunds=len(writer.refunds), refund_asn=len({r.nip for r in writer.refunds}),
        refund_total=writer.refund_total, refund_path=refund_path)
