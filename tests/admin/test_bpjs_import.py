"""`asn-peduli bpjs import`: BPJS's results move verified enrolments to registered or
rejected, tell each ASN in their chat (from which salary month they pay), refuse bad rows
with their line (NIK masked), and a second import of the same file changes nothing. The
months to give back are tests/admin/test_payroll_refunds.py's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from admin.bpjs_import import ResultApplier, import_results_file
from admin.cli import cli
from storage.models import AuditLog, DeductionRefund, Enrollment, OutboxMessage
from tests.conftest import make_settings, migrated_app
from tests.support.cli import point_cli_at
from tests.support.office_files import write_csv
from tests.support.outbox_texts import news
from tests.support.processes import count
from tests.support.report_world import Fixture, seed_reports

NOW = datetime(2025, 10, 6, 2, 0, tzinfo=UTC)
A2_CHAT = "5002"  # a2 linked a Telegram chat; a10 never did


async def enrollment(app, enrollment_id: int) -> Enrollment:
    async with app.sessions() as session:
        found = await session.get(Enrollment, enrollment_id)
        assert found is not None
        return found


def assert_no_full_nik(output: str, fixture: Fixture) -> None:
    for nik in fixture.nik.values():
        assert nik not in output and nik[4:12] not in re.sub(r"\D", "", output)


def good_file(tmp_path: Path, fixture: Fixture) -> Path:
    """E3 registered (named by referensi), E11 rejected (named by NIK), as BPJS returns the
    batch: semicolons, the batch's own columns, one row not answered yet."""
    return write_csv(tmp_path / "hasil.csv", [
        "referensi;nik;nama_ktp;no_kpj;status;alasan",
        f"{fixture.enrollments['E3']};;PEKERJA E3;25012345678;Terdaftar;",
        f";{fixture.nik['E11']};PEKERJA E11;;DITOLAK;Data NIK tidak sesuai Dukcapil",
        f"{fixture.enrollments['E4']};;PEKERJA E4;;;",
    ])


async def test_results_register_and_reject_and_each_asn_is_told(app_any_db, tmp_path, capsys):
    fixture = await seed_reports(app_any_db)
    app_any_db.clock = lambda: NOW

    code = await import_results_file(app_any_db, good_file(tmp_path, fixture))

    out = capsys.readouterr().out
    assert code == 0, out
    assert "3 baris dibaca" in out
    assert "terdaftar: 1, ditolak: 1, sudah tercatat sebelumnya (tidak berubah): 0" in out
    assert "belum ada hasil (status kosong): 1" in out and "baris ditolak: 0" in out
    assert "ASN diberi tahu: 1; 1 ASN belum pernah terhubung ke bot" in out
    registered = await enrollment(app_any_db, fixture.enrollments["E3"])
    assert (registered.status, registered.kpj_number, registered.registered_at) == (
        "registered", "25012345678", NOW)
    rejected = await enrollment(app_any_db, fixture.enrollments["E11"])
    assert (rejected.status, rejected.rejection_reason) == (
        "rejected", "Data NIK tidak sesuai Dukcapil")
    pending = await enrollment(app_any_db, fixture.enrollments["E4"])
    assert pending.status == "submitted"
    [told] = await news(app_any_db, A2_CHAT)
    assert "PEKERJA E3 (NIK 3324••••••••0003) sudah terdaftar di BPJS Ketenagakerjaan" in told
    assert "Nomor KPJ: <b>25012345678</b>" in told
    # registered on 6 October: deducted from November; nothing was listed, nothing goes back
    assert "Iuran dipotong dari gaji Anda mulai gaji bulan November 2025." in told
    assert "Dikembalikan" not in told and "dikembalikan" not in out
    assert await count(app_any_db, DeductionRefund) == 0
    async with app_any_db.sessions() as session:
        logged = {(a.action, a.subject, a.channel): a.details for a in
                  await session.scalars(select(AuditLog))}
    assert logged[("bpjs_registered", f"enrollment:{fixture.enrollments['E3']}", "cli")] == {
        "nik": "3324••••••••0003", "kpj_number": "25012345678"}
    assert logged[("bpjs_rejected", f"enrollment:{fixture.enrollments['E11']}", "cli")] == {
        "nik": "3324••••••••0011", "reason": "Data NIK tidak sesuai Dukcapil"}
    assert_no_full_nik(out + json.dumps(list(logged.values())), fixture)


