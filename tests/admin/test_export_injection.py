"""Formula injection in the exports (issue 10): a roster name or unit such as
`=HYPERLINK("http://x","y")` or `=1+1 OPD` must reach the report, payroll and BPJS files as the
text it is, never as a formula Excel runs. In an XLSX every text cell is a string cell (no
<f> in the sheet's XML), one that starts like a formula marked with Excel's quote prefix; in a
CSV a cell that starts with = + - @, a tab or a carriage return starts with a quote. The
numbers we write stay numbers, and the BPJS batch, returned with BPJS's answers, still imports.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from admin.bpjs_import import import_results_file
from admin.export_bpjs import export_bpjs_batch
from admin.export_payroll import export_payroll
from admin.export_report import export_report
from bot.app import App
from storage.models import Asn, DeductionRefund, Enrollment, Unit, Worker
from tests.conftest import make_settings, migrated_app
from tests.support.office_files import csv_rows
from tests.support.report_world import AT, KESEHATAN, SOSIAL, Fixture, seed_reports
from tests.support.shop import NOW

AUGUST = AT.date().replace(month=8)
SEPTEMBER = AUGUST.replace(month=9)  # a1 pays for E1 and E2 in September, b1 and b2 for one
# How openpyxl reads a month or date cell back.
AUGUST_CELL, SEPTEMBER_CELL = datetime(2025, 8, 1), datetime(2025, 9, 1)
NOW_CELL = datetime(2025, 10, 5)
RISKY = ("=", "+", "-", "@", "\t", "\r")
REGION = "=Kabupaten Kendal"
ASN_NAMES = {  # a2 and a10 have the verified enrolments E3 and E11 (the BPJS batch)
    "a2": '=HYPERLINK("http://x","y")', "a10": "@SUM(1+1)", "a1": "-2+3", "b1": "+62 812",
}
UNIT_NAMES = {KESEHATAN: "=1+1 OPD", SOSIAL: "\tDinas Sosial", "Patebon": "\rPatebon"}
WORKERS = {  # name, desa, kecamatan as the worker gave them
    "E3": ("-PEKERJA E3", "=cmd|' /C calc'!A0", "@Patebon"),
    "E11": ("=1+1", "#N/A", "\rPatebon"),
}


@pytest.fixture
async def hostile(sqlite_url: str) -> AsyncIterator[tuple[App, Fixture]]:
    """The report fixture with the names, units and worker data above, written as a roster
    import or an enrolment would have stored them."""
    settings = make_settings(sqlite_url, region_name=REGION)
    async with migrated_app(settings, clock=lambda: NOW) as app:
        fixture = await seed_reports(app)
        async with app.sessions.begin() as session:
            for key, name in ASN_NAMES.items():
                await session.execute(
                    update(Asn).where(Asn.id == fixture.asn[key]).values(name=name))
            for unit, name in UNIT_NAMES.items():
                await session.execute(
                    update(Unit).where(Unit.id == fixture.units[unit]).values(name=name))
            for key, (name, desa, kecamatan) in WORKERS.items():
                enrollment = await session.get(Enrollment, fixture.enrollments[key])
                assert enrollment is not None
                await session.execute(
                    update(Worker).where(Worker.id == enrollment.worker_id)
                    .values(name=name, desa=desa, kecamatan_name=kecamatan))
        yield app, fixture


def assert_no_formula(path: Path) -> list[tuple[object, ...]]:
    """Every cell of every sheet: no formula, text as string cells (the hostile ones with the
    quote prefix); the rows of all sheets for the test to compare."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >/]", archive.read(name)), name
    workbook = load_workbook(path)
    rows = []
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", (cell.coordinate, cell.value)
                        assert cell.quotePrefix or not cell.value.startswith(RISKY), cell.value
                    else:
                        assert not cell.quotePrefix, cell.coordinate
                rows.append(tuple(cell.value for cell in row))
    finally:
        workbook.close()
    return rows


def assert_quoted(rows: list[list[str]]) -> None:
    """No CSV cell starts like a formula unless it is a number we wrote."""
    for cell in (cell for row in rows for cell in row):
        assert not cell.startswith(RISKY) or re.fullmatch(r"-?\d+", cell), repr(cell)


