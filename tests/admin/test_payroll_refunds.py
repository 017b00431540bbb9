"""Issue 16, point 1: salary taken before cover existed goes back to the ASN.

Lists made before the rule (every submitted enrolment, from the month after the agreement)
deducted workers BPJS had not registered. When BPJS answers, `bpjs import` records the months
to give back: all of them for a worker it refuses, those before the first deducted month for
one it registers. The ASN is told how much for which months; the next payroll list carries
the refunds to the treasurer, once, with a total; the ASN's other worker is still deducted.

The clock is 5 October 2025 10:00 WIB (tests/support/shop.py); September 2025 has the
discounted premium (Rp8.400), the other months Rp16.800.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update

from admin.bpjs_import import import_results_file
from admin.export_payroll import export_payroll
from storage.models import AuditLog, DeductionRefund, Enrollment, OutboxMessage, PayrollEntry
from tests.support.office_files import csv_rows, month, payroll_table, sep, write_csv
from tests.support.outbox_texts import news
from tests.support.processes import count
from tests.support.report_world import KESEHATAN, SOSIAL, Fixture, seed_reports
from tests.support.shop import NOW

A1_CHAT, A2_CHAT = "5001", "5002"  # a10 never linked a chat
# What the former lists took: (enrolment, month, amount). a1's second worker E2 still waits
# for BPJS here; a10's E11 and a2's E3 are verified (tests/support/report_world.py).
LISTED_BEFORE = [
    ("E2", "2025-09", 8_400), ("E2", "2025-10", 16_800),
    ("E11", "2025-08", 16_800), ("E11", "2025-09", 8_400), ("E11", "2025-10", 16_800),
    ("E3", "2025-09", 8_400), ("E3", "2025-10", 16_800),
]


async def listed_by_former_lists(app, fixture: Fixture) -> None:
    """E2 back to verified (BPJS has not answered for it), and the former lists' months."""
    async with app.sessions.begin() as session:
        await session.execute(update(Enrollment)
                              .where(Enrollment.id == fixture.enrollments["E2"])
                              .values(status="verified", kpj_number=None, registered_at=None))
        for key, taken, amount in LISTED_BEFORE:
            enrollment = await session.get(Enrollment, fixture.enrollments[key])
            assert enrollment is not None
            session.add(PayrollEntry(
                enrollment_id=enrollment.id, asn_id=enrollment.asn_id, month=month(taken),
                amount=amount, listed_at=datetime(2025, 7, 20, tzinfo=NOW.tzinfo)))


def answers(tmp_path: Path, fixture: Fixture) -> Path:
    """BPJS refuses E2 and E11, registers E3."""
    return write_csv(tmp_path / "hasil.csv", [
        "referensi;nik;no_kpj;status;alasan",
        f"{fixture.enrollments['E2']};;;ditolak;Sudah terdaftar sebagai peserta lain",
        f";{fixture.nik['E11']};;ditolak;Data NIK tidak sesuai Dukcapil",
        f"{fixture.enrollments['E3']};;25012345678;terdaftar;",
    ])


async def refunds(app) -> list[tuple]:
    async with app.sessions() as session:
        rows = await session.execute(
            select(DeductionRefund.enrollment_id, DeductionRefund.month,
                   DeductionRefund.amount, DeductionRefund.reason,
                   DeductionRefund.recorded_at, DeductionRefund.payroll_month,
                   DeductionRefund.refunded_at)
            .order_by(DeductionRefund.enrollment_id, DeductionRefund.month))
        return [tuple(row) for row in rows]


async def test_bpjs_answers_record_the_months_to_give_back_and_tell_each_asn(
        shop, tmp_path, capsys):
    fixture = await seed_reports(shop)
    await listed_by_former_lists(shop, fixture)

    code = await import_results_file(shop, answers(tmp_path, fixture))

    out = capsys.readouterr().out
    assert code == 0, out
    assert ("Potongan gaji yang dikembalikan: 7 bulan dari 3 pendaftaran, total Rp92.400. "
            "Pengembalian ini tercantum pada daftar potongan gaji berikutnya") in out
    e2, e3, e11 = (fixture.enrollments[key] for key in ("E2", "E3", "E11"))
    rejected, before_cover = "bpjs_rejected", "before_registration"
    assert sorted(await refunds(shop)) == sorted([
        (e2, month("2025-09"), 8_400, rejected, NOW, None, None),
        (e2, month("2025-10"), 16_800, rejected, NOW, None, None),
        (e11, month("2025-08"), 16_800, rejected, NOW, None, None),
        (e11, month("2025-09"), 8_400, rejected, NOW, None, None),
        (e11, month("2025-10"), 16_800, rejected, NOW, None, None),
        (e3, month("2025-09"), 8_400, before_cover, NOW, None, None),
        (e3, month("2025-10"), 16_800, before_cover, NOW, None, None),
    ])
    [to_a1] = await news(shop, A1_CHAT)
    assert "pendaftaran PEKERJA E2 (NIK 3324••••••••0002) ditolak" in to_a1
    assert "Gaji Anda tidak dipotong lagi untuk pekerja ini." in to_a1
    assert ("<b>Dikembalikan kepada Anda: Rp25.200</b>, potongan gaji bulan September 2025 "
            "sampai Oktober 2025 (2 bulan).") in to_a1
    assert "daftar gaji berikutnya untuk bendahara gaji" in to_a1
    [to_a2] = await news(shop, A2_CHAT)
    assert "PEKERJA E3 (NIK 3324••••••••0003) sudah terdaftar" in to_a2
    assert "Iuran dipotong dari gaji Anda mulai gaji bulan November 2025." in to_a2
    assert "Potongan sebelum PEKERJA E3 terdaftar tidak membayar perlindungan" in to_a2
    assert ("<b>Dikembalikan kepada Anda: Rp25.200</b>, potongan gaji bulan September 2025 "
            "sampai Oktober 2025 (2 bulan).") in to_a2
    async with shop.sessions() as session:
        logged = {audit.subject: audit.details for audit in await session.scalars(
            select(AuditLog).where(AuditLog.action == "deduction_refund_recorded"))}
    assert logged == {
        f"enrollment:{e2}": {"reason": rejected, "months": ["2025-09", "2025-10"],
                             "total": 25_200, "asn_id": fixture.asn["a1"]},
        f"enrollment:{e11}": {"reason": rejected,
                              "months": ["2025-08", "2025-09", "2025-10"],
                              "total": 42_000, "asn_id": fixture.asn["a10"]},
        f"enrollment:{e3}": {"reason": before_cover, "months": ["2025-09", "2025-10"],
                             "total": 25_200, "asn_id": fixture.asn["a2"]},
    }

    # the same answers again: nothing more to give back, nobody told twice
    outbox = await count(shop, OutboxMessage)
    assert await import_results_file(shop, answers(tmp_path, fixture)) == 0
    assert "dikembalikan" not in capsys.readouterr().out
    assert len(await refunds(shop)) == 7 and await count(shop, OutboxMessage) == outbox


