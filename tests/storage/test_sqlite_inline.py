"""SQLite on the event loop's thread: one writer at a time per process, in order, and no
way for one task's transaction to swallow or wait for another's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from storage.models import ProcessedUpdate
from tests.conftest import make_settings, migrated_app

NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


@pytest.fixture
async def app(sqlite_url):
    async with migrated_app(make_settings(sqlite_url)) as application:
        yield application


async def _claimed(app) -> list[str]:
    async with app.sessions() as session:
        return sorted(await session.scalars(select(ProcessedUpdate.update_id)))


@contextlib.asynccontextmanager
async def claimed(app, update_id: str, inside: asyncio.Event) -> AsyncIterator[None]:
    """Inside an update's transaction that has claimed `update_id`; `inside` tells others."""
    async with app.updates() as update:
        await update.claim("telegram", update_id, NOW)
        inside.set()
        yield


async def test_an_update_waits_for_the_one_before_instead_of_joining_its_transaction(app):
    started = asyncio.Event()

    async def failing() -> None:
        async with claimed(app, "A", started):
            await asyncio.sleep(0.05)  # the loop runs others meanwhile
            raise RuntimeError("the flow failed")

    async def second() -> None:
        await started.wait()
        async with app.updates() as update:
            await update.claim("telegram", "B", NOW)

    results = await asyncio.gather(failing(), second(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert await _claimed(app) == ["B"]  # A rolled back alone; B committed alone


async def test_a_second_transaction_in_the_same_task_is_refused_not_waited_for(app):
    async with app.updates() as update:
        await update.claim("telegram", "A", NOW)
        with pytest.raises(RuntimeError, match="second SQLite transaction"):
            async with app.sessions.begin() as other:
                await other.execute(text("SELECT 1"))
    assert await _claimed(app) == ["A"]


async def test_a_cancelled_update_rolls_back_and_frees_the_writer(app):
    inside = asyncio.Event()

    async def slow() -> None:
        async with claimed(app, "A", inside):
            await asyncio.sleep(60)

    task = asyncio.create_task(slow())
    await inside.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with asyncio.timeout(5):  # the writer is free at once
        async with app.sessions.begin() as session:
            assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_writers_of_other_sessions_queue_behind_an_update_in_order(app):
    order: list[str] = []
    inside = asyncio.Event()

    async def update_first() -> None:
        async with app.updates() as update:
            inside.set()
            await asyncio.sleep(0.05)
            await update.claim("telegram", "A", NOW)
            order.append("update")

    async def sender_like() -> None:
        await inside.wait()
        async with app.sessions.begin() as session:
            await session.execute(text("SELECT 1"))
            order.append("session")

    await asyncio.gather(update_first(), sender_like())
    assert order == ["update", "session"]
