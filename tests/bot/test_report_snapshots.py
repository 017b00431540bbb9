"""A closed month's report is taken once and kept: later activity (a rejection, an ASN who
moves OPD, new ASN on the roster) no longer changes it, whoever reports it again. The
running month is counted live and says so.

Built on the hand-counted report world of tests/support/report_world.py (August 2025: Dinas
Kesehatan 5 of 10, Dinas Sosial 2 of 4, 7 of 14 in all)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from admin.export_report import export_report
from bot.app import App
from bot.scheduler import Scheduler
from flows.time_zone import JAKARTA
from storage.models import Asn, Enrollment, ReportSnapshot, ReportSnapshotUnit, Unit
from storage.report_snapshots import (
    EXPORT,
    MONTH_END,
    REPORT_DAY,
    _take,
    ensure_snapshot,
    kept_report,
    monthly_report,
)
from storage.reports import unit_progress_all
from tests.support.report_world import AT, KESEHATAN, SOSIAL, Fixture, as_rows, seed_reports

AUGUST = date(2025, 8, 1)
SEPTEMBER_5 = datetime(2025, 9, 5, 3, 0, tzinfo=UTC)  # 10:00 WIB
OCTOBER_5 = datetime(2025, 10, 5, 3, 0, tzinfo=UTC)


async def later_activity(app: App, fixture: Fixture) -> None:
    """What September brings that a recount of August would see: a4's enrolment submitted
    in July is rejected, a1 moves to Dinas Sosial, and two new ASN join the roster."""
    async with app.sessions.begin() as session:
        await session.execute(update(Enrollment)
                              .where(Enrollment.id == fixture.enrollments["E4"])
                              .values(status="rejected"))
        await session.execute(update(Asn).where(Asn.id == fixture.asn["a1"])
                              .values(unit_id=fixture.units[SOSIAL]))
        for index in (1, 2):
            session.add(Asn(nip=f"19900101201501{index:04d}", name=f"Baru {index}",
                            unit_id=fixture.units[KESEHATAN], phone=f"+6281399900{index:03d}",
                            updated_at=SEPTEMBER_5))


async def test_a_closed_month_reads_the_same_after_later_activity(app_any_db):
    fixture = await seed_reports(app_any_db)
    async with app_any_db.sessions.begin() as session:
        first = await monthly_report(session, AUGUST, SEPTEMBER_5, 20.0, REPORT_DAY)
    await later_activity(app_any_db, fixture)

    async with app_any_db.sessions.begin() as session:
        again = await monthly_report(session, AUGUST, OCTOBER_5, 25.0, EXPORT)
        recount = await unit_progress_all(session, AT)

    assert (first.live, first.at, first.taken_at, first.target_percent) == (
        False, AT, SEPTEMBER_5, 20.0)
    assert as_rows(first.opd)[:2] == [(KESEHATAN, 10, 5, 4, 1, 2, 1, 3),
                                      (SOSIAL, 4, 2, 3, -1, 2, 1, 3)]
    # Kept as taken: the same lines, order, ranks, target and moment, whoever asks later.
    assert again == first
    assert [unit.unit_name for unit in again.kecamatan] == ["Patebon", "Kendal", "Kaliwungu"]
    # ... where counting August again today would tell another story (the 93 → 92).
    assert as_rows(recount["opd"])[:2] != as_rows(first.opd)[:2]
    async with app_any_db.sessions() as session:
        header = await session.get(ReportSnapshot, AUGUST)
        lines = await session.scalar(select(func.count()).select_from(ReportSnapshotUnit))
    assert header is not None and header.taken_by == REPORT_DAY
    assert lines == 6  # three OPD and three kecamatan


async def test_the_running_month_is_live_and_kept_nowhere(app):
    await seed_reports(app)
    moment = datetime(2025, 9, 1, 2, 0, tzinfo=UTC)  # 09:00 WIB, September running

    async with app.sessions.begin() as session:
        report = await monthly_report(session, date(2025, 9, 1), moment, 20.0, EXPORT)
        kept = await kept_report(session, date(2025, 9, 1))

    assert report.live and report.at == moment and report.taken_at is None
    assert kept is None


async def test_a_snapshot_is_taken_once_and_a_second_taker_gets_the_first_version(app_any_db):
    """Two takers of one month (a push and an export, or two schedulers on PostgreSQL):
    the first one's rows are the month's; the second counts, loses the INSERT and reads
    them back."""
    fixture = await seed_reports(app_any_db)
    async with app_any_db.sessions.begin() as session:
        assert await ensure_snapshot(session, AUGUST, SEPTEMBER_5, 20.0, MONTH_END)
    await later_activity(app_any_db, fixture)
    async with app_any_db.sessions.begin() as session:
        assert not await ensure_snapshot(session, AUGUST, OCTOBER_5, 20.0, MONTH_END)
        # The race itself: a taker that did not see the kept month before counting.
        report, took = await _take(session, AUGUST, OCTOBER_5, 30.0, EXPORT)

    assert not took
    assert (report.taken_at, report.target_percent) == (SEPTEMBER_5, 20.0)
    assert as_rows(report.opd)[0] == (KESEHATAN, 10, 5, 4, 1, 2, 1, 3)
    async with app_any_db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReportSnapshot)) == 1


async def test_the_scheduler_keeps_the_month_at_its_end_even_in_the_quiet_hours(app):
    fixture = await seed_reports(app)
    just_after = datetime(2025, 9, 1, 0, 1, tzinfo=JAKARTA)  # quiet hours: nothing is sent

    assert await Scheduler(app).run_once(just_after) == 0
    await later_activity(app, fixture)
    async with app.sessions.begin() as session:
        kept = await kept_report(session, AUGUST)

    assert kept is not None and kept.taken_at == just_after
    assert as_rows(kept.opd)[0] == (KESEHATAN, 10, 5, 4, 1, 2, 1, 3)
    async with app.sessions() as session:
        header = await session.get(ReportSnapshot, AUGUST)
    assert header is not None and header.taken_by == MONTH_END


async def test_export_report_of_a_closed_month_is_the_same_file_after_later_activity(
        app, tmp_path):
    fixture = await seed_reports(app)
    app.clock = lambda: SEPTEMBER_5
    await export_report(app, AUGUST, tmp_path / "first.xlsx")
    await later_activity(app, fixture)
    app.clock = lambda: OCTOBER_5

    await export_report(app, AUGUST, tmp_path / "again.xlsx")

    def sheets(name: str) -> dict[str, list[tuple]]:
        workbook = load_workbook(tmp_path / name)
        try:
            return {sheet.title: list(sheet.iter_rows(values_only=True))
                    for sheet in workbook.worksheets}
        finally:
            workbook.close()

    first, again = sheets("first.xlsx"), sheets("again.xlsx")
    assert again == first
    summary = dict(first["Ringkasan"][1:])
    assert summary["Jumlah ASN"] == 14 and summary["ASN ikut melindungi pekerja rentan"] == 7
    assert summary["Sifat angka"] == "Tetap: dicatat 5 September 2025 10.00 WIB"


async def test_export_report_of_the_running_month_says_it_is_provisional(app, tmp_path):
    await seed_reports(app)
    app.clock = lambda: SEPTEMBER_5

    export = await export_report(app, date(2025, 9, 1), tmp_path / "now.xlsx")

    workbook = load_workbook(tmp_path / "now.xlsx")
    summary = dict(list(workbook["Ringkasan"].iter_rows(values_only=True))[1:])
    workbook.close()
    assert export.report.live
    assert summary["Sifat angka"] == "Sementara: bulan masih berjalan, angka dapat berubah"
    assert summary["Keadaan per"] == "5 September 2025 10.00 WIB"
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReportSnapshot)) == 0


async def test_a_snapshot_keeps_a_unit_renamed_since(app):
    fixture = await seed_reports(app)
    async with app.sessions.begin() as session:
        await monthly_report(session, AUGUST, SEPTEMBER_5, 20.0, EXPORT)
        await session.execute(update(Unit).where(Unit.id == fixture.units[SOSIAL])
                              .values(name="Dinas Sosial dan PPPA"))
    async with app.sessions() as session:
        kept = await kept_report(session, AUGUST)
    assert kept is not None and SOSIAL in [unit.unit_name for unit in kept.opd]