async def test_the_next_list_carries_the_refunds_once_and_keeps_the_other_worker(
        shop, tmp_path, capsys):
    fixture = await seed_reports(shop)
    await listed_by_former_lists(shop, fixture)
    await import_results_file(shop, answers(tmp_path, fixture))

    # October's salaries are paid (the 1st): its list, run now, gives nothing back
    october = await export_payroll(shop, month("2025-10"), tmp_path / "oct.xlsx", "bar")
    november = await export_payroll(shop, month("2025-11"), tmp_path / "nov.xlsx", "bar")
    again = await export_payroll(shop, month("2025-11"), tmp_path / "nov.csv", "bar")
    december = await export_payroll(shop, month("2025-12"), tmp_path / "dec.csv", "bar")

    assert (october.refunds, december.refunds) == (0, 0)
    assert payroll_table(tmp_path / "oct.xlsx", "Pengembalian 2025-10")[2] == []
    assert not (tmp_path / "dec-pengembalian.csv").exists()
    # a1 still pays for E1, no longer for E2; a2 pays for E3 from November
    _, _, rows, total = payroll_table(tmp_path / "nov.xlsx", "Potongan 2025-11")
    assert rows == [
        (fixture.nip["a1"], "ASN A1", KESEHATAN, 1, 16_800, sep(11)),
        (fixture.nip["a2"], "ASN A2", KESEHATAN, 1, 16_800, sep(11)),
        (fixture.nip["b1"], "ASN B1", SOSIAL, 1, 16_800, sep(11)),
        (fixture.nip["b2"], "ASN B2", SOSIAL, 1, 16_800, sep(11)),
    ]
    assert total == ("TOTAL", None, None, 4, 67_200, sep(11))
    heading, _, rows, total = payroll_table(tmp_path / "nov.xlsx", "Pengembalian 2025-11")
    assert heading[0] == ("Pengembalian potongan gaji kepada ASN, bersama gaji bulan "
                          "November 2025")
    assert heading[1].startswith("Kabupaten Kendal. Potongan bulan-bulan ini sudah diambil")
    e2, e3, e11 = (fixture.enrollments[key] for key in ("E2", "E3", "E11"))
    rejected, before_cover = "Pekerja ditolak BPJS", "Dipotong sebelum pekerja terdaftar BPJS"
    recorded = datetime(2025, 10, 5)
    assert rows == [  # by OPD, then ASN name ("ASN A1" < "ASN A10" < "ASN A2"), then month
        (fixture.nip["a1"], "ASN A1", KESEHATAN, e2, sep(9), 8_400, rejected, recorded),
        (fixture.nip["a1"], "ASN A1", KESEHATAN, e2, sep(10), 16_800, rejected, recorded),
        (fixture.nip["a10"], "ASN A10", KESEHATAN, e11, sep(8), 16_800, rejected, recorded),
        (fixture.nip["a10"], "ASN A10", KESEHATAN, e11, sep(9), 8_400, rejected, recorded),
        (fixture.nip["a10"], "ASN A10", KESEHATAN, e11, sep(10), 16_800, rejected, recorded),
        (fixture.nip["a2"], "ASN A2", KESEHATAN, e3, sep(9), 8_400, before_cover, recorded),
        (fixture.nip["a2"], "ASN A2", KESEHATAN, e3, sep(10), 16_800, before_cover, recorded),
    ]
    assert total == ("TOTAL", None, None, None, None, 92_400, None, None)
    assert (november.refunds, november.refund_asn, november.refund_total) == (7, 3, 92_400)
    # run again, the same month shows the same refunds, now as a second CSV
    assert (again.refunds, again.refund_total, again.refund_path) == (
        7, 92_400, tmp_path / "nov-pengembalian.csv")
    *_, csv_total = csv_rows(tmp_path / "nov-pengembalian.csv")
    assert csv_total == ["TOTAL", "", "", "", "", "92400", "", ""]
    assert {row[5] for row in await refunds(shop)} == {month("2025-11")}
    async with shop.sessions() as session:
        audits = list(await session.scalars(
            select(AuditLog).where(AuditLog.action == "export_payroll").order_by(AuditLog.id)))
    assert [(a.subject, a.details["refunds"], a.details["refund_total"]) for a in audits] == [
        ("month:2025-10", 0, 0), ("month:2025-11", 7, 92_400), ("month:2025-11", 7, 92_400),
        ("month:2025-12", 0, 0)]
