"""`asn-peduli export` and `asn-peduli bpjs`: the monthly report and its chart, the
payroll-deduction list, the BPJS registration batch, and the import of BPJS results.

Exit codes: 0 done; 1 an import with refused rows; 2 nothing written (a bad month, file name,
folder, or a month the premium schedule does not cover).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from admin.cli_app import with_migrated_app
from admin.cli_output import say
from bot.app import App
from flows.premium import NoPremiumRate

export_cli = typer.Typer(help="Ekspor laporan dan daftar.", no_args_is_help=True)
bpjs_cli = typer.Typer(help="Pertukaran data dengan BPJS Ketenagakerjaan.", no_args_is_help=True)

EXIT_NOTHING_WRITTEN = 2

MonthOption = Annotated[str, typer.Option("--month", help="Bulan, TTTT-BB (mis. 2025-09).")]


class UnitKind(enum.StrEnum):
    """The kind of unit a chart ranks."""

    OPD = "opd"
    KECAMATAN = "kecamatan"


def _month(text: str) -> date:
    """The first day of the month named, or the command stops with a hint."""
    from admin.exports import parse_month  # here, not at the top: it brings openpyxl

    month = parse_month(text)
    if month is None:
        say("export_bad_month", month=text)
        raise typer.Exit(EXIT_NOTHING_WRITTEN)
    return month


def _output(path: Path, allowed: tuple[str, ...]) -> Path:
    """The output path checked before any work: its suffix and a writable folder."""
    from admin.exports import ExportFormatError, output_format

    try:
        output_format(path, allowed)
    except ExportFormatError:
        say("export_bad_format", path=str(path), allowed=[f".{name}" for name in allowed])
        raise typer.Exit(EXIT_NOTHING_WRITTEN) from None
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        say("export_no_folder", folder=str(folder))
        raise typer.Exit(EXIT_NOTHING_WRITTEN)
    return path


@contextmanager
def _nothing_written_on(error: type[Exception], template: str, **context: object
                        ) -> Iterator[None]:
    """An export that raises `error` has written nothing: say `template` and exit 2."""
    try:
        yield
    except error:
        say(template, **context)
        raise typer.Exit(EXIT_NOTHING_WRITTEN) from None


@export_cli.command("report")
def export_report_command(
    month: MonthOption,
    out: Annotated[Path, typer.Option("--out", help="Berkas .xlsx yang ditulis.")],
) -> None:
    """Laporan bulanan per OPD dan kecamatan (XLSX)."""
    from admin.export_report import MonthNotStarted, export_report

    first = _month(month)
    path = _output(out, ("xlsx",))

    async def work(app: App) -> None:
        with _nothing_written_on(MonthNotStarted, "export_month_future", month=first):
            report = await export_report(app, first, path)
        totals = report.totals
        say("export_report_written", month=first, path=str(path), at=report.at,
            live=report.report.live, participating=totals.asn_participating,
            asn_total=totals.asn_total, percent=round(totals.percent, 1),
            target=round(report.report.target_percent, 1),
            protected=totals.workers_protected, opd=len(report.opd),
            kecamatan=len(report.kecamatan))

    with_migrated_app(work)


@export_cli.command("chart")
def export_chart_command(
    month: MonthOption,
    out: Annotated[Path, typer.Option("--out", help="Berkas .png yang ditulis.")],
    kind: Annotated[UnitKind, typer.Option(
        "--kind", help="Peringkat per OPD atau per kecamatan.")] = UnitKind.OPD,
) -> None:
    """Grafik partisipasi sebulan (PNG 16:9, untuk layar rapat atau grup)."""
    from admin.export_chart import export_chart
    from admin.export_report import MonthNotStarted

    first = _month(month)
    path = _output(out, ("png",))

    async def work(app: App) -> None:
        with _nothing_written_on(MonthNotStarted, "export_month_future", month=first):
            report = await export_chart(app, first, kind.value, path)
        say("export_chart_written", month=first, path=str(path), kind=kind.value,
            at=report.at, live=report.live, units=len(report.units(kind.value)))

    with_migrated_app(work)


@export_cli.command("payroll")
def export_payroll_command(
    month: MonthOption,
    out: Annotated[Path, typer.Option("--out", help="Berkas .xlsx atau .csv yang ditulis.")],
) -> None:
    """Daftar potongan gaji sebulan untuk bendahara gaji (XLSX atau CSV)."""
    from admin.export_payroll import export_payroll

    first = _month(month)
    path = _output(out, ("xlsx", "csv"))

    async def work(app: App) -> None:
        label = app.renderer.text("cli/export_progress", {"what": "payroll"})
        with _nothing_written_on(NoPremiumRate, "export_no_rate", month=first):
            done = await export_payroll(app, first, path, label)
        say("export_payroll_written", month=first, path=str(path), asn=done.asn,
            workers=done.workers, premium=done.premium, total=done.total, format=done.format,
            refunds=done.refunds, refund_asn=done.refund_asn, refund_total=done.refund_total,
            refund_path=str(done.refund_path) if done.refund_path else None)

    with_migrated_app(work)


@export_cli.command("bpjs-batch")
def export_bpjs_batch_command(
    out: Annotated[Path, typer.Option("--out", help="Berkas .csv atau .xlsx yang ditulis.")],
) -> None:
    """Data pendaftaran BPJS (BPU, JKK+JKM) dari pendaftaran yang sudah diverifikasi."""
    from admin.export_bpjs import export_bpjs_batch

    path = _output(out, ("csv", "xlsx"))

    async def work(app: App) -> None:
        label = app.renderer.text("cli/export_progress", {"what": "batch"})
        done = await export_bpjs_batch(app, path, label)
        say("export_batch_written", path=str(path), rows=done.rows)

    with_migrated_app(work)


@bpjs_cli.command("import")
def bpjs_import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Impor hasil BPJS (referensi atau NIK, no_kpj, status, alasan) dari CSV atau XLSX."""
    from admin.bpjs_import import import_results_file

    async def work(app: App) -> int:
        return await import_results_file(app, file)

    raise typer.Exit(with_migrated_app(work))
