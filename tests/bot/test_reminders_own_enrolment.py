"""A coordinator's daily reminder counts only what they may verify: never an enrolment they
submitted themselves (another coordinator of the OPD verifies it, and is reminded of it).
The rule is SQL, so it runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.scheduler import Scheduler
from tests.support.outbox_texts import outbox
from tests.support.reminder_world import World, wib


@pytest.fixture
def world(app_any_db: App) -> World:
    return World(app_any_db)


async def test_a_coordinator_is_not_reminded_of_their_own_enrolment(app_any_db, world):
    scheduler = Scheduler(app_any_db)
    health = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", health)
    await world.coordinator(budi, health)
    await world.enrolment(budi, "submitted", wib(20, 10))
    assert await scheduler.run_once(wib(21, 9)) == 0  # Thursday nine: only his own waits
    assert await outbox(app_any_db) == []

    ahmad = await world.asn("Ahmad Fauzi", health)
    await world.coordinator(ahmad, health)
    await world.enrolment(await world.asn("Health Member", health), "submitted",
                          wib(21, 10))
    assert await scheduler.run_once(wib(22, 9)) == 2  # Friday
    by_chat = {sent.chat_id: sent.text for sent in await outbox(app_any_db)}
    assert "<b>1 pendaftaran menunggu verifikasi</b>" in by_chat[world.chat_of(budi)]
    assert "<b>2 pendaftaran menunggu verifikasi</b>" in by_chat[world.chat_of(ahmad)]