async def test_the_same_file_again_changes_nothing_and_tells_no_one(app_any_db, tmp_path,
                                                                    capsys):
    fixture = await seed_reports(app_any_db)
    path = good_file(tmp_path, fixture)
    await import_results_file(app_any_db, path)
    capsys.readouterr()
    outbox = await count(app_any_db, OutboxMessage)
    before = await enrollment(app_any_db, fixture.enrollments["E3"])

    code = await import_results_file(app_any_db, path)

    out = capsys.readouterr().out
    assert code == 0
    assert "terdaftar: 0, ditolak: 0, sudah tercatat sebelumnya (tidak berubah): 2" in out
    assert "ASN diberi tahu: 0" in out
    assert await count(app_any_db, OutboxMessage) == outbox
    after = await enrollment(app_any_db, fixture.enrollments["E3"])
    assert after.registered_at == before.registered_at and after.status == "registered"


async def test_bad_rows_are_refused_with_their_line_and_the_good_ones_taken(app_any_db,
                                                                            tmp_path, capsys):
    fixture = await seed_reports(app_any_db)
    unknown_nik = "3324016512900077"
    path = write_csv(tmp_path / "hasil.csv", [
        "NIK,No. KPJ,Status,Keterangan,Referensi",
        f"{fixture.nik['E3']},25012345678,registered,,",                   # 2 taken
        f"{unknown_nik},25012345679,terdaftar,,",                          # 3 unknown NIK
        f"{fixture.nik['E11']},,menunggu,,",                               # 4 bad status
        f"{fixture.nik['E3']},25012345678,terdaftar,,",                    # 5 duplicate of 2
        "3324,25012345670,terdaftar,,",                                   # 6 not a NIK
        f"{fixture.nik['E11']},,terdaftar,,",                              # 7 KPJ missing
        f",25000000004,terdaftar,,{fixture.enrollments['E4']}",            # 8 not verified
        f"{fixture.nik['E2']},25099999999,terdaftar,,",                    # 9 another KPJ
        f"{fixture.nik['E1']},,ditolak,,{fixture.enrollments['E11']}",     # 10 NIK mismatch
        f",,ditolak,,{fixture.enrollments['E11'] + 1000}",                 # 11 no such id
        f"{fixture.nik['E11']},12AB,terdaftar,,",                          # 12 bad KPJ
        '"3,32402E+15",,terdaftar,,',                                     # 13 Excel's NIK
        ",,ditolak,,",                                                    # 14 nothing named
        f"{fixture.nik['E12']},,ditolak,,",                                # 15 registered
    ])
    outbox = await count(app_any_db, OutboxMessage)

    code = await import_results_file(app_any_db, path)

    out = capsys.readouterr().out
    assert code == 1
    assert "13 baris ditolak dan tidak diproses:" in out
    lines = {int(m.group(1)): m.group(2) for m in re.finditer(r"baris (\d+): (.*)", out)}
    assert lines == {
        3: "NIK 3324••••••••0077 tidak ada pada pendaftaran mana pun",
        4: 'status "menunggu" tidak dikenal (gunakan "terdaftar" atau "ditolak")',
        5: "pendaftaran yang sama (NIK 3324••••••••0003) sudah ada di baris 2; hanya baris 2 "
           "yang dipakai",
        6: "NIK •••• bukan NIK 16 angka yang valid",
        7: "status terdaftar tetapi nomor KPJ kosong",
        8: "pendaftaran NIK 3324••••••••0004 belum diverifikasi koordinator OPD, jadi tidak "
           "bisa dijadikan terdaftar",
        9: "pekerja dengan NIK 3324••••••••0002 sudah terdaftar dengan nomor KPJ lain; tidak "
           "diubah",
        10: f"NIK 3324••••••••0001 bukan NIK pekerja pada pendaftaran nomor "
            f"{fixture.enrollments['E11']}",
        11: f"tidak ada pendaftaran bernomor {fixture.enrollments['E11'] + 1000}",
        12: 'nomor KPJ "12AB" harus 8 sampai 20 angka',
        13: "NIK tertulis sebagai angka ilmiah (mis. 3,32401E+15) sehingga digitnya hilang; "
            "jadikan kolom NIK berformat Teks di Excel",
        14: "tidak ada referensi maupun NIK",
        15: "pendaftaran NIK 3324••••••••0012 sudah terdaftar, jadi tidak bisa dijadikan "
            "ditolak",
    }
    assert "terdaftar: 1, ditolak: 0" in out and "baris ditolak: 13" in out
    assert "impor ulang berkas yang sama" in out
    assert_no_full_nik(out, fixture)
    assert (await enrollment(app_any_db, fixture.enrollments["E3"])).status == "registered"
    assert (await enrollment(app_any_db, fixture.enrollments["E11"])).status == "verified"
    assert (await enrollment(app_any_db, fixture.enrollments["E2"])).kpj_number == (
        "25000000002")
    assert await count(app_any_db, OutboxMessage) == outbox + 1


