"""What every end-to-end test shares: no connection leaves 127.0.0.1, the fake platforms,
the child processes a test starts (killed and reaped at its end, whatever happened), the web
server on a module's own `settings`, and the Telegram bot polling the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.app import App
from bot.settings import Settings
from bot.telegram.channel import TelegramBot
from bot.web import web_server_from_settings
from tests.conftest import migrated_app
from tests.support.fake_graph import FakeGraph, RunningServer, running
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import loopback_only
from tests.support.processes import kill
from tests.support.telegram_user import fast_settings, make_bot


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_only(monkeypatch)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Telegram Bot API."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    """The fake WhatsApp Cloud API."""
    async with FakeGraph() as server:
        yield server


@pytest.fixture
async def children() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Append every child process a test starts: each is killed and reaped at its end."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for child in started:
        kill(child)
        await asyncio.wait_for(child.wait(), 10)


@pytest.fixture
async def web_app(settings: Settings) -> AsyncIterator[App]:
    """The application behind the web server, on the `settings` fixture of the test module
    (each web test module says which channels and limits it runs with), Budi and Sri on the
    roster."""
    async with migrated_app(settings, roster=True) as application:
        yield application


@pytest.fixture
async def server(web_app: App) -> AsyncIterator[RunningServer]:
    """`web_app`'s web server (webhooks, health) on a free loopback port."""
    async with running(web_server_from_settings(web_app)) as started:
        yield started


@pytest.fixture
def tg_settings(sqlite_url: str, fake: FakeTelegram) -> Settings:
    """The Telegram bot's settings: a SQLite file, the fake Bot API, replies unpaced."""
    return fast_settings(sqlite_url, fake)


@pytest.fixture
async def tg_app(tg_settings: Settings) -> AsyncIterator[App]:
    """The application on its migrated database with Budi and Sri on the roster."""
    async with migrated_app(tg_settings, roster=True) as application:
        yield application


@pytest.fixture
async def bot(tg_app: App) -> AsyncIterator[TelegramBot]:
    """The Telegram bot polling the fake Bot API, stopped at the end of the test."""
    runner = make_bot(tg_app)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()
