"""The admin's exports: the monthly report workbook holds unit_progress's numbers, the payroll
list follows the dated premium schedule and stop months, the BPJS batch carries the full NIK
in an owner-only file, and the commands say what they wrote."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from admin.export_bpjs import COLUMNS as BATCH_COLUMNS
from admin.export_bpjs import export_bpjs_batch
from admin.export_payroll import export_payroll
from admin.export_report import export_report
from storage.models import (
    AuditLog,
    DeductionAgreement,
    DeductionRefund,
    Enrollment,
    PayrollEntry,
)
from storage.reports import unit_progress
from tests.support.cli import point_cli_at, run
from tests.support.office_files import csv_rows, month, payroll_table, sep, sheet_rows
from tests.support.report_world import AT, KESEHATAN, SATPOL, SOSIAL, seed_reports
from tests.support.shop import NOW, SCHEDULE

AUGUST = AT.date().replace(month=8)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def audits(app, action: str) -> list[AuditLog]:
    async with app.sessions() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


# --- the monthly report ---------------------------------------------------------------------

async def test_the_report_workbook_holds_the_numbers_of_unit_progress(app_any_db, tmp_path):
    await seed_reports(app_any_db)
    app_any_db.clock = lambda: NOW
    path = tmp_path / "laporan-2025-08.xlsx"

    report = await export_report(app_any_db, AUGUST, path)

    assert report.at == AT
    async with app_any_db.sessions() as session:
        opd = await unit_progress(session, "opd", AT)
        kecamatan = await unit_progress(session, "kecamatan", AT)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Ringkasan", "OPD", "Kecamatan"]
    for title, progress in (("OPD", opd), ("Kecamatan", kecamatan)):
        sheet = workbook[title]
        header = [cell.value for cell in sheet[1]]
        assert header == ["Peringkat", title, "Jumlah ASN", "ASN ikut", "Partisipasi",
                          "Pekerja terdaftar BPJS", "ASN ikut bulan lalu", "Perubahan"]
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.column_dimensions["B"].width >= 40
        rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert rows == [
            [p.rank, p.unit_name, p.asn_total, p.asn_participating,
             pytest.approx(p.percent / 100), p.workers_protected, p.participating_month_ago,
             p.change]
            for p in progress
        ]
        assert sheet["E2"].number_format == "0.0%"
        assert all(isinstance(value, int) for row in rows for value in (row[2], row[3]))
    workbook.close()

    # and by hand, as tests/support/report_world.py counted them
    assert sheet_rows(path, "OPD")[1:] == [
        (1, KESEHATAN, 10, 5, 0.5, 2, 4, 1),
        (1, SOSIAL, 4, 2, 0.5, 2, 3, -1),
        (3, SATPOL, 0, 0, 0, 0, 0, 0),
    ]
    summary = dict(sheet_rows(path, "Ringkasan")[1:])
    assert summary["Wilayah"] == "Kabupaten Kendal"
    assert summary["Bulan laporan"] == "Agustus 2025"
    assert summary["Keadaan per"] == "1 September 2025 00.00 WIB"
    assert summary["Jumlah ASN"] == 14
    assert summary["ASN ikut melindungi pekerja rentan"] == 7
    assert summary["Partisipasi"] == 0.5 and summary["Target"] == 0.2
    assert summary["Pekerja terdaftar BPJS"] == 4
    assert summary["Perubahan sejak sebulan sebelumnya"] == 0
    assert summary["OPD mencapai target"] == 2
    assert summary["OPD 100%"] == "Belum ada OPD yang 100%"  # words, not "-"
    assert summary["Sifat angka"] == "Tetap: dicatat 5 Oktober 2025 10.00 WIB"
    assert summary["ASN tanpa data kecamatan"] == 3
    assert mode(path) & 0o077 != 0  # no personal data: an ordinary file

    [audit] = await audits(app_any_db, "export_report")
    assert (audit.channel, audit.subject, audit.details["count"]) == ("cli", "month:2025-08", 6)


async def test_the_current_month_is_reported_as_of_now(app, tmp_path):
    await seed_reports(app)
    app.clock = lambda: datetime(2025, 9, 1, 2, 0, tzinfo=UTC)  # 09:00 WIB on 1 September

    report = await export_report(app, month("2025-09"), tmp_path / "now.xlsx")

    assert report.at == app.clock()
    assert report.totals.asn_participating == 8  # a8's enrolment at 00:30 WIB counts now


# --- the payroll-deduction list -------------------------------------------------------------

# Only workers BPJS registered before the month began; the regular premium in August.
PAYROLL_AUGUST = [
    ("198503152010011001", "ASN A1", KESEHATAN, 1, 16_800, sep(8)),  # E1 (E2 from Sep)
    ("198503152010011006", "ASN A6", KESEHATAN, 1, 16_800, sep(8)),  # stops from September
    ("198503152010011011", "ASN B1", SOSIAL, 1, 16_800, sep(8)),
    ("198503152010011012", "ASN B2", SOSIAL, 1, 16_800, sep(8)),  # registered 25 July
    ("198503152010011013", "ASN B3", SOSIAL, 1, 16_800, sep(8)),  # stops from September
]
PAYROLL_SEPTEMBER = [  # the discounted premium (Rp8.400); A1 pays for E1 and E2
    ("198503152010011001", "ASN A1", KESEHATAN, 2, 16_800, sep(9)),
    ("198503152010011011", "ASN B1", SOSIAL, 1, 8_400, sep(9)),
    ("198503152010011012", "ASN B2", SOSIAL, 1, 8_400, sep(9)),
]
# Submitted or verified, waiting since July (A3's E4, A10's E11) or August (A2's E3), or
# submitted at the end of August (A8, A9): never on a list until BPJS registers the worker.
WAITING = {"198503152010011002", "198503152010011003", "198503152010011008",
           "198503152010011009", "198503152010011010"}


async def test_payroll_deducts_registered_workers_only_from_the_month_after(shop, tmp_path):
    await seed_reports(shop)

    august = await export_payroll(shop, month("2025-08"), tmp_path / "aug.xlsx", "bar")
    september = await export_payroll(shop, month("2025-09"), tmp_path / "sep.xlsx", "bar")
    october = await export_payroll(shop, month("2025-10"), tmp_path / "oct.csv", "bar")

    heading, header, rows, total = payroll_table(tmp_path / "aug.xlsx", "Potongan 2025-08")
    assert heading[:2] == [
        "Daftar potongan gaji untuk iuran BPJS Ketenagakerjaan (JKK + JKM): gaji bulan "
        "Agustus 2025", "Kabupaten Kendal. Iuran Rp16.800 per pekerja per bulan."]
    assert "sudah terdaftar di BPJS Ketenagakerjaan (sudah bernomor KPJ) sebelum bulan " \
        "ini dimulai" in heading[2]
    assert heading[3] == ("Dibuat 5 Oktober 2025 10.00 WIB. Tidak ada pengembalian potongan "
                          "pada daftar ini.")
    assert header == ("NIP", "Nama", "Unit kerja", "Jumlah pekerja", "Potongan (Rp)",
                      "Bulan gaji")
    assert rows == PAYROLL_AUGUST
    assert total == ("TOTAL", None, None, 5, 84_000, sep(8))
    assert (august.asn, august.workers, august.total, august.premium) == (5, 5, 84_000,
                                                                          16_800)
    _, _, rows, total = payroll_table(tmp_path / "sep.xlsx", "Potongan 2025-09")
    assert rows == PAYROLL_SEPTEMBER and total == ("TOTAL", None, None, 4, 33_600, sep(9))
    assert (september.asn, september.workers, september.total, september.premium) == (
        3, 4, 33_600, 8_400)
    header, *rows, total = csv_rows(tmp_path / "oct.csv")
    assert header == ["NIP", "Nama", "Unit kerja", "Jumlah pekerja", "Potongan (Rp)",
                      "Bulan gaji"]
    assert rows == [["198503152010011001", "ASN A1", KESEHATAN, "2", "33600", "10-2025"],
                    ["198503152010011011", "ASN B1", SOSIAL, "1", "16800", "10-2025"],
                    ["198503152010011012", "ASN B2", SOSIAL, "1", "16800", "10-2025"]]
    assert total == ["TOTAL", "", "", "4", "67200", "10-2025"]
    assert (october.asn, october.workers, october.total, october.refund_path) == (
        3, 4, 67_200, None)
    assert not (tmp_path / "oct-pengembalian.csv").exists()  # no refunds: no second file
    listed = {row[0] for row in [*PAYROLL_AUGUST, *PAYROLL_SEPTEMBER, *rows]}
    assert not WAITING & listed
    workbook = load_workbook(tmp_path / "aug.xlsx")
    sheet = workbook["Potongan 2025-08"]
    assert sheet.freeze_panes == "A7"  # below the header, under four lines and a gap
    assert sheet.auto_filter.ref == "A6:F11"  # the rows, not the total under them
    assert sheet["A1"].font.b and sheet["A6"].font.b and sheet["E12"].font.b
    assert sheet["E7"].number_format == "#,##0" and isinstance(sheet["E7"].value, int)
    assert sheet["F7"].number_format == "MM-YYYY"
    assert isinstance(sheet["A7"].value, str)  # the NIP stays text, all 18 digits
    assert workbook.sheetnames == ["Potongan 2025-08", "Pengembalian 2025-08"]
    workbook.close()
    logged = await audits(shop, "export_payroll")
    assert [(a.subject, a.details["count"], a.details["total"], a.details["refunds"])
            for a in logged] == [("month:2025-08", 5, 84_000, 0),
                                 ("month:2025-09", 3, 33_600, 0),
                                 ("month:2025-10", 3, 67_200, 0)]


async def entries(app, month_text: str) -> list[tuple[int, int, datetime]]:
    """What the lists recorded for a month: (enrolment, amount, listed at)."""
    async with app.sessions() as session:
        rows = await session.execute(
            select(PayrollEntry.enrollment_id, PayrollEntry.amount, PayrollEntry.listed_at)
            .where(PayrollEntry.month == month(month_text)).order_by(PayrollEntry.enrollment_id))
        return [tuple(row) for row in rows]


async def test_a_month_run_twice_lists_the_same_and_adds_only_what_is_new(shop, tmp_path):
    fixture = await seed_reports(shop)
    first = await export_payroll(shop, month("2025-11"), tmp_path / "nov.csv", "bar")
    listed = await entries(shop, "2025-11")
    assert listed == [(fixture.enrollments[key], 16_800, NOW) for key in ("E1", "E2", "E12",
                                                                          "E13")]

    again = await export_payroll(shop, month("2025-11"), tmp_path / "nov-2.csv", "bar")

    assert csv_rows(tmp_path / "nov.csv") == csv_rows(tmp_path / "nov-2.csv")
    assert (again.asn, again.total) == (first.asn, first.total) == (3, 67_200)
    assert await entries(shop, "2025-11") == listed  # nothing recorded twice

    # BPJS registers A2's worker on 6 October: a run after that adds A2, keeps the others
    later = NOW.replace(day=6)
    async with shop.sessions.begin() as session:
        await session.execute(update(Enrollment)
                              .where(Enrollment.id == fixture.enrollments["E3"])
                              .values(status="registered", kpj_number="25012345678",
                                      registered_at=later))
    shop.clock = lambda: later
    third = await export_payroll(shop, month("2025-11"), tmp_path / "nov-3.csv", "bar")

    assert (third.asn, third.workers, third.total) == (4, 5, 84_000)
    assert ["198503152010011002", "ASN A2", KESEHATAN, "1", "16800", "11-2025"] in csv_rows(
        tmp_path / "nov-3.csv")
    assert await entries(shop, "2025-11") == sorted(
        [*listed, (fixture.enrollments["E3"], 16_800, later)])
    # registered in October: not on October's list, run now
    await export_payroll(shop, month("2025-10"), tmp_path / "oct.csv", "bar")
    assert "198503152010011002" not in {row[0] for row in csv_rows(tmp_path / "oct.csv")}


async def test_an_export_replaces_the_file_whole_or_not_at_all(shop, tmp_path, monkeypatch):
    await seed_reports(shop)
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "aug.csv"
    path.write_text("old")

    async def failing(*_args: object) -> AsyncIterator[object]:
        raise RuntimeError("disk gone")
        yield  # an async generator, like the real one

    monkeypatch.setattr("admin.export_payroll.payroll_rows", failing)
    with pytest.raises(RuntimeError):
        await export_payroll(shop, month("2025-08"), path, "bar")

    assert path.read_text() == "old"
    assert [p.name for p in folder.iterdir()] == ["aug.csv"]  # no temporary left behind
    assert await audits(shop, "export_payroll") == []
    assert await entries(shop, "2025-08") == []  # nothing recorded as listed either


# --- the BPJS registration batch ------------------------------------------------------------

async def test_the_bpjs_batch_has_the_full_nik_in_an_owner_only_file(app_any_db, tmp_path):
    fixture = await seed_reports(app_any_db)
    path = tmp_path / "bpjs.csv"

    done = await export_bpjs_batch(app_any_db, path, "bar")

    assert mode(path) == 0o600
    header, *rows = csv_rows(path)
    assert header == [column.header for column in BATCH_COLUMNS]
    assert done.rows == 2 == len(rows)  # the verified enrolments E3 and E11
    first = dict(zip(header, rows[0], strict=True))
    assert first == {
        "referensi": str(fixture.enrollments["E3"]), "nik": fixture.nik["E3"],
        "nama_ktp": "PEKERJA E3", "jenis_kelamin": "P", "tanggal_lahir": "17-08-1980",
        "no_hp": "", "alamat_desa": "Kumpulrejo", "kecamatan": "Patebon",
        "pekerjaan": "Pedagang kecil", "program": "JKK+JKM", "iuran_per_bulan": "16800",
        "bulan_mulai": "09-2025", "nip_pembayar": fixture.nip["a2"],
        "nama_pembayar": "ASN A2", "opd": KESEHATAN, "no_kpj": "", "status": "",
        "alasan": "",
    }
    second = dict(zip(header, rows[1], strict=True))
    assert second["nik"] == fixture.nik["E11"] and second["no_hp"] == "085700000011"
    [audit] = await audits(app_any_db, "export_bpjs_batch")
    assert audit.details == {"count": 2, "format": "csv", "full_nik": True}
    assert fixture.nik["E3"] not in json.dumps(audit.details)


async def test_the_batch_premium_is_the_workers_own_not_the_asns_total(app, tmp_path):
    fixture = await seed_reports(app)
    async with app.sessions.begin() as session:  # as when E3 was the ASN's second worker
        await session.execute(
            update(DeductionAgreement)
            .where(DeductionAgreement.enrollment_id == fixture.enrollments["E3"])
            .values(monthly_total=33_600)
        )
    path = tmp_path / "bpjs.csv"

    await export_bpjs_batch(app, path, "bar")

    header, *rows = csv_rows(path)
    first = dict(zip(header, rows[0], strict=True))
    assert first["referensi"] == str(fixture.enrollments["E3"])
    assert first["iuran_per_bulan"] == "16800"


async def test_the_bpjs_batch_as_a_workbook(app, tmp_path):
    fixture = await seed_reports(app)
    path = tmp_path / "bpjs.xlsx"

    await export_bpjs_batch(app, path, "bar")

    assert mode(path) == 0o600
    header, *rows = sheet_rows(path, "Pendaftaran BPU")
    record = dict(zip(header, rows[1], strict=True))
    assert record["nik"] == fixture.nik["E11"] and isinstance(record["nik"], str)
    assert record["referensi"] == fixture.enrollments["E11"]
    assert record["tanggal_lahir"].date() == datetime(1980, 8, 17).date()
    assert record["iuran_per_bulan"] == 16_800


# --- through the command line ---------------------------------------------------------------

@pytest.fixture
def cli_env(shop, tmp_path, monkeypatch):
    """The command line pointed at the `shop` database, from a folder with no .env."""
    folder = tmp_path / "work"
    folder.mkdir()
    point_cli_at(monkeypatch, shop.settings, folder, PREMIUM_SCHEDULE=json.dumps(
        [row.model_dump(mode="json") for row in SCHEDULE]))
    return folder


@pytest.fixture
async def seeded_shop(shop):
    """The report fixture, and two months of A10's to give back on September's list."""
    fixture = await seed_reports(shop)
    async with shop.sessions.begin() as session:
        session.add_all([DeductionRefund(
            enrollment_id=fixture.enrollments["E11"], asn_id=fixture.asn["a10"], month=taken,
            amount=16_800, reason="bpjs_rejected", recorded_at=NOW - timedelta(days=40),
            payroll_month=month("2025-09")) for taken in (month("2025-07"), month("2025-08"))])
    return fixture


def test_the_commands_write_what_they_say(seeded_shop, cli_env):
    code, out = run("export", "report", "--month", "2025-08", "--out", "laporan.xlsx")
    assert code == 0, out
    assert "Laporan bulan Agustus 2025 ditulis ke laporan.xlsx" in out
    assert "7 dari 14 ASN ikut (50%), target 20%; 4 pekerja terdaftar BPJS." in out
    assert sheet_rows(cli_env / "laporan.xlsx", "OPD")[1][:4] == (1, KESEHATAN, 10, 5)

    code, out = run("export", "payroll", "--month", "2025-09", "--out", "gaji.csv")
    assert code == 0, out
    assert "3 ASN, 4 pekerja, iuran Rp8.400 per pekerja, total Rp33.600." in out
    assert "Hanya pekerja yang sudah terdaftar di BPJS (bernomor KPJ) sebelum " \
        "September 2025 yang dipotong." in out
    assert ("Pengembalian kepada 1 ASN: 2 bulan potongan, total Rp33.600, ditulis ke "
            f"{Path('gaji-pengembalian.csv')}.") in out
    assert "titik koma" in out and "bertanda TOTAL pada kolom NIP" in out
    assert len(csv_rows(cli_env / "gaji.csv")) == 5  # header, 3 ASN, TOTAL
    header, *refunds, total = csv_rows(cli_env / "gaji-pengembalian.csv")
    assert header == ["NIP", "Nama", "Unit kerja", "Referensi pendaftaran",
                      "Bulan gaji dipotong", "Dikembalikan (Rp)", "Alasan", "Dicatat"]
    assert refunds == [
        [seeded_shop.nip["a10"], "ASN A10", KESEHATAN, str(seeded_shop.enrollments["E11"]),
         taken, "16800", "Pekerja ditolak BPJS", "26-08-2025"] for taken in ("07-2025",
                                                                            "08-2025")]
    assert total == ["TOTAL", "", "", "", "", "33600", "", ""]

    code, out = run("export", "payroll", "--month", "2025-09", "--out", "gaji.xlsx")
    assert code == 0, out
    assert 'total Rp33.600, pada lembar "Pengembalian".' in out
    heading, _, rows, total = payroll_table(cli_env / "gaji.xlsx", "Pengembalian 2025-09")
    assert heading[0] == ("Pengembalian potongan gaji kepada ASN, bersama gaji bulan "
                          "September 2025")
    assert [row[4:7] for row in rows] == [
        (sep(7), 16_800, "Pekerja ditolak BPJS"), (sep(8), 16_800, "Pekerja ditolak BPJS")]
    assert total[5] == 33_600
    heading, *_ = payroll_table(cli_env / "gaji.xlsx", "Potongan 2025-09")
    assert heading[3].endswith('Ada pengembalian potongan: lihat lembar "Pengembalian 2025-09".')

    code, out = run("export", "bpjs-batch", "--out", "bpjs.csv")
    assert code == 0, out
    assert "2 pendaftaran terverifikasi" in out
    assert "NIK, tanggal lahir dan nomor HP pekerja SECARA LENGKAP" in out and "0600" in out
    assert mode(cli_env / "bpjs.csv") == 0o600
    assert seeded_shop.nik["E3"] not in out


def test_the_commands_refuse_what_they_cannot_write(seeded_shop, cli_env):
    code, out = run("export", "report", "--month", "2025-8x", "--out", "x.xlsx")
    assert code == 2 and "Bulan \"2025-8x\" tidak dikenal" in out and "2025-09" in out

    code, out = run("export", "report", "--month", "2025-08", "--out", "laporan.csv")
    assert code == 2 and "harus berakhiran .xlsx" in out

    code, out = run("export", "payroll", "--month", "2025-08", "--out", "gaji.pdf")
    assert code == 2 and "harus berakhiran .xlsx atau .csv" in out

    code, out = run("export", "report", "--month", "2999-01", "--out", "laporan.xlsx")
    assert code == 2 and "Januari 2999 belum dimulai" in out

    code, out = run("export", "payroll", "--month", "2021-12", "--out", "gaji.xlsx")
    assert code == 2 and "tidak punya tarif yang berlaku pada Desember 2021" in out

    code, out = run("export", "bpjs-batch", "--out", "tidak-ada/bpjs.csv")
    assert code == 2 and "Folder tidak-ada tidak ada" in out

    assert list(cli_env.iterdir()) == []