async def test_a_workbook_from_bpjs_with_numbers_and_english_words(app, tmp_path, capsys):
    fixture = await seed_reports(app)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Nomor Referensi", "NIK", "Nomor Peserta", "Hasil", "Reason"])
    sheet.append([fixture.enrollments["E3"], int(fixture.nik["E3"]), 25012345678, "Success",
                  None])
    sheet.append([None, int(fixture.nik["E11"]), None, "Rejected", "Duplicate participant"])
    path = tmp_path / "hasil.xlsx"
    workbook.save(path)

    code = await import_results_file(app, path)

    out = capsys.readouterr().out
    assert code == 0, out
    assert (await enrollment(app, fixture.enrollments["E3"])).kpj_number == "25012345678"
    rejected = await enrollment(app, fixture.enrollments["E11"])
    assert (rejected.status, rejected.rejection_reason) == ("rejected",
                                                            "Duplicate participant")


async def test_a_nik_excel_cut_to_15_digits_gets_a_hint(app, tmp_path, capsys):
    fixture = await seed_reports(app)
    workbook = Workbook()
    workbook.active.append(["nik", "no_kpj", "status"])
    cut = int(fixture.nik["E11"][:15] + "0")  # the 16th digit lost, as Excel does
    workbook.active.append([cut, "25012345678", "terdaftar"])
    path = tmp_path / "hasil.xlsx"
    workbook.save(path)

    code = await import_results_file(app, path)

    out = capsys.readouterr().out
    assert code == 1
    assert "kolom NIK berformat angka: Excel hanya menyimpan 15 digit" in out


async def test_a_failure_half_way_changes_nothing(app, tmp_path, capsys, monkeypatch):
    fixture = await seed_reports(app)
    calls = 0
    original = ResultApplier.apply

    async def fail_second(self, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database gone")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(ResultApplier, "apply", fail_second)
    with pytest.raises(RuntimeError):
        await import_results_file(app, good_file(tmp_path, fixture))

    assert (await enrollment(app, fixture.enrollments["E3"])).status == "verified"
    assert (await enrollment(app, fixture.enrollments["E11"])).status == "verified"
    assert await count(app, OutboxMessage) == 0
    assert await count(app, AuditLog) == 0


@pytest.mark.parametrize(("content", "says"), [
    (b"nama;no_kpj\nSITI;25012345678\n", "tidak memuat kolom: status, referensi / nik"),
    (b"referensi;status\n", "tidak berisi baris hasil"),
    (b"", "tidak berisi baris hasil"),
    (b"PK\x03\x04 not really a workbook", "tidak dapat dibaca sebagai CSV atau XLSX"),
    (b"referensi;status\n\x001;terdaftar\n", "tidak dapat dibaca sebagai CSV atau XLSX"),
])
async def test_an_unusable_file_changes_nothing(app, tmp_path, capsys, content, says):
    await seed_reports(app)
    path = tmp_path / "hasil.csv"
    path.write_bytes(content)

    code = await import_results_file(app, path)

    assert code == 2
    out = capsys.readouterr().out
    assert says in out and "Tidak ada data yang diubah." in out
    assert await count(app, AuditLog) == 0


@pytest.fixture
async def seeded_file(sqlite_url, tmp_path):
    async with migrated_app(make_settings(sqlite_url)) as app:
        fixture = await seed_reports(app)
        yield app.settings, good_file(tmp_path, fixture)


def test_the_command_imports_and_exits_with_the_outcome(seeded_file, tmp_path, monkeypatch):
    settings, path = seeded_file
    point_cli_at(monkeypatch, settings, tmp_path)

    result = CliRunner().invoke(cli, ["bpjs", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "terdaftar: 1, ditolak: 1" in result.output

    bad = write_csv(tmp_path / "buruk.csv", ["referensi;status", "99999;terdaftar"])
    result = CliRunner().invoke(cli, ["bpjs", "import", str(bad)])
    assert result.exit_code == 1 and "baris 2:" in result.output
