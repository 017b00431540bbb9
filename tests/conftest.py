"""Shared fixtures: settings, a migrated database (SQLite file, or a fresh PostgreSQL database
per test), the application, a seeded roster and the chat driver.

PostgreSQL tests skip with a reason when the server is unreachable, except under CI=true,
where they fail instead: CI must prove both engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from bot.app import App, create_app
from bot.settings import Settings
from storage.crypto import generate_key
from storage.models import Asn, Unit
from tests.support.chat import ChatClient

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# The tests whose outcome could depend on the wall clock: they read today (deduction months,
# reports, exports, rate windows, WhatsApp's 24-hour window) or run the bot as a process whose
# scheduler speaks on working days from 09:00. Marked `clock`; tests/test_clock_sweep.py runs
# them again at other instants, `./dev test-clock` runs the whole suite at every instant.
CLOCK_SENSITIVE = (
    "tests/e2e/", "tests/flows/", "tests/storage/test_outbox_claims.py",
    "tests/storage/test_reports.py", "tests/bot/test_whatsapp_webhook.py",
    "tests/test_bench.py", "tests/admin/test_bpjs_import.py", "tests/admin/test_cli_roles.py",
    "tests/admin/test_demo_data.py", "tests/admin/test_export_injection.py",
    "tests/admin/test_exports.py", "tests/admin/test_privacy_scan.py",
    "tests/admin/test_roster_import.py", "tests/bot/test_dispatcher.py",
    "tests/bot/test_pacing.py", "tests/bot/test_reminders.py", "tests/bot/test_sender.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clock: its outcome could depend on the wall clock")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix()
        if where.startswith(CLOCK_SENSITIVE):
            item.add_marker(pytest.mark.clock)


def make_settings(database_url: str, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        data_encryption_keys=generate_key(),
        nik_hash_key=generate_key(),
        **overrides,  # type: ignore[arg-type]
    )


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    url = make_url(POSTGRES_URL)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=url.database, timeout=5,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


_postgres_checked: dict[str, str | None] = {}


def require_postgres() -> None:
    """Skip (or, under CI, fail) when the PostgreSQL server cannot be reached."""
    if "error" not in _postgres_checked:
        try:
            asyncio.run(_postgres_admin("SELECT 1"))
            _postgres_checked["error"] = None
        except Exception as error:  # any failure to connect means "no server here"
            _postgres_checked["error"] = f"{type(error).__name__}: {error}"
    error = _postgres_checked["error"]
    if error is not None:
        message = f"PostgreSQL at {POSTGRES_URL} unreachable ({error})"
        if IN_CI:
            pytest.fail(message + "; under CI=true the PostgreSQL tests must run")
        pytest.skip(message)


def _loggers() -> list[logging.Logger]:
    return [logging.getLogger(), *(logger for logger in logging.root.manager.loggerDict.values()
                                   if isinstance(logger, logging.Logger))]


@pytest.fixture(autouse=True)
def _log_levels_restored() -> Iterator[None]:
    """A command run in a test sets the process's log levels (bot/logs.py): the next test
    starts from the levels this one found."""
    saved = {logger.name: logger.level for logger in _loggers()}
    yield
    for logger in _loggers():
        logger.setLevel(saved.get(logger.name, logging.NOTSET))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    require_postgres()
    name = f"asn_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'asn.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    """Both engines: tests using this run once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@contextlib.asynccontextmanager
async def migrated_app(settings: Settings, clock: Callable[[], datetime] | None = None,
                       roster: bool = False) -> AsyncIterator[App]:
    """The application on its migrated database (with `seed_roster` when `roster`), closed
    at the end."""
    application = create_app(settings, clock=clock)
    try:
        await application.migrate()
        if roster:
            await seed_roster(application)
        yield application
    finally:
        await application.close()


@pytest.fixture
async def app(sqlite_url) -> AsyncIterator[App]:
    """The application on a migrated SQLite file (flow tests run here)."""
    async with migrated_app(make_settings(sqlite_url)) as application:
        yield application


@pytest.fixture
async def app_any_db(database_url) -> AsyncIterator[App]:
    """The application on SQLite and on PostgreSQL."""
    async with migrated_app(make_settings(database_url)) as application:
        yield application


@dataclass(frozen=True)
class RosterPerson:
    nip: str
    name: str
    phone_local: str
    phone: str
    unit: str


BUDI = RosterPerson("198503152010011001", "Budi Santoso", "081234567890", "+6281234567890",
                    "Dinas Kesehatan")
SRI = RosterPerson("199001012015032002", "Sri Lestari", "085712345678", "+6285712345678",
                   "Dinas Pendidikan dan Kebudayaan")
KECAMATAN = [("33.24.14", "Patebon"), ("33.24.15", "Kendal"), ("33.24.08", "Kaliwungu")]


async def seed_roster(app: App) -> None:
    """Two OPD, three kecamatan and two ASN: enough for every flow."""
    async with app.sessions.begin() as session:
        units = {}
        for person in (BUDI, SRI):
            unit = Unit(kind="opd", name=person.unit)
            session.add(unit)
            units[person.unit] = unit
        for code, name in KECAMATAN:
            session.add(Unit(kind="kecamatan", name=name, code=code))
        await session.flush()
        for person in (BUDI, SRI):
            session.add(Asn(nip=person.nip, name=person.name, unit_id=units[person.unit].id,
                            phone=person.phone, updated_at=datetime.now(UTC)))


@pytest.fixture
async def seeded(app) -> App:
    await seed_roster(app)
    return app


@pytest.fixture
async def chat(seeded) -> ChatClient:
    """Budi's chat, not yet identified."""
    return ChatClient(seeded, user_id="1001")


@pytest.fixture
async def budi(seeded) -> ChatClient:
    """Budi's chat, identified and at the main menu."""
    client = ChatClient(seeded, user_id="1001")
    await client.send("/mulai")
    await client.send(BUDI.nip)
    await client.share_contact(BUDI.phone_local)
    return client
