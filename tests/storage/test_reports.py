"""The monthly report's numbers against the report world (tests/support/report_world.py),
whose three OPD, three kecamatan and sixteen enrolments were counted by hand: the report for
August 2025 describes the moment 1 September 2025 00:00 WIB, "a month before" is 1 August
2025 00:00 WIB, and enrolments a few minutes either side of the Jakarta midnights decide the
month by the Jakarta calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select

from flows.time_zone import JAKARTA
from messages.renderer import Renderer
from storage.attachments import load_attachment, store_attachment
from storage.interfaces import UnitProgress
from storage.models import (
    Asn,
    Unit,
)
from storage.report_snapshots import closed_month_before, month_end
from storage.reports import (
    _ranked,
    month_before,
    monthly_report_context,
    region_totals,
    unit_progress,
    unit_progress_all,
)
from tests.support.report_world import AT, KESEHATAN, SATPOL, SOSIAL, as_rows, seed_reports, wib


async def test_opd_progress_matches_the_hand_count(app_any_db):
    await seed_reports(app_any_db)

    async with app_any_db.sessions() as session:
        progress = await unit_progress(session, "opd", AT)

    assert as_rows(progress) == [
        # name, ASN, participating, a month before, change, protected, rank, of
        (KESEHATAN, 10, 5, 4, 1, 2, 1, 3),
        (SOSIAL, 4, 2, 3, -1, 2, 1, 3),
        (SATPOL, 0, 0, 0, 0, 0, 3, 3),
    ]
    assert [p.percent for p in progress] == [50.0, 50.0, 0.0]
    assert [p.percent_month_ago for p in progress] == [40.0, 75.0, 0.0]


async def test_kecamatan_progress_matches_the_hand_count(app_any_db):
    await seed_reports(app_any_db)

    async with app_any_db.sessions() as session:
        progress = await unit_progress(session, "kecamatan", AT)

    assert as_rows(progress) == [
        ("Patebon", 6, 4, 3, 1, 3, 1, 3),
        ("Kendal", 5, 2, 2, 0, 0, 2, 3),
        ("Kaliwungu", 0, 0, 0, 0, 0, 3, 3),
    ]


async def test_both_views_in_one_pass_equal_each_view_alone(app_any_db):
    await seed_reports(app_any_db)

    async with app_any_db.sessions() as session:
        both = await unit_progress_all(session, AT)
        alone = {kind: await unit_progress(session, kind, AT) for kind in ("opd", "kecamatan")}

    assert both == alone
    assert as_rows(both["kecamatan"])[0] == ("Patebon", 6, 4, 3, 1, 3, 1, 3)


async def test_the_jakarta_midnight_decides_the_month(app):
    """E9 was submitted at 00:30 WIB on 1 September (still 31 August in UTC): it belongs
    to September. One minute after the report moment, a9's and a8's counts differ."""
    await seed_reports(app)

    async with app.sessions() as session:
        at_midnight = await unit_progress(session, "opd", AT)
        an_hour_later = await unit_progress(session, "opd", wib(9, 1, 1, 0))
        one_minute_before = await unit_progress(session, "opd", wib(8, 31, 23, 59))

    kesehatan = {p.unit_name: p for p in at_midnight}[KESEHATAN]
    assert kesehatan.asn_participating == 5
    assert {p.unit_name: p for p in an_hour_later}[KESEHATAN].asn_participating == 6  # + a8
    # at 23:59 b3's enrolment (ended 23:59) is over and a9's (23:30) has begun
    sosial = {p.unit_name: p for p in one_minute_before}[SOSIAL]
    assert sosial.asn_participating == 2
    assert {p.unit_name: p for p in one_minute_before}[KESEHATAN].asn_participating == 5


async def test_progress_is_three_aggregate_queries_whatever_the_size(app):
    """Issue 5's 2-second budget: the database counts, nothing is fetched per ASN."""
    await seed_reports(app)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(app.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with app.sessions() as session:
            await unit_progress(session, "opd", AT)
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 3
    assert sum("GROUP BY" in statement for statement in statements) == 2


@pytest.mark.parametrize(("moment", "expected"), [
    (wib(9, 1, 0, 0), wib(8, 1, 0, 0)),
    (wib(3, 31, 8, 0), wib(2, 28, 8, 0)),  # clamped to the shorter month
    (wib(3, 31, 8, 0, year=2024), wib(2, 29, 8, 0, year=2024)),
    (wib(1, 15, 8, 0), wib(12, 15, 8, 0, year=2024)),
    # 1 March 01:00 WIB is still 28 February in UTC: the Jakarta calendar decides
    (datetime(2025, 2, 28, 18, 0, tzinfo=UTC), wib(2, 1, 1, 0)),
])
def test_a_month_before_is_on_the_jakarta_calendar(moment, expected):
    assert month_before(moment) == expected


def test_a_month_ends_when_the_next_one_starts_in_jakarta():
    assert month_end(date(2025, 8, 1)) == AT
    assert month_end(date(2025, 12, 1)) == datetime(2026, 1, 1, tzinfo=JAKARTA)
    # 1 September 00:30 WIB is still 31 August in UTC: August has closed in Jakarta
    assert closed_month_before(datetime(2025, 8, 31, 17, 30, tzinfo=UTC)) == date(2025, 8, 1)
    assert closed_month_before(datetime(2025, 8, 31, 16, 59, tzinfo=UTC)) == date(2025, 7, 1)
    assert closed_month_before(datetime(2026, 1, 1, 0, 0, tzinfo=JAKARTA)) == date(2025, 12, 1)


def test_ties_share_a_rank_and_units_without_asn_come_last():
    raw = [
        (1, "A", 3, 1, 0, 0), (2, "B", 6, 2, 0, 0),  # 1/3 and 2/6 tie exactly
        (3, "C", 0, 0, 0, 0), (4, "D", 10, 9, 0, 0), (5, "E", 4, 0, 0, 0),
    ]
    ranked = _ranked(raw)
    assert [(p.unit_name, p.rank) for p in ranked] == [
        ("D", 1), ("A", 2), ("B", 2), ("E", 4), ("C", 5)]
    assert {p.units_ranked for p in ranked} == {5}


async def test_region_totals_and_the_group_message(app):
    await seed_reports(app)
    async with app.sessions() as session:
        opd = await unit_progress(session, "opd", AT)
        kecamatan = await unit_progress(session, "kecamatan", AT)

    totals = region_totals(opd, 20.0)
    assert (totals.asn_total, totals.asn_participating, totals.participating_month_ago,
            totals.workers_protected, totals.units_at_target, totals.units_full) == (
        14, 7, 7, 4, 2, ())
    assert totals.percent == 50.0 and totals.change == 0

    sosial = next(p for p in opd if p.unit_name == SOSIAL)
    context = monthly_report_context(opd, at=AT, target_percent=20.0,
                                     region_name="Kabupaten Kendal", own=sosial)
    text = Renderer().text("report/monthly", context)
    assert "Per 1 September 2025: 7 dari 14 ASN (50%) melindungi pekerja rentan." in text
    assert "Target 20%." in text
    assert "4 pekerja sudah terdaftar di BPJS Ketenagakerjaan." in text
    assert "1. Dinas Kesehatan: 50%\n1. Dinas Sosial: 50%" in text
    assert "Satuan Polisi" not in text  # no ASN: not among the leaders
    assert "Dinas Sosial: 2 dari 4 ASN (50%), peringkat 1 dari 3 OPD." in text
    assert "Berkurang 1 ASN sejak bulan lalu." in text
    assert "Sudah 100%" not in text

    patebon = next(p for p in kecamatan if p.unit_name == "Patebon")
    context = monthly_report_context(opd, at=AT, target_percent=20.0,
                                     region_name="Kabupaten Kendal", own=patebon,
                                     own_kind="kecamatan")
    text = Renderer().text("report/monthly", context, "html")
    assert ("<b>Patebon</b>: 4 dari 6 ASN (66,7%), peringkat 1 dari 3 kecamatan." in text)
    assert "Bertambah 1 ASN sejak bulan lalu. Terima kasih!" in text


async def test_an_opd_where_every_asn_takes_part_is_named(app):
    await seed_reports(app)
    async with app.sessions.begin() as session:
        units = {name: unit_id for name, unit_id in
                 await session.execute(select(Unit.name, Unit.id))}
        session.add(Asn(nip="199001012015031999", name="ASN S1", unit_id=units[SATPOL],
                        phone="+6281300000001", updated_at=AT))
    async with app.sessions() as session:
        opd = await unit_progress(session, "opd", AT)
    satpol = next(p for p in opd if p.unit_name == SATPOL)
    assert (satpol.asn_total, satpol.asn_participating, satpol.rank) == (1, 0, 3)

    full = UnitProgress(satpol.unit_id, SATPOL, 1, 1, 1, 0, 1, 3)
    progress = [full, *(p for p in opd if p.unit_name != SATPOL)]
    context = monthly_report_context(progress, at=AT, target_percent=20.0,
                                     region_name="Kabupaten Kendal")
    text = Renderer().text("report/monthly", context, "whatsapp")
    assert "Sudah 100%: Satuan Polisi Pamong Praja. Terima kasih!" in text
    assert "1. Satuan Polisi Pamong Praja: 100%" in text
    assert context["report_own"] is None and "peringkat" not in text


async def test_an_attachment_is_stored_once_and_read_back(app_any_db):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    async with app_any_db.sessions.begin() as session:
        attachment_id = await store_attachment(session, "image/png", "partisipasi.png", png,
                                               AT)
    async with app_any_db.sessions() as session:
        stored = await load_attachment(session, attachment_id)
        missing = await load_attachment(session, attachment_id + 1)
    assert stored is not None and missing is None
    assert (stored.content_type, stored.filename, stored.data) == (
        "image/png", "partisipasi.png", png)
