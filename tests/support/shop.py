"""The exports' shop: the report world's database on a fixed clock (5 October 2025 10:00
WIB) with a premium schedule that has a 50% discount in September 2025 only, so a payroll
list shows which month's premium each row was priced at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from bot.app import App
from bot.settings import PremiumRow
from tests.conftest import make_settings, migrated_app

NOW = datetime(2025, 10, 5, 3, 0, tzinfo=UTC)
# The regular premium, a 50% discount in September 2025 only, then the regular one again.
SCHEDULE = [
    PremiumRow(effective_from=date(2022, 1, 1), jkk=10_000, jkm=6_800),
    PremiumRow(effective_from=date(2025, 9, 1), jkk=5_000, jkm=3_400),
    PremiumRow(effective_from=date(2025, 10, 1), jkk=10_000, jkm=6_800),
]


@asynccontextmanager
async def open_shop(database_url: str) -> AsyncIterator[App]:
    """A migrated, empty application on `database_url` with the schedule and clock above."""
    settings = make_settings(database_url, premium_schedule=SCHEDULE)
    async with migrated_app(settings, clock=lambda: NOW) as app:
        yield app
