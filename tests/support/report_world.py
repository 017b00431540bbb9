"""The report world: three OPD, three kecamatan and sixteen enrolments, counted by hand.

tests/storage/test_reports.py checks the monthly report against this count; the exports,
the BPJS import, the payroll refunds, the snapshots and the chart tests reuse the world so
that each of them reads against numbers a person worked out once.

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

from bot.app import App
from flows.masking import mask_nik
from flows.premium import first_of_month_after
from flows.time_zone import JAKARTA
from storage.interfaces import UnitProgress
from storage.models import (
    Asn,
    ChannelIdentity,
    DeductionAgreement,
    Enrollment,
    Unit,
    Worker,
)

AT = datetime(2025, 9, 1, 0, 0, tzinfo=JAKARTA)  # the August 2025 report
KESEHATAN, SOSIAL, SATPOL = "Dinas Kesehatan", "Dinas Sosial", "Satuan Polisi Pamong Praja"


def wib(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2025) -> datetime:
    """A moment in Jakarta time, of 2025 unless told."""
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
    Plan("E7", "a6", "stopped", wib(5, 1), registered=wib(5, 10), ended=wib(8, 15),
         kpj="25000000007"),
    Plan("E8", "a7", "stopped", wib(3, 1), ended=wib(7, 10)),
    Plan("E9", "a8", "submitted", wib(9, 1, 0, 30)),
    Plan("E10", "a9", "submitted", wib(8, 31, 23, 30)),
    Plan("E11", "a10", "verified", wib(7, 31, 23, 30)),
    Plan("E12", "b1", "active", wib(4, 1), registered=wib(4, 15), kpj="25000000012"),
    Plan("E13", "b2", "registered", wib(7, 1), registered=wib(7, 25), kpj="25000000013"),
    Plan("E14", "b3", "stopped", wib(6, 1), registered=wib(6, 15), ended=wib(8, 31, 23, 59),
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
    """The ids, NIP, NIK and worker names `seed_reports` wrote, by the keys of the count."""

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
    """Each unit's figures as one tuple, in the order the hand count reads them."""
    return [(p.unit_name, p.asn_total, p.asn_participating, p.participating_month_ago,
             p.change, p.workers_protected, p.rank, p.units_ranked) for p in progress]
