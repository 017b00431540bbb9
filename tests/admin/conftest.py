"""The admin tests' shared fixture: the exports' shop (tests/support/shop.py) on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import App
from tests.support.shop import open_shop


@pytest.fixture
async def shop(sqlite_url: str) -> AsyncIterator[App]:
    """The report fixture's database on SQLite with the discounted schedule and a fixed
    clock."""
    async with open_shop(sqlite_url) as app:
        yield app
