"""Big benchmark databases, built fast and cached: Kendal's units, N demo ASN, M enrolments.

Every benchmark needs a roster of up to 1,000,000 ASN (issue 5) and, for the monthly report,
300,000 enrolments with real-looking statuses and dates. Writing them through the chat's
repositories would take hours, so this writes the same rows with Core bulk INSERTs (a few
thousand rows per executemany, one transaction per chunk) after `storage.database.upgrade`.

ASN number i is exactly `admin.demo_data.demo_people(n)[i]` (same NIP, phone, name, OPD,
kecamatan, position) and has row id i + 1, so a benchmark can identify as any of them:
`demo_people(k)` gives the first k without generating the rest. ASN 0 (the demo ASN the README
names) has no enrolment. Workers' NIK, birth date and phone are encrypted with the dataset's
keys, exactly as `SqlEnrollmentRepository` stores them, so the rows decrypt with
`dataset.settings(...)`.

Caching: SQLite templates live in bench/.cache/ keyed by (asn, enrolments, Alembic head) and
are copied to the benchmark's own path; PostgreSQL templates are databases named the same way,
cloned with CREATE DATABASE ... TEMPLATE. The keys and the build moment of a template are kept
next to it (bench/.cache/<key>.json), since a copy must decrypt with the keys it was built with.

    import asyncio
    from bench.dataset import build, postgres_database

    dataset = asyncio.run(build("sqlite+aiosqlite:////tmp/b/asn.db", asn=100_000,
                                enrolments=30_000))
    settings = dataset.settings()          # Settings on that database with the right keys
    # PostgreSQL: a fresh database, dropped afterwards
    async with postgres_database() as url:
        dataset = await build(url, asn=1_000_000, enrolments=300_000)

Run alone to warm the cache: `.venv/bin/python -m bench.dataset --asn 1000000 --enrolments
300000 [--postgres]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

import storage.database
from admin.demo_data import (
    DESA,
    FEMALE_NAMES,
    FEMALE_SURNAMES,
    MALE_NAMES,
    MALE_SURNAMES,
    MOBILE_PREFIXES,
    OPD_NAMES,
    DemoPerson,
    demo_people,
)
from admin.kecamatan import read_kecamatan
from bot.settings import DEFAULT_SCHEDULE, Settings
from flows.deduction import AGREEMENT_VERSION, agreement_terms
from flows.enrollment import CONSENT_VERSION, OCCUPATIONS, RELATIONSHIPS, consent_context
from flows.enrollment_status import COVERED_STATUSES, EnrollmentStatus
from flows.masking import mask_nik
from flows.premium import PremiumRate, first_deduction
from flows.roles import UnitKind
from flows.time_zone import JAKARTA
from messages.renderer import Renderer
from storage import roster_import as store
from storage.crypto import PersonalDataCipher, generate_key
from storage.database import create_engine
from storage.models import Asn, Consent, DeductionAgreement, Enrollment, Worker

CACHE = Path(__file__).parent / ".cache"
# The server where benchmark databases are created (any existing database on it will do).
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                                    "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
CHUNK = 5_000
SEED = 2025
# Where a real programme's enrolments stand after a year: mostly agreed and moving through
# verification and BPJS registration, a few drafts, refusals and ended ones.
STATUS_WEIGHTS = {
    EnrollmentStatus.DRAFT: 2, EnrollmentStatus.SUBMITTED: 15, EnrollmentStatus.VERIFIED: 20,
    EnrollmentStatus.REGISTERED: 15, EnrollmentStatus.ACTIVE: 40, EnrollmentStatus.REJECTED: 3,
    EnrollmentStatus.ENDED: 5,
}
HISTORY_DAYS = 365
_TABLES_WITH_IDS = ("asn", "workers", "enrollments", "consents", "deduction_agreements")


@dataclass(frozen=True, slots=True)
class Dataset:
    """A built database: where, how big, the keys its personal data is encrypted with, and
    the moment its dates are relative to (enrolments fall in the year before `built_at`)."""

    url: str
    asn: int
    enrolments: int
    encryption_key: str
    hash_key: str
    built_at: datetime

    def settings(self, **overrides: Any) -> Settings:
        """Settings on this database with its keys (no .env read): the bot sees its data."""
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=self.url,
            data_encryption_keys=self.encryption_key,
            nik_hash_key=self.hash_key,
            **overrides,
        )

    def cipher(self) -> PersonalDataCipher:
        return PersonalDataCipher([self.encryption_key], self.hash_key)


def head_revision() -> str:
    """The Alembic head: a template built at an older schema is never reused."""
    directory = ScriptDirectory(str(Path(storage.database.__file__).parent / "migrations"))
    head = directory.get_current_head()
    if head is None:
        raise RuntimeError("no Alembic head revision")
    return head


def cache_key(asn: int, enrolments: int) -> str:
    """Size, Alembic head and a digest of the migrations and the dataset's own code: a
    revision edited in place (before it landed) must not reuse a template of its old form."""
    digest = hashlib.sha256()
    folder = Path(storage.database.__file__).parent / "migrations" / "versions"
    for path in [*sorted(folder.glob("*.py")), Path(__file__)]:
        digest.update(path.read_bytes())
    return f"bench_{asn}_{enrolments}_{head_revision()}_{digest.hexdigest()[:8]}".lower()


async def build(url: str, asn: int, enrolments: int = 0, *, cache: bool = True) -> Dataset:
    """Make the database at `url` hold `asn` demo ASN and `enrolments` enrolments.

    SQLite: `url`'s file must not exist yet; it becomes a copy of the cached template (built
    first when missing). PostgreSQL: `url`'s database must not exist yet (see
    `fresh_postgres_url`); it is created from the cached template database. `cache=False`
    builds straight into `url` and keeps nothing.
    """
    if asn < 1:
        raise ValueError("at least one ASN (the demo ASN) is needed")
    if enrolments and asn < 2:
        raise ValueError("enrolments need ASN besides the demo ASN, who has none")
    backend = make_url(url).get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(f"no benchmark dataset for {backend}")
    builder = _build_sqlite if backend == "sqlite" else _build_postgres
    if not cache:
        return await builder(url, asn, enrolments, cache)
    CACHE.mkdir(parents=True, exist_ok=True)
    # Two benchmarks (or a test and a benchmark) wanting the same template build it once.
    with (CACHE / f"{cache_key(asn, enrolments)}.lock").open("w") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        return await builder(url, asn, enrolments, cache)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("a benchmark database needs a file")
    return Path(database)


def _read_meta(key: str) -> dict[str, Any] | None:
    """The keys and build moment of the templates of `key`: the SQLite and the PostgreSQL
    template of one key share them, so both hold the same rows."""
    meta = CACHE / f"{key}.json"
    return json.loads(meta.read_text()) if meta.exists() else None


def _write_meta(key: str, meta: dict[str, Any], template: str) -> None:
    """Record that `template` ("sqlite" or "postgresql") of `key` now holds `meta`'s rows;
    a template built before under other keys is thereby no longer listed."""
    meta["templates"] = sorted({*meta["templates"], template})
    (CACHE / f"{key}.json").write_text(json.dumps(meta))


def _dataset(url: str, asn: int, enrolments: int, meta: dict[str, Any]) -> Dataset:
    return Dataset(url, asn, enrolments, meta["encryption_key"], meta["hash_key"],
                   datetime.fromisoformat(meta["built_at"]))


def _new_meta() -> dict[str, Any]:
    return {"encryption_key": generate_key(), "hash_key": generate_key(),
            "built_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "templates": []}


async def _build_sqlite(url: str, asn: int, enrolments: int, cache: bool) -> Dataset:
    target = _sqlite_path(url)
    if target.exists():
        raise FileExistsError(f"{target} exists: a dataset is built into a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not cache:
        meta = _new_meta()
        await _fill(url, asn, enrolments, meta)
        _checkpoint(target)
        return _dataset(url, asn, enrolments, meta)
    key = cache_key(asn, enrolments)
    template = CACHE / f"{key}.sqlite"
    meta = _read_meta(key)
    if meta is None or not template.exists() or "sqlite" not in meta["templates"]:
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = template.with_suffix(".partial")
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
        meta = meta or _new_meta()
        await _fill(f"sqlite+aiosqlite:///{partial}", asn, enrolments, meta)
        _checkpoint(partial)
        partial.replace(template)
        _write_meta(key, meta, "sqlite")
    shutil.copyfile(template, target)
    return _dataset(url, asn, enrolments, meta)


async def _build_postgres(url: str, asn: int, enrolments: int, cache: bool) -> Dataset:
    name = make_url(url).database
    if not name:
        raise ValueError("a PostgreSQL benchmark URL names its database")
    if not cache:
        meta = _new_meta()
        await _postgres_admin(url, f'CREATE DATABASE "{name}"')
        await _fill(url, asn, enrolments, meta)
        return _dataset(url, asn, enrolments, meta)
    key = cache_key(asn, enrolments)
    meta = _read_meta(key)
    exists = await _postgres_admin(url, f"SELECT 1 FROM pg_database WHERE datname = '{key}'")
    if meta is None or not exists or "postgresql" not in meta["templates"]:
        CACHE.mkdir(parents=True, exist_ok=True)
        await _postgres_admin(url, f'DROP DATABASE IF EXISTS "{key}" WITH (FORCE)')
        await _postgres_admin(url, f'CREATE DATABASE "{key}"')
        meta = meta or _new_meta()
        await _fill(make_url(url).set(database=key).render_as_string(hide_password=False),
                    asn, enrolments, meta)
        _write_meta(key, meta, "postgresql")
    await _postgres_admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{key}"')
    return _dataset(url, asn, enrolments, meta)


async def _postgres_admin(url: str, statement: str) -> bool:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE cannot
    run inside the database concerned); True when it returned a row."""
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
        user=parsed.username or "postgres", password=parsed.password, database="postgres",
        timeout=10,
    )
    try:
        return bool(await connection.fetch(statement))
    finally:
        await connection.close()