async def assert_imported(app: App, fixture: Fixture, results: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    """BPJS's answers in the returned batch are taken: E3 registered, E11 rejected."""
    code = await import_results_file(app, results)

    assert code == 0, capsys.readouterr().out
    async with app.sessions() as session:
        registered = await session.get(Enrollment, fixture.enrollments["E3"])
        rejected = await session.get(Enrollment, fixture.enrollments["E11"])
    assert registered is not None and rejected is not None
    assert (registered.status, registered.kpj_number) == ("registered", "25012345678")
    assert rejected.status == "rejected"


async def test_the_report_workbook_holds_names_as_text_and_numbers_as_numbers(
        hostile, tmp_path):
    app, _ = hostile
    path = tmp_path / "laporan.xlsx"

    await export_report(app, AUGUST, path)

    rows = assert_no_formula(path)
    assert {REGION, "=1+1 OPD", "\tDinas Sosial"} <= {value for row in rows for value in row}
    workbook = load_workbook(path)
    try:
        patebon = workbook["Kecamatan"]["B2"]  # XML reads a carriage return back as a newline
        assert (patebon.value, patebon.data_type, patebon.quotePrefix) == (
            "\nPatebon", "s", True)
        opd = {row[1].value: row for row in workbook["OPD"].iter_rows(min_row=2)}
        assert [cell.value for cell in opd["=1+1 OPD"]] == [1, "=1+1 OPD", 10, 5, 0.5, 2, 4, 1]
        sosial = opd["\tDinas Sosial"]
        assert [cell.value for cell in sosial] == [1, "\tDinas Sosial", 4, 2, 0.5, 2, 3, -1]
        change = sosial[7]  # Dinas Sosial lost one: a negative number stays a number
        assert (change.value, change.data_type, change.quotePrefix) == (-1, "n", False)
        assert all(sosial[column].data_type == "n" for column in (0, 2, 3, 4, 5, 6))
        summary = workbook["Ringkasan"]
        assert (summary["B2"].value, summary["B5"].value, summary["B5"].data_type) == (
            REGION, 14, "n")
    finally:
        workbook.close()


async def test_the_payroll_list_neutralises_names_and_units_in_both_formats(
        hostile, tmp_path):
    """The deductions, the refunds and the heading above them (the region's name)."""
    app, fixture = hostile
    async with app.sessions.begin() as session:  # a2's refund, handed over in September
        session.add(DeductionRefund(
            enrollment_id=fixture.enrollments["E3"], asn_id=fixture.asn["a2"],
            month=AUGUST, amount=16_800, reason="bpjs_rejected", recorded_at=NOW,
            payroll_month=SEPTEMBER))

    await export_payroll(app, SEPTEMBER, tmp_path / "gaji.xlsx", "bar")
    await export_payroll(app, SEPTEMBER, tmp_path / "gaji.csv", "bar")

    rows = assert_no_formula(tmp_path / "gaji.xlsx")
    assert (fixture.nip["a1"], "-2+3", "=1+1 OPD", 2, 33_600, SEPTEMBER_CELL) in rows
    assert (fixture.nip["b1"], "+62 812", "\tDinas Sosial", 1, 16_800, SEPTEMBER_CELL) in rows
    assert (fixture.nip["a2"], '=HYPERLINK("http://x","y")', "=1+1 OPD",
            fixture.enrollments["E3"], AUGUST_CELL, 16_800, "Pekerja ditolak BPJS",
            NOW_CELL) in rows
    assert any(row[0] == f"{REGION}. Iuran Rp16.800 per pekerja per bulan." for row in rows)
    workbook = load_workbook(tmp_path / "gaji.xlsx")
    try:
        [amount] = [row[4] for row in workbook.active.iter_rows()
                    if row[0].value == fixture.nip["a1"]]
        assert (isinstance(amount.value, int), amount.data_type, amount.number_format) == (
            True, "n", "#,##0")
    finally:
        workbook.close()
    _, *lines = csv_rows(tmp_path / "gaji.csv")
    assert_quoted(lines)
    assert [fixture.nip["a1"], "'-2+3", "'=1+1 OPD", "2", "33600", "09-2025"] in lines
    assert [fixture.nip["b1"], "'+62 812", "'\tDinas Sosial", "1", "16800", "09-2025"] in lines
    assert [fixture.nip["b2"], "ASN B2", "'\tDinas Sosial", "1", "16800", "09-2025"] in lines
    _, *refunds = csv_rows(tmp_path / "gaji-pengembalian.csv")
    assert_quoted(refunds)
    assert [fixture.nip["a2"], '\'=HYPERLINK("http://x","y")', "'=1+1 OPD",
            str(fixture.enrollments["E3"]), "08-2025", "16800", "Pekerja ditolak BPJS",
            "05-10-2025"] in refunds


async def test_the_bpjs_batch_neutralises_and_still_imports_as_csv(hostile, tmp_path, capsys):
    app, fixture = hostile
    path = tmp_path / "bpjs.csv"

    await export_bpjs_batch(app, path, "bar")

    header, *lines = csv_rows(path)
    assert_quoted(lines)
    records = {int(line[0]): dict(zip(header, line, strict=True)) for line in lines}
    e3 = records[fixture.enrollments["E3"]]
    assert (e3["nama_ktp"], e3["alamat_desa"], e3["kecamatan"]) == (
        "'-PEKERJA E3", "'=cmd|' /C calc'!A0", "'@Patebon")
    assert (e3["nama_pembayar"], e3["opd"], e3["nik"], e3["iuran_per_bulan"]) == (
        '\'=HYPERLINK("http://x","y")', "'=1+1 OPD", fixture.nik["E3"], "16800")
    e11 = records[fixture.enrollments["E11"]]
    assert (e11["nama_ktp"], e11["alamat_desa"], e11["kecamatan"], e11["nama_pembayar"]) == (
        "'=1+1", "#N/A", "'\rPatebon", "'@SUM(1+1)")

    # BPJS answers in the same file: E3 by its referensi, E11 by its NIK alone
    answers = {fixture.enrollments["E3"]: ("25012345678", "terdaftar", ""),
               fixture.enrollments["E11"]: ("", "ditolak", "Data NIK tidak sesuai")}
    returned = io.StringIO(newline="")
    writer = csv.writer(returned, delimiter=";")
    writer.writerow(header)
    for line in lines:
        kpj, status, reason = answers[int(line[0])]
        reference = "" if status == "ditolak" else line[0]
        writer.writerow([reference, *line[1:-3], kpj, status, reason])
    results = tmp_path / "hasil.csv"
    results.write_text(returned.getvalue(), encoding="utf-8-sig", newline="")

    await assert_imported(app, fixture, results, capsys)


async def test_the_bpjs_batch_as_a_workbook_neutralises_and_still_imports(hostile, tmp_path,
                                                                         capsys):
    app, fixture = hostile
    path = tmp_path / "bpjs.xlsx"

    await export_bpjs_batch(app, path, "bar")

    header, *rows = assert_no_formula(path)
    records = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    e3 = records[fixture.enrollments["E3"]]
    assert (e3["nama_ktp"], e3["alamat_desa"], e3["nama_pembayar"], e3["opd"]) == (
        "-PEKERJA E3", "=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "=1+1 OPD")
    assert (e3["referensi"], e3["iuran_per_bulan"]) == (fixture.enrollments["E3"], 16_800)
    assert records[fixture.enrollments["E11"]]["alamat_desa"] == "#N/A"  # not an error cell

    workbook = load_workbook(path)  # BPJS fills in its three columns and saves
    sheet = workbook.active
    for row in sheet.iter_rows(min_row=2):
        row[15].value = "25012345678" if row[0].value == fixture.enrollments["E3"] else None
        row[16].value = ("terdaftar" if row[0].value == fixture.enrollments["E3"]
                         else "ditolak")
    results = tmp_path / "hasil.xlsx"
    workbook.save(results)
    workbook.close()

    await assert_imported(app, fixture, results, capsys)
