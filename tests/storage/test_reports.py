"""The monthly report's numbers against a fixture computed by hand.

The report for August 2025 describes the moment 1 September 2025 00:00 WIB (31 August
17:00 UTC); "a month before" is 1 August 2025 00:00 WIB. Three OPD with 10, 4 and 0 ASN,
three kecamatan, enrolments in every status at different dates, ended and rejected ones,
and enrolments a few minutes either side of the Jakarta midnights.

Hand count (P = participating, a = at 1 Sep, m = at 1 Aug, W = protected workers at 1 Sep):

  Dinas Kesehatan (10 ASN)
    a1  E1 active (sub 10 Jun, reg 20 Jun), E2 registered (sub 5 Aug, reg 20 Aug)  P a,m  W 2
    a2  E3 verified (sub 15 Aug)                                                   P a
    a3  E4 submitted (sub 20 Jul)                                                  P a,m
    a4  E5 draft                                                                   -
    a5  E6 rejected (sub 5 Jul)                                                    -
    a6  E7 ended 15 Aug (sub 1 May, reg 10 May)                                    P m
    a7  E8 ended 10 Jul (sub 1 Mar)                                                -
    a8  E9 submitted 1 Sep 00:30 WIB (still 31 Aug in UTC)                         -
    a9  E10 submitted 31 Aug 23:30 WIB                                             P a
    a10 E11 verified, sub 31 Jul 23:30 WIB                                         P a,m
    -> 5 of 10 now (50%), 4 a month before, change +1, 2 workers protected

  Dinas Sosial (4 ASN)
    b1  E12 active (sub 1 Apr, reg 15 Apr)                                         P a,m  W 1
    b2  E13 registered (sub 1 Jul, reg 25 Jul)                                     P a,m  W 1
    b3  E14 ended 31 Aug 23:59 WIB (sub 1 Jun, reg 15 Jun)                         P m
    b4  E15 rejected (sub 1 Jul), E16 draft                                        -
    -> 2 of 4 now (50%), 3 a month before, change -1, 2 workers protected

  Satpol PP (0 ASN) -> ranked last

  Both OPD at 50% share rank 1; Satpol PP is rank 3 of 3.

  Kecamatan: Patebon a1-a5, b1 (6 ASN: a1 a2 a3 b1 now = 4; a1 a3 b1 before = 3; W 3);
  Kendal a6-a10 (5 ASN: a9 a10 now = 2; a6 a10 before = 2; W 0); Kaliwungu none;
  b2-b4 have no kecamatan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select

from bot.app import App
from flows.masking import mask_nik
from flows.months import first_of_month_after
from flows.time_zone import JAKARTA
from messages.renderer import Renderer
from storage.attachments import load_attachment, store_attachment
from storage.interfaces import UnitProgress
from storage.models import (
    Asn,
    ChannelIdentity,
    DeductionAgreement,
    Enrollment,
    Unit,
    Worker,
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

AT = datetime(2025, 9, 1, 0, 0, tzinfo=JAKARTA)  # the August 2025 report
KESEHATAN, SOSIAL, SATPOL = "Dinas Kesehatan", "Dinas Sosial", "Satuan Polisi Pamong Praja"


def wib(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


@dataclass(frozen=True)
class Plan:
    """One enrolment of the fixture: who, the status now, and its times (WIB)."""

    key: str
    asn: str
    status: str
    submitted: datetime | None = None
    registered: datetime | None = None
    ended: datetime | None = None
    kpj: str | None = None


PLANS = [
    Plan("E1", "a1", "active", wib(6, 10), registered=wib(6, 20), kpj="25000000001"),
    Plan("E2", "a1", "registered", wib(8, 5), registered=wib(8, 20), kpj="25000000002"),
    Plan("E3", "a2", "verified", wib(8, 15)),
    Plan("E4", "a3", "submitted", wib(7, 20)),
    Plan("E5", "a4", "draft"),
    Plan("E6", "a5", "rejected", wib(7, 5)),
    Plan("E7", "a6", "ended", wib(5, 1), registered=wib(5, 10), ended=wib(8, 15),
         kpj="25000000007"),
    Plan("E8", "a7", "ended", wib(3, 1), ended=wib(7, 10)),
    Plan("E9", "a8", "submitted", wib(9, 1, 0, 30)),
    Plan("E10", "a9", "submitted", wib(8, 31, 23, 30)),
    Plan("E11", "a10", "verified", wib(7, 31, 23, 30)),
    Plan("E12", "b1", "active", wib(4, 1), registered=wib(4, 15), kpj="25000000012"),
    Plan("E13", "b2", "registered", wib(7, 1), registered=wib(7, 25), kpj="25000000013"),
    Plan("E14", "b3", "ended", wib(6, 1), registered=wib(6, 15), ended=wib(8, 31, 23, 59),
         kpj="25000000014"),
    Plan("E15", "b4", "rejected", wib(7, 1)),
    Plan("E16", "b4", "draft"),
]
PATEBON = {"a1", "a2", "a3", "a4", "a5", "b1"}
KENDAL = {"a6", "a7", "a8", "a9", "a10"}
CHAT_LINKED = {"a1", "a2", "a3", "b1", "b2"}  # ASN who have linked a chat (told of news)


def nik_of(index: int) -> str:
    """A structurally valid NIK per worker: Kendal region, 17 Aug 1980 (women +40)."""
    day = 57 if index % 2 else 17
    return f"332401{day:02d}0880{index:04d}"


@dataclass
class Fixture:
    units: dict[str, int] = field(default_factory=dict)
    asn: dict[str, int] = field(default_factory=dict)
    nip: dict[str, str] = field(default_factory=dict)
    enrollments: dict[str, int] = field(default_factory=dict)
    nik: dict[str, str] = field(default_factory=dict)
    worker: dict[str, str] = field(default_factory=dict)


def stop_month(ended: datetime) -> date:
    """As the workers flow names it: the month after the stop (DEDUCTION_OFFSET_MONTHS=1)."""
    return first_of_month_after(ended.astimezone(JAKARTA).date())


async def seed_reports(app: App) -> Fixture:
    """The fixture above, written through the models (every time aware, stored in UTC)."""
    fixture = Fixture()
    cipher = app.cipher
    created = datetime(2025, 1, 1, tzinfo=UTC)
    async with app.sessions.begin() as session:
        units = {name: Unit(kind="opd", name=name) for name in (KESEHATAN, SOSIAL, SATPOL)}
        kecamatan = {name: Unit(kind="kecamatan", name=name, code=code) for code, name in
                     (("33.24.14", "Patebon"), ("33.24.15", "Kendal"),
                      ("33.24.08", "Kaliwungu"))}
        session.add_all([*units.values(), *kecamatan.values()])
        await session.flush()
        fixture.units = {name: unit.id for name, unit in {**units, **kecamatan}.items()}
        people = [f"a{i}" for i in range(1, 11)] + [f"b{i}" for i in range(1, 5)]
        for index, key in enumerate(people, start=1):
            unit = units[KESEHATAN] if key.startswith("a") else units[SOSIAL]
            home = (kecamatan["Patebon"].id if key in PATEBON
                    else kecamatan["Kendal"].id if key in KENDAL else None)
            nip = f"19850315201001{1000 + index:04d}"
            asn = Asn(nip=nip, name=f"ASN {key.upper()}", unit_id=unit.id,
                      kecamatan_id=home, phone=f"+62812000{index:05d}", updated_at=created)
            session.add(asn)
            await session.flush()
            fixture.asn[key], fixture.nip[key] = asn.id, nip
            if key in CHAT_LINKED:
                session.add(ChannelIdentity(channel="telegram", external_id=str(5000 + index),
                                            chat_id=str(5000 + index), asn_id=asn.id,
                                            linked_at=created))
        for index, plan in enumerate(PLANS, start=1):
            nik = nik_of(index)
            name = f"PEKERJA {plan.key}"
            worker = Worker(
                nik_hash=cipher.nik_hash(nik), nik_enc=cipher.encrypt(nik),
                nik_masked=mask_nik(nik), name=name,
                birth_date_enc=cipher.encrypt(date(1980, 8, 17).isoformat()),
                phone_enc=cipher.encrypt(f"+628570000{index:04d}") if index % 3 else None,
                occupation="pedagang" if index % 2 else "petani", desa="Kumpulrejo",
                kecamatan_id=kecamatan["Patebon"].id, kecamatan_name="Patebon",
                updated_at=created,
            )
            session.add(worker)
            await session.flush()
            enrollment = Enrollment(
                asn_id=fixture.asn[plan.asn], worker_id=worker.id, relationship="art",
                status=plan.status, channel="telegram", created_at=created,
                submitted_at=plan.submitted, registered_at=plan.registered,
                ended_at=plan.ended, kpj_number=plan.kpj,
                deduction_stop_month=stop_month(plan.ended) if plan.ended else None,
            )
            session.add(enrollment)
            await session.flush()
            if plan.submitted is not None:
                session.add(DeductionAgreement(
                    asn_id=fixture.asn[plan.asn], enrollment_id=enrollment.id,
                    wording_version="v1", wording="Saya setuju", premium_jkk=10_000,
                    premium_jkm=6_800, monthly_total=16_800,
                    first_month=first_of_month_after(plan.submitted.date()),
                    channel="telegram", agreed_at=plan.submitted,
                ))
            fixture.enrollments[plan.key] = enrollment.id
            fixture.nik[plan.key] = nik
            fixture.worker[plan.key] = name
    return fixture


def as_rows(progress: list[UnitProgress]) -> list[tuple]:
    return [(p.unit_name, p.asn_total, p.asn_participating, p.participating_month_ago,
             p.change, p.workers_protected, p.rank, p.units_ranked) for p in progress]


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