def fresh_postgres_url(base: str = POSTGRES_ADMIN_URL) -> str:
    """The URL of a database that does not exist yet on `base`'s server (for `build`)."""
    name = f"bench_run_{uuid.uuid4().hex[:12]}"
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def drop_postgres(url: str) -> None:
    """Drop the database of `url`, closing whatever is still connected to it."""
    await _postgres_admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" '
                               "WITH (FORCE)")


@contextlib.asynccontextmanager
async def postgres_database(base: str = POSTGRES_ADMIN_URL) -> AsyncIterator[str]:
    """A fresh database's URL for `build`, dropped at the end whatever happened."""
    url = fresh_postgres_url(base)
    try:
        yield url
    finally:
        await drop_postgres(url)


@contextlib.asynccontextmanager
async def dataset(engine: str, asn: int, enrolments: int = 0,
                  postgres_url: str = POSTGRES_ADMIN_URL) -> AsyncIterator[Dataset]:
    """A built database on `engine` ("sqlite": a file in a temporary folder; "postgresql": a
    fresh database on `postgres_url`'s server), removed at the end."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="asn-bench-") as folder:
            yield await build(f"sqlite+aiosqlite:///{folder}/asn.db", asn, enrolments)
        return
    if engine != "postgresql":
        raise ValueError(f"unknown engine {engine!r}")
    async with postgres_database(postgres_url) as url:
        yield await build(url, asn, enrolments)


async def _fill(url: str, asn: int, enrolments: int, meta: dict[str, Any]) -> None:
    """Migrate the empty database at `url` and write the rows."""
    engine = create_engine(url)
    try:
        await storage.database.upgrade(engine)
        built_at = datetime.fromisoformat(meta["built_at"])
        people = demo_people(asn, SEED)
        async with engine.begin() as connection:
            opd, kecamatan = await _units(connection)
        await _write_asn(engine, people, opd, kecamatan, built_at)
        if enrolments:
            cipher = PersonalDataCipher([meta["encryption_key"]], meta["hash_key"])
            await _write_enrolments(engine, people, enrolments, kecamatan, cipher, built_at)
        await _finish(engine)
    finally:
        await engine.dispose()


async def _units(connection: AsyncConnection) -> tuple[dict[str, int], dict[str, int]]:
    """The 38 OPD and 20 kecamatan as the demo data writes them; their ids by name."""
    session = AsyncSession(bind=connection)
    kecamatan = await store.ensure_units(
        session, UnitKind.KECAMATAN, {item.name: item.code for item in read_kecamatan()})
    opd = await store.ensure_units(session, UnitKind.OPD, dict.fromkeys(OPD_NAMES))
    await session.flush()
    return opd, kecamatan


def _chunks(rows: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


async def _insert(engine: AsyncEngine, table: Table, rows: list[dict[str, Any]]) -> None:
    """One transaction, one executemany."""
    if rows:
        async with engine.begin() as connection:
            await connection.execute(table.insert(), rows)


async def _write_asn(engine: AsyncEngine, people: list[DemoPerson], opd: dict[str, int],
                     kecamatan: dict[str, int], now: datetime) -> None:
    table = Asn.__table__
    for offset, chunk in zip(range(0, len(people), CHUNK), _chunks(people), strict=True):
        await _insert(engine, table, [
            {"id": offset + number + 1, "nip": person.nip, "name": person.name,
             "unit_id": opd[person.unit], "kecamatan_id": kecamatan[person.kecamatan],
             "phone": person.phone, "position": person.position, "updated_at": now,
             "reminders_enabled": True}
            for number, person in enumerate(chunk)
        ])


@dataclass(frozen=True, slots=True)
class _Enrolment:
    """One generated enrolment with its worker, before encryption."""

    asn_index: int
    nik: str
    name: str
    birth_date: date
    phone: str | None
    occupation: str
    desa: str
    kecamatan: str
    relationship: str
    channel: str
    status: str
    submitted_at: datetime | None
    decided_at: datetime | None
    registered_at: datetime | None
    ended_at: datetime | None
    kpj_number: str | None


def _enrolments(people: int, count: int, now: datetime) -> Iterator[_Enrolment]:
    """`count` enrolments of ASN 1..people-1 (with replacement: some ASN protect two), each
    of its own worker with a unique, structurally valid NIK; dates over the last year."""
    rng = random.Random(f"{SEED}:bench-enrolments")
    places = read_kecamatan()
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    niks: set[str] = set()
    first_birth, birth_span = date(1965, 1, 1), (date(2004, 12, 31) - date(1965, 1, 1)).days
    for _ in range(count):
        place = rng.choice(places)
        female = rng.random() < 0.6
        born = first_birth + timedelta(days=rng.randint(0, birth_span))
        day = born.day + 40 if female else born.day
        while True:
            nik = f"{place.nik_region}{day:02d}{born:%m%y}{rng.randint(1, 9999):04d}"
            if nik not in niks:
                niks.add(nik)
                break
        given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        surname = rng.choice(FEMALE_SURNAMES if female else MALE_SURNAMES)
        status = rng.choices(statuses, weights)[0]
        created = now - timedelta(seconds=rng.randint(3_600, HISTORY_DAYS * 86_400))
        submitted = (None if status == EnrollmentStatus.DRAFT
                     else created + timedelta(minutes=rng.randint(2, 30)))
        decided = registered = ended = None
        if submitted is not None and status != EnrollmentStatus.SUBMITTED:
            decided = min(now, submitted + timedelta(hours=rng.randint(2, 240)))
        if status in COVERED_STATUSES or (status == EnrollmentStatus.ENDED and rng.random() < 0.5):
            registered = min(now, (decided or now) + timedelta(hours=rng.randint(24, 480)))
        if status == EnrollmentStatus.ENDED and submitted is not None:
            ended = submitted + (now - submitted) * rng.random()
            registered = registered if registered is None else min(registered, ended)
        yield _Enrolment(
            asn_index=rng.randrange(1, people),
            nik=nik,
            name=f"{given} {surname}".upper(),
            birth_date=born,
            phone=(f"+62{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99_999_999):08d}"
                   if rng.random() < 0.6 else None),
            occupation=rng.choice(OCCUPATIONS),
            desa=rng.choice(DESA),
            kecamatan=place.name,
            relationship=rng.choice(RELATIONSHIPS),
            channel=rng.choice(("telegram", "telegram", "whatsapp")),
            status=status,
            submitted_at=submitted,
            decided_at=decided,
            registered_at=registered,
            ended_at=ended,
            kpj_number=(f"{rng.randint(10**10, 10**11 - 1)}"
                        if status in COVERED_STATUSES else None),
        )


# Stand-ins rendered into the agreement's words once per first month, then replaced per row:
# rendering the template for each of 300,000 rows would cost most of the build.
_MARKS = {key: f"\x00{key}\x00" for key in ("asn_name", "nip", "worker", "nik")}


class _Wordings:
    """The consent and agreement words, rendered by the real templates, memoised."""

    def __init__(self) -> None:
        self._renderer = Renderer()
        self._schedule = tuple(PremiumRate(row.effective_from, row.jkk, row.jkm)
                               for row in DEFAULT_SCHEDULE)
        self.consent = lru_cache(maxsize=None)(self._consent)
        self._agreement_frame = lru_cache(maxsize=None)(self._frame)

    def _consent(self, worker: str, phone: bool) -> str:
        return self._renderer.text("enrollment/consent_wording", consent_context(worker, phone))

    def _frame(self, day: date) -> tuple[str, PremiumRate, date]:
        first_month, rate = first_deduction(self._schedule, day, offset_months=1)
        terms = agreement_terms(_MARKS["asn_name"], _MARKS["nip"], _MARKS["worker"],
                                _MARKS["nik"], rate, first_month, workers=1)
        return self._renderer.text("deduction/agreement_wording", terms), rate, first_month

    def agreement(self, day: date, values: dict[str, str]) -> tuple[str, PremiumRate, date]:
        frame, rate, first_month = self._agreement_frame(day.replace(day=1))
        for key, value in values.items():
            frame = frame.replace(_MARKS[key], value)
        return frame, rate, first_month


async def _write_enrolments(engine: AsyncEngine, people: list[DemoPerson], count: int,
                            kecamatan: dict[str, int], cipher: PersonalDataCipher,
                            now: datetime) -> None:
    """Workers, enrolments, consents and agreements, CHUNK at a time; row ids are the
    enrolment's number + 1 in every table."""
    wordings = _Wordings()
    encrypt = cipher.encrypt
    workers: list[dict[str, Any]] = []
    enrolled: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    agreements: list[dict[str, Any]] = []
    for number, item in enumerate(_enrolments(len(people), count, now), start=1):
        person = people[item.asn_index]
        created = (item.submitted_at or now) - timedelta(minutes=1)
        workers.append({
            "id": number, "nik_hash": cipher.nik_hash(item.nik), "nik_enc": encrypt(item.nik),
            "nik_masked": mask_nik(item.nik), "name": item.name,
            "birth_date_enc": encrypt(item.birth_date.isoformat()),
            "phone_enc": encrypt(item.phone) if item.phone else None,
            "occupation": item.occupation, "desa": item.desa,
            "kecamatan_id": kecamatan[item.kecamatan], "kecamatan_name": item.kecamatan,
            "updated_at": created,
        })
        stop_month = None if item.ended_at is None else _month_after(item.ended_at)
        enrolled.append({
            "id": number, "asn_id": item.asn_index + 1, "worker_id": number,
            "relationship": item.relationship, "status": item.status, "channel": item.channel,
            "created_at": created, "submitted_at": item.submitted_at, "ended_at": item.ended_at,
            "end_reason": "Pekerja pindah domisili" if item.ended_at else None,
            "deduction_stop_month": stop_month, "kpj_number": item.kpj_number,
            "decided_at": item.decided_at, "decided_by_asn_id": None,
            "rejection_reason": ("Data tidak sesuai KTP"
                                 if item.status == EnrollmentStatus.REJECTED else None),
            "registered_at": item.registered_at,
        })
        consents.append({
            "id": number, "enrollment_id": number, "worker_id": number,
            "wording_version": CONSENT_VERSION,
            "wording": wordings.consent(item.name, item.phone is not None),
            "channel": item.channel, "given_at": created,
        })
        if item.submitted_at is not None:
            wording, rate, first_month = wordings.agreement(
                item.submitted_at.astimezone(JAKARTA).date(),
                {"asn_name": person.name, "nip": person.nip, "worker": item.name,
                 "nik": mask_nik(item.nik)})
            agreements.append({
                "id": number, "asn_id": item.asn_index + 1, "enrollment_id": number,
                "wording_version": AGREEMENT_VERSION, "wording": wording,
                "premium_jkk": rate.jkk, "premium_jkm": rate.jkm, "monthly_total": rate.total,
                "first_month": first_month, "channel": item.channel,
                "agreed_at": item.submitted_at,
            })
        if len(workers) >= CHUNK:
            await _write_chunk(engine, workers, enrolled, consents, agreements)
    await _write_chunk(engine, workers, enrolled, consents, agreements)


