"""What every end-to-end test shares: no connection leaves 127.0.0.1, the fake platforms,
and the child processes a test starts (killed and reaped at its end, whatever happened)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.fake_graph import FakeGraph
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import loopback_only
from tests.support.processes import kill


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
