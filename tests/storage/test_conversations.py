"""The conversation store: aiogram's own FSMContext drives it, on SQLite and PostgreSQL."""

import asyncio
import inspect

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from sqlalchemy import select

from storage.conversations import ConversationKey, SqlConversationStorage
from storage.models import ConversationState


class Form(StatesGroup):
    nik = State()
    name = State()


@pytest.fixture
def storage(app_any_db) -> SqlConversationStorage:
    return SqlConversationStorage(app_any_db.sessions, app_any_db.cipher)


def test_matches_aiogram_base_storage_interface():
    for name in BaseStorage.__abstractmethods__ | {"get_value", "update_data"}:
        ours = inspect.signature(getattr(SqlConversationStorage, name))
        theirs = inspect.signature(getattr(BaseStorage, name))
        assert list(ours.parameters) == list(theirs.parameters), name


async def test_aiogram_fsm_context_round_trip(storage):
    key = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
    context = FSMContext(storage=storage, key=key)  # type: ignore[arg-type]
    assert await context.get_state() is None
    assert await context.get_data() == {}

    await context.set_state(Form.nik)
    await context.update_data(nik="3324015708800001")
    await context.update_data(name="Siti")
    assert await context.get_state() == "Form:nik"
    assert await context.get_data() == {"nik": "3324015708800001", "name": "Siti"}
    assert await context.get_value("name") == "Siti"
    assert await context.get_value("missing", "default") == "default"

    await context.set_state(Form.name)
    assert await context.get_data() == {"nik": "3324015708800001", "name": "Siti"}
    await context.clear()
    assert await context.get_state() is None
    assert await context.get_data() == {}


async def test_keys_are_separate_by_every_field(storage):
    base = StorageKey(bot_id=1, chat_id=2, user_id=3)
    variants = [
        base,
        StorageKey(bot_id=9, chat_id=2, user_id=3),
        StorageKey(bot_id=1, chat_id=9, user_id=3),
        StorageKey(bot_id=1, chat_id=2, user_id=9),
        StorageKey(bot_id=1, chat_id=2, user_id=3, thread_id=7),
        StorageKey(bot_id=1, chat_id=2, user_id=3, business_connection_id="b"),
        StorageKey(bot_id=1, chat_id=2, user_id=3, destiny="other"),
    ]
    for index, key in enumerate(variants):
        await storage.set_state(key, f"Form:s{index}")
    for index, key in enumerate(variants):
        assert await storage.get_state(key) == f"Form:s{index}"
    # Our own key type works the same as aiogram's.
    assert await storage.get_state(ConversationKey(1, 2, 3)) == "Form:s0"


async def test_data_is_encrypted_at_rest(app_any_db, storage):
    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    await storage.set_data(key, {"nik": "3324015708800001", "birth_date": "1980-08-17"})
    async with app_any_db.sessions() as session:
        stored = (await session.scalars(select(ConversationState.data_enc))).one()
    assert "3324015708800001" not in stored and "1980-08-17" not in stored
    assert await storage.get_data(key) == {"nik": "3324015708800001", "birth_date": "1980-08-17"}


async def test_concurrent_update_data_loses_no_key(storage):
    """update_data is one read-modify-write transaction: 20 writers, 20 keys kept."""
    key = StorageKey(bot_id=1, chat_id=6, user_id=6)
    await storage.set_state(key, "Form:nik")
    await asyncio.gather(*(storage.update_data(key, {f"k{i}": i}) for i in range(20)))
    assert await storage.get_data(key) == {f"k{i}": i for i in range(20)}
    assert await storage.get_state(key) == "Form:nik"
