"""Flow-test fixtures: a fixed, movable clock and a fresh SQLite file per test.

Migrating takes most of a test's setup, so the schema is built once per session and each
test starts from a copy of that file. Walking a chat to a deep state takes a dozen updates,
so `at(state)` walks there once per session (through the real dispatcher, one step from the
previous state's copy) and hands every later test a copy of that database, the same keys and
what the user saw so far: the same as the bot restarting at that point. Every test also
fails if the dispatcher had to answer with its apology: a crash hidden behind a kind message
is still a crash.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, create_app
from bot.console import Shown
from bot.settings import Settings
from tests.conftest import BUDI, SRI, make_settings, seed_roster
from tests.support.chat import ChatClient
from tests.support.route import ROUTE

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
async def budi(at) -> ChatClient:
    """Overrides the root fixture: Budi's chat at the main menu, from a snapshot."""
    return await at("Menu:main")


@pytest.fixture
async def sri(budi) -> ChatClient:
    """Sri's chat on Budi's application, identified and at the main menu."""
    return await login(ChatClient(budi.app, user_id="2002"), SRI)


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
    records = caplog.get_records("setup") + caplog.get_records("call")
    failures = [r for r in records if r.name == "bot.dispatcher"
                and r.getMessage().startswith("update failed")]
    assert not failures, "\n".join(logging.Formatter().format(r) for r in failures)


@dataclass(frozen=True)
class Snapshot:
    """A conversation stopped at a state: its database file, keys, and the messages shown."""

    path: Path
    settings: Settings
    shown: tuple[Shown, ...]


_SNAPSHOTS: dict[str, Snapshot] = {}


def _sqlite_path(settings: Settings) -> Path:
    path = settings.sqlite_path()
    assert path is not None
    return path


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live WAL database (committed data only)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


At = Callable[[str], Awaitable[ChatClient]]


@pytest.fixture
async def at(make_app, tmp_path, tmp_path_factory, clock) -> At:
    """`await at("Enrollment:summary")`: Budi's chat (user 1001) standing at that state,
    on its own database, with the history of how it got there."""
    store = tmp_path_factory.getbasetemp() / "snapshots"
    store.mkdir(exist_ok=True)

    async def restore(snapshot: Snapshot) -> ChatClient:
        path = tmp_path / f"at{len(list(tmp_path.iterdir()))}.db"
        _copy_database(snapshot.path, path)
        settings = snapshot.settings.model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{path}"}
        )
        client = ChatClient(await make_app(settings=settings), user_id="1001")
        client.console.shown.extend(snapshot.shown)
        return client

    async def go(state: str) -> ChatClient:
        if state in _SNAPSHOTS:
            return await restore(_SNAPSHOTS[state])
        parent, action = ROUTE[state]
        client = (ChatClient(await make_app(), user_id="1001") if parent is None
                  else await go(parent))
        await action(client)
        reached = (await client.state())[0]
        assert reached == state, f"wanted {state}, at {reached}: {client.last.text}"
        if clock.now == NOW:  # snapshots are all taken at the same moment
            path = store / f"{state.replace(':', '_')}.db"
            _copy_database(_sqlite_path(client.app.settings), path)
            _SNAPSHOTS[state] = Snapshot(path, client.app.settings, tuple(client.history))
        return client

    return go
