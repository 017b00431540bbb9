"""Demo data: Kabupaten Kendal's 20 kecamatan, 38 OPD and fictional ASN, some with a worker.

Everything is generated from a seed, so two installations (and two test runs) get the same
people; person number i does not depend on how many are asked for, so `--asn 50` gives the
first fifty of `--asn 1000`. About 9.42% of the ASN protect a worker, Kendal's coverage in
August 2025, so that reports look like the real thing from the first run. The demo ASN that
the README tells people to log in as (`DEMO_ASN`) is always first and has no worker yet.

Workers go through `SqlEnrollmentRepository`, the same code the chat uses, so their NIK,
birth date and phone are encrypted and hashed exactly as a real enrolment's would be.
Running it again changes nothing: units and ASN are upserted, a NIK already held is skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from admin.cli_output import say
from admin.kecamatan import read_kecamatan
from bot.app import App
from flows.deduction import agreement_record, agreement_terms
from flows.enrollment import CONSENT_VERSION, OCCUPATIONS, RELATIONSHIPS, consent_context
from flows.enrollment_status import EnrollmentStatus
from flows.masking import mask_nik
from flows.nik import parse_nik
from flows.nip import parse_nip
from flows.phone import to_e164
from flows.premium import first_deduction
from flows.roles import UnitKind
from storage import roster_import as store
from storage.enrollments import SqlEnrollmentRepository
from storage.interfaces import ConsentGiven, WorkerDraft


@dataclass(frozen=True, slots=True)
class DemoAsn:
    """An ASN a demo user logs in as: NIP and the phone as they would type it; `role` is the
    one the README grants them (`asn-peduli role grant`), `kecamatan` where they live."""

    nip: str
    phone_local: str
    name: str
    unit: str
    kecamatan: str = "Kendal"
    position: str = "Perawat Ahli Muda"
    role: str | None = None


DEMO_ASN = DemoAsn(
    nip="198503152010011001", phone_local="081234567890", name="Budi Santoso",
    unit="Dinas Kesehatan",
)
# The people of the README's role commands, so that each works on the demo roster: a
# coordinator of Budi's OPD (a coordinator may not approve their own worker), the camat of
# Patebon and a Disperinaker admin. None of them protects a worker yet.
DEMO_ROLE_HOLDERS = (
    DemoAsn(nip="198003122006042001", phone_local="081234567892",
            name="Siti Rahayu, S.Kep.", unit="Dinas Kesehatan", position="Kepala Seksi",
            role="coordinator"),
    DemoAsn(nip="197001011995031002", phone_local="081234567891",
            name="Drs. Slamet Riyadi", unit="Bagian Tata Pemerintahan", kecamatan="Patebon",
            position="Camat Patebon", role="camat"),
    DemoAsn(nip="197001011995031003", phone_local="081234567893",
            name="Hendra Kusuma, S.T.", unit="Dinas Perindustrian dan Tenaga Kerja",
            position="Analis Kebijakan", role="admin"),
)
FIXED_PEOPLE = (DEMO_ASN, *DEMO_ROLE_HOLDERS)

# Kendal, August 2025: 974 of about 10,300 ASN protected a worker.
COVERAGE = 0.0942
KENDAL_REGENCY = "3324"

# Fictional but realistic: the kind of OPD a Kabupaten has, named as Kendal names them.
OPD_NAMES = (
    "Sekretariat Daerah",
    "Sekretariat DPRD",
    "Inspektorat Daerah",
    "Dinas Pendidikan dan Kebudayaan",
    "Dinas Kesehatan",
    "RSUD dr. Soewondo",
    "Dinas Pekerjaan Umum dan Penataan Ruang",
    "Dinas Perumahan dan Kawasan Permukiman",
    "Satuan Polisi Pamong Praja",
    "Dinas Pemadam Kebakaran dan Penyelamatan",
    "Dinas Sosial",
    "Dinas Perindustrian dan Tenaga Kerja",
    "Dinas Pemberdayaan Perempuan dan Perlindungan Anak",
    "Dinas Pengendalian Penduduk dan Keluarga Berencana",
    "Dinas Ketahanan Pangan",
    "Dinas Lingkungan Hidup",
    "Dinas Kependudukan dan Pencatatan Sipil",
    "Dinas Pemberdayaan Masyarakat dan Desa",
    "Dinas Perhubungan",
    "Diskominfo",
    "Dinas Koperasi dan Usaha Mikro",
    "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
    "Dinas Kepemudaan dan Olahraga",
    "Dinas Pariwisata",
    "Dinas Perpustakaan dan Kearsipan",
    "Dinas Kelautan dan Perikanan",
    "Dinas Pertanian dan Peternakan",
    "Dinas Perdagangan",
    "Dinas Pertanahan",
    "Badan Perencanaan Penelitian dan Pengembangan",
    "Badan Pendapatan Daerah",
    "Badan Keuangan dan Aset Daerah",
    "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia",
    "Badan Penanggulangan Bencana Daerah",
    "Badan Kesatuan Bangsa dan Politik",
    "Bagian Hukum Sekretariat Daerah",
    "Bagian Pengadaan Barang dan Jasa",
    "Bagian Tata Pemerintahan",
)
# Teachers and health workers are most of a regency's ASN.
OPD_WEIGHTS = {"Dinas Pendidikan dan Kebudayaan": 30, "Dinas Kesehatan": 8,
               "RSUD dr. Soewondo": 6}
POSITIONS = {
    "Dinas Pendidikan dan Kebudayaan": ("Guru Ahli Pertama", "Guru Ahli Muda",
                                        "Guru Ahli Madya", "Pengawas Sekolah", "Penata Usaha"),
    "Dinas Kesehatan": ("Perawat Terampil", "Bidan Terampil", "Bidan Ahli Pertama",
                        "Sanitarian", "Nutrisionis", "Penyuluh Kesehatan"),
    "RSUD dr. Soewondo": ("Perawat Terampil", "Perawat Ahli Pertama", "Dokter Ahli Pertama",
                          "Apoteker", "Pranata Laboratorium Kesehatan", "Radiografer"),
}
GENERAL_POSITIONS = ("Analis Kebijakan", "Pengelola Keuangan", "Pranata Komputer", "Arsiparis",
                     "Pengadministrasi Umum", "Kepala Seksi", "Kepala Subbagian Umum",
                     "Penyusun Program Anggaran", "Analis Sumber Daya Manusia", "Pengemudi")

MALE_NAMES = ("Agus", "Bambang", "Budi", "Joko", "Slamet", "Heru", "Eko", "Teguh", "Wahyu",
              "Adi", "Rudi", "Hadi", "Sugeng", "Bayu", "Arif", "Fajar", "Rizky", "Yusuf",
              "Imam", "Ahmad", "Muhammad", "Dedi", "Hendra", "Taufik", "Dimas", "Aris",
              "Hari", "Sigit", "Tri", "Dwi", "Yoga", "Ilham", "Fauzan", "Gilang", "Anton",
              "Sutrisno", "Mulyono", "Nur", "Sarwono", "Darmaji")
FEMALE_NAMES = ("Sri", "Siti", "Dewi", "Endang", "Lestari", "Rina", "Wulan", "Yuni", "Ani",
                "Retno", "Rahayu", "Fitri", "Dian", "Ratna", "Indah", "Puji", "Ayu", "Novi",
                "Eka", "Kartika", "Ika", "Anisa", "Nurul", "Tri", "Dwi", "Umi", "Evi", "Nining",
                "Suparmi", "Mulyani", "Rini", "Tutik", "Wiwik", "Laila", "Aulia", "Nadia")
MALE_SURNAMES = ("Santoso", "Wibowo", "Prasetyo", "Susanto", "Hidayat", "Saputra", "Nugroho",
                 "Setiawan", "Kurniawan", "Purnomo", "Wijaya", "Hartono", "Rahman", "Hakim",
                 "Maulana", "Utomo", "Suryono", "Widodo", "Riyanto", "Haryanto", "Sulistyo",
                 "Firmansyah", "Ardiansyah", "Pamungkas", "Kusuma")
FEMALE_SURNAMES = ("Lestari", "Rahayu", "Handayani", "Astuti", "Suryani", "Puspitasari",
                   "Pratiwi", "Safitri", "Anggraini", "Ningsih", "Wulandari", "Kusumawati",
                   "Susilowati", "Hidayati", "Maharani", "Rahmawati", "Setyaningsih")
DEGREES = ("S.Pd.", "S.E.", "S.Kom.", "S.H.", "S.Kep.", "S.Sos.", "A.Md.", "S.T.", "M.Pd.",
           "S.IP.")
DESA = ("Kumpulrejo", "Sidomulyo", "Purwokerto", "Karangsari", "Bugangin", "Ngilir",
        "Candiroto", "Jenarsari", "Sukodono", "Tunggulsari", "Pageruyung", "Kebonadem",
        "Wonosari", "Margosari", "Tanjungsari", "Sumberejo", "Kalirejo", "Banyuurip",
        "Gebang", "Protomulyo", "Sendang", "Mororejo", "Kertomulyo", "Ngampel Kulon")
# Mobile prefixes of the Indonesian operators (without the leading 0).
MOBILE_PREFIXES = ("811", "812", "813", "821", "822", "823", "851", "852", "853", "814",
                   "815", "816", "855", "856", "857", "858", "817", "818", "819", "859",
                   "877", "878", "895", "896", "897", "898", "899", "881", "882", "883",
                   "887", "888", "831", "832", "833", "838")
# What the demo enrolments have reached: waiting, verified by the OPD, or active at BPJS.
STATUS_WEIGHTS = {EnrollmentStatus.SUBMITTED: 20, EnrollmentStatus.VERIFIED: 30,
                  EnrollmentStatus.ACTIVE: 50}


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """One fictional ASN; the phone in E.164, as the roster stores it."""

    nip: str
    name: str
    phone: str
    unit: str
    kecamatan: str
    position: str


@dataclass(frozen=True, slots=True)
class DemoWorker:
    """A fictional pekerja rentan and the enrolment an ASN made for them."""

    asn_nip: str
    nik: str
    name: str
    birth_date: date
    occupation: str
    phone: str | None
    desa: str
    kecamatan: str
    relationship: str
    status: str
    channel: str
    days_ago: int
    kpj_number: str | None


def _random_date(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _person_name(rng: random.Random, female: bool) -> str:
    given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    surname = rng.choice(FEMALE_SURNAMES if female else MALE_SURNAMES)
    name = f"{given} {surname}"
    if rng.random() < 0.35:
        name = f"{name}, {rng.choice(DEGREES)}"
    return name


def _mobile(rng: random.Random, taken: set[str]) -> str:
    """A valid, unused Indonesian mobile number in E.164 (checked by phonenumbers)."""
    while True:
        local = f"0{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99_999_999):08d}"
        phone = to_e164(local)
        if phone not in taken:
            taken.add(phone)
            return phone


def _nip(rng: random.Random, taken: set[str]) -> tuple[str, bool]:
    """An unused PNS-shaped NIP: born 1965-2000, appointed after 18, gender, serial."""
    while True:
        born = _random_date(rng, date(1965, 1, 1), date(2000, 12, 31))
        appointed_year = rng.randint(born.year + 19, min(born.year + 40, 2024))
        female = rng.random() < 0.55
        nip = (f"{born:%Y%m%d}{appointed_year}{rng.randint(1, 12):02d}"
               f"{2 if female else 1}{rng.randint(1, 999):03d}")
        if nip not in taken:
            parse_nip(nip)
            taken.add(nip)
            return nip, female


def demo_people(count: int, seed: int = 2025) -> list[DemoPerson]:
    """`count` ASN (at least the fixed ones: the demo ASN first, then the README's role
    holders), the same for the same seed."""
    rng = random.Random(seed)
    kecamatan = [item.name for item in read_kecamatan()]
    weights = [OPD_WEIGHTS.get(name, 1) for name in OPD_NAMES]
    people = [DemoPerson(fixed.nip, fixed.name, to_e164(fixed.phone_local), fixed.unit,
                         fixed.kecamatan, fixed.position) for fixed in FIXED_PEOPLE]
    nips, phones = {person.nip for person in people}, {person.phone for person in people}
    while len(people) < count:
        nip, female = _nip(rng, nips)
        unit = rng.choices(OPD_NAMES, weights)[0]
        people.append(DemoPerson(
            nip=nip,
            name=_person_name(rng, female),
            phone=_mobile(rng, phones),
            unit=unit,
            kecamatan=rng.choice(kecamatan),
            position=rng.choice(POSITIONS.get(unit, GENERAL_POSITIONS)),
        ))
    return people


def demo_workers(people: list[DemoPerson], seed: int = 2025) -> list[DemoWorker]:
    """A worker for about 9.42% of the ASN, never for the fixed people (the demo ASN and the
    role holders start with none); NIKs unique and valid."""
    rng = random.Random(f"{seed}:workers")
    kecamatan = read_kecamatan()
    fixed = {person.nip for person in FIXED_PEOPLE}
    others = [person for person in people if person.nip not in fixed]
    chosen = rng.sample(others, min(round(len(people) * COVERAGE), len(others)))
    niks: set[str] = set()
    phones = {person.phone for person in people}
    workers = []
    for person in sorted(chosen, key=lambda item: item.nip):
        place = rng.choice(kecamatan)
        female = rng.random() < 0.6
        born = _random_date(rng, date(1965, 1, 1), date(2004, 12, 31))
        while True:
            day = born.day + 40 if female else born.day
            nik = f"{place.nik_region}{day:02d}{born:%m%y}{rng.randint(1, 9999):04d}"
            if nik not in niks:
                parse_nik(nik)
                niks.add(nik)
                break
        status = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
        workers.append(DemoWorker(
            asn_nip=person.nip,
            nik=nik,
            name=_person_name(rng, female).split(",")[0].upper(),
            birth_date=born,
            occupation=rng.choice(OCCUPATIONS),
            phone=_mobile(rng, phones) if rng.random() < 0.6 else None,
            desa=rng.choice(DESA),
            kecamatan=place.name,
            relationship=rng.choice(RELATIONSHIPS),
            status=status,
            channel=rng.choice(("telegram", "telegram", "whatsapp")),
            days_ago=rng.randint(20, 600),
            kpj_number=(f"{rng.randint(10**10, 10**11 - 1)}"
                        if status == EnrollmentStatus.ACTIVE else None),
        ))
    return workers



async def write_demo_data(app: App, asn_count: int = 1000, seed: int = 2025) -> None:
    """Upsert the demo kecamatan, OPD and ASN, and enrol the demo workers not yet held."""
    people = demo_people(max(asn_count, 1), seed)
    workers = demo_workers(people, seed)
    now = app.clock()
    config = app.settings.flow_config()
    async with app.sessions.begin() as session:
        kecamatan_ids = await store.ensure_units(
            session, UnitKind.KECAMATAN, {item.name: item.code for item in read_kecamatan()}
        )
        opd_ids = await store.ensure_units(session, UnitKind.OPD, dict.fromkeys(OPD_NAMES))
        counts = store.UpsertCounts(0, 0, 0)
        for start in range(0, len(people), 1_000):
            batch = await store.upsert_asn(session, [
                store.RosterRow(nip=person.nip, name=person.name, unit_id=opd_ids[person.unit],
                                phone=person.phone, kecamatan_id=kecamatan_ids[person.kecamatan],
                                position=person.position)
                for person in people[start:start + 1_000]
            ], now)
            counts = store.UpsertCounts(counts.added + batch.added,
                                        counts.updated + batch.updated,
                                        counts.unchanged + batch.unchanged)
        asn_ids = await store.asn_ids(session, [worker.asn_nip for worker in workers])
        names = {person.nip: person.name for person in people}
        enrollments = SqlEnrollmentRepository(session, app.cipher)
        progressed: list[tuple[int, str, str | None]] = []
        added_workers = 0
        for worker in workers:
            if await enrollments.holding_status(worker.nik) is not None:
                continue
            at = now - timedelta(days=worker.days_ago)
            consent = app.renderer.text("enrollment/consent_wording",
                                        consent_context(worker.name, worker.phone is not None))
            saved = await enrollments.save_draft(
                asn_ids[worker.asn_nip],
                WorkerDraft(
                    nik=worker.nik, name=worker.name, birth_date=worker.birth_date,
                    occupation=worker.occupation, phone=worker.phone, desa=worker.desa,
                    kecamatan_name=worker.kecamatan,
                    kecamatan_id=kecamatan_ids[worker.kecamatan],
                    relationship=worker.relationship,
                ),
                ConsentGiven(CONSENT_VERSION, consent, worker.channel), at,
            )
            first_month, rate = first_deduction(config.premium_schedule, at.date(),
                                                config.deduction_offset_months)
            terms = agreement_terms(names[worker.asn_nip], worker.asn_nip, worker.name,
                                    mask_nik(worker.nik), rate, first_month, workers=1)
            await enrollments.submit(
                asn_ids[worker.asn_nip], saved.id,
                agreement_record(terms, app.renderer.text("deduction/agreement_wording", terms)),
                worker.channel, at,
            )
            if worker.status != EnrollmentStatus.SUBMITTED:
                progressed.append((saved.id, worker.status, worker.kpj_number))
            added_workers += 1
        await store.set_enrollment_statuses(session, progressed)
    say("demo_written", region=app.settings.region_name,
          kecamatan=len(kecamatan_ids), opd=len(opd_ids), asn=len(people),
          added=counts.added, updated=counts.updated, workers=len(workers),
          workers_added=added_workers,
          coverage=round(100 * len(workers) / len(people), 2))


async def ensure_demo_data(app: App) -> None:
    """Write the demo data on a fresh installation; a roster already there is left alone."""
    async with app.sessions() as session:
        existing = await store.asn_count(session)
    if existing:
        say("demo_kept", asn=existing)
        return
    await write_demo_data(app)