def _month_after(at: datetime) -> date:
    """The first salary month no longer deducted after an enrolment ended at `at`."""
    local = at.astimezone(JAKARTA).date()
    return date(local.year + local.month // 12, local.month % 12 + 1, 1)


async def _write_chunk(engine: AsyncEngine, *batches: list[dict[str, Any]]) -> None:
    """Write the four tables' pending rows in one transaction and empty the lists."""
    tables = (Worker.__table__, Enrollment.__table__, Consent.__table__,
              DeductionAgreement.__table__)
    async with engine.begin() as connection:
        for table, rows in zip(tables, batches, strict=True):
            if rows:
                await connection.execute(table.insert(), rows)
    for rows in batches:
        rows.clear()


async def _finish(engine: AsyncEngine) -> None:
    """PostgreSQL: move the id sequences past the explicit ids and gather statistics, as
    autovacuum would on a live server."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.begin() as connection:
        for table in _TABLES_WITH_IDS:
            await connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"))
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE"))


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so that a copy of the file alone is the whole database."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _main() -> None:
    parser = argparse.ArgumentParser(description="Build (and cache) a benchmark database.")
    parser.add_argument("--asn", type=int, default=1_000_000)
    parser.add_argument("--enrolments", type=int, default=300_000)
    parser.add_argument("--postgres", action="store_true",
                        help="build the PostgreSQL template too (SQLite always)")
    arguments = parser.parse_args()

    async def run() -> None:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            await build(f"sqlite+aiosqlite:///{folder}/asn.db", arguments.asn,
                        arguments.enrolments)
            print(f"sqlite: {time.perf_counter() - started:.1f} s")
        if arguments.postgres:
            started = time.perf_counter()
            async with postgres_database() as url:
                await build(url, arguments.asn, arguments.enrolments)
            print(f"postgresql: {time.perf_counter() - started:.1f} s")

    asyncio.run(run())


if __name__ == "__main__":
    _main()
