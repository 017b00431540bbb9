"""Flow-test fixtures: a fixed, movable clock and a fresh migrated SQLite file per test.

Migrating takes most of a test's setup, so the schema is built once per session and each
test starts from a copy of that file. Every test also fails if the dispatcher had to answer
with its apology: a crash hidden behind a kind message is still a crash.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, create_app
from bot.settings import Settings
from tests.chat import ChatClient
from tests.conftest import BUDI, SRI, make_settings, seed_roster

# 21 Agustus 2025, 10.00 WIB: the first deduction month is September 2025.
NOW = datetime(2025, 8, 21, 3, 0, tzinfo=UTC)


class Clock:
    """The application's clock; tests move it to cross a time window."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory) -> Path:
    """An empty database at the latest migration, built once (in a thread with its own loop,
    so pytest-asyncio's loops are left alone)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"

    async def build() -> None:
        application = create_app(make_settings(f"sqlite+aiosqlite:///{path}"))
        try:
            await application.migrate()
        finally:
            await application.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, build()).result()
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists(), "the template must be checkpointed"
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


AppFactory = Callable[..., Awaitable[App]]


@pytest.fixture
async def make_app(tmp_path, migrated_file, clock) -> AsyncIterator[AppFactory]:
    """Build seeded applications with settings overrides, each on its own database file;
    `settings=` reuses a Settings object (same file, same keys: a restart)."""
    built: list[App] = []

    async def factory(settings: Settings | None = None, **overrides: object) -> App:
        if settings is None:
            path = tmp_path / f"asn{len(built)}.db"
            shutil.copyfile(migrated_file, path)
            settings = make_settings(f"sqlite+aiosqlite:///{path}", **overrides)
            application = create_app(settings, clock=clock)
            await seed_roster(application)
        else:
            application = create_app(settings, clock=clock)
        built.append(application)
        return application

    try:
        yield factory
    finally:
        for application in built:
            await application.close()


@pytest.fixture
async def seeded(make_app) -> App:
    """Overrides the root fixture: the same roster, on a copied file, with the test clock."""
    return await make_app()


@pytest.fixture
async def sri(seeded) -> ChatClient:
    """Sri's chat, identified and at the main menu."""
    return await login(ChatClient(seeded, user_id="2002"), SRI)


async def login(client: ChatClient, person=BUDI) -> ChatClient:
    await client.send("/mulai")
    await client.send(person.nip)
    await client.share_contact(person.phone_local)
    assert (await client.state())[0] == "Menu:main", client.last.text
    return client


@pytest.fixture(autouse=True)
def _no_apology(caplog):
    """The dispatcher logs and apologises when a flow raises; no flow test may cause that."""
    caplog.set_level(logging.ERROR, logger="bot.dispatcher")
    yield
    failures = [r for r in caplog.records if r.name == "bot.dispatcher" and r.exc_info]
    assert not failures, caplog.text
