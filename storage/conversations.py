"""Conversation state and data per chat, keyed like aiogram's StorageKey.

`SqlConversationRepository` works inside the dispatcher's transaction (state, domain change and
outbox commit together); `SqlConversationStorage` is aiogram's `BaseStorage` interface over
the same table, so an aiogram bot could keep its FSM here as is. The data is JSON, encrypted
as a whole because a half-finished enrolment holds a NIK and a birth date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from storage.crypto import PersonalDataCipher
from storage.database import dialect_insert
from storage.models import ConversationState
from storage.statements import ADVISORY_LOCK, Runner, Statement, runner

DEFAULT_DESTINY = "default"


class KeyLike(Protocol):
    """aiogram's StorageKey, or ours: the same six fields."""

    bot_id: int
    chat_id: int
    user_id: int
    thread_id: int | None
    business_connection_id: str | None
    destiny: str


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """The same fields as aiogram.fsm.storage.base.StorageKey, without importing aiogram."""

    bot_id: int
    chat_id: int
    user_id: int
    thread_id: int | None = None
    business_connection_id: str | None = None
    destiny: str = DEFAULT_DESTINY


_KEY_COLUMNS = tuple(field.name for field in fields(ConversationKey))


def _key_values(key: KeyLike) -> dict[str, Any]:
    return {
        "bot_id": key.bot_id,
        "chat_id": key.chat_id,
        "user_id": key.user_id,
        "thread_id": key.thread_id or 0,
        "business_connection_id": key.business_connection_id or "",
        "destiny": key.destiny,
    }


def _state_name(state: Any) -> str | None:
    """aiogram passes a State object or a string; both give "Group:name"."""
    if state is None:
        return None
    return state if isinstance(state, str) else str(state.state)


def _advisory_key(values: Mapping[str, Any]) -> int:
    """A signed 64-bit PostgreSQL advisory lock number for one conversation key."""
    digest = hashlib.blake2b(repr(tuple(values[c] for c in _KEY_COLUMNS)).encode(),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_TABLE = ConversationState.__table__
_KEY = {column: bindparam(column) for column in _KEY_COLUMNS}
_LOAD = Statement(select(_TABLE.c.state, _TABLE.c.data_enc)
                  .where(and_(*(_TABLE.c[column] == value for column, value in _KEY.items()))))


def _upsert(dialect: str) -> Executable:
    changes = {"state": bindparam("state"), "data_enc": bindparam("data_enc"),
               "updated_at": bindparam("now")}
    statement = dialect_insert(dialect, _TABLE).inline().values(**_KEY, **changes)
    return statement.on_conflict_do_update(index_elements=list(_KEY_COLUMNS), set_=changes)


_SAVE = Statement(_upsert)


class SqlConversationRepository:
    """Load and save one conversation inside the caller's transaction (a session, or the
    driver under the update's session: storage.statements)."""

    def __init__(self, db: AsyncSession | Runner, cipher: PersonalDataCipher) -> None:
        self._db = runner(db)
        self._cipher = cipher

    async def load(
        self, key: KeyLike, *, for_update: bool = False
    ) -> tuple[str | None, dict[str, Any]]:
        """The stored state and data. `for_update` holds the conversation until the
        transaction ends: on PostgreSQL an advisory lock on the key (it holds also for a
        conversation that has no row yet), so two processes never interleave one
        conversation; SQLite's BEGIN IMMEDIATE already serialises every writer."""
        values = _key_values(key)
        if for_update and self._db.dialect == "postgresql":
            await self._db.run(ADVISORY_LOCK, {"lock": _advisory_key(values)})
        row = await self._db.row(_LOAD, values)
        if row is None:
            return None, {}
        state, data_enc = row
        return state, (self._cipher.decrypt_json(data_enc) if data_enc else {})

    async def save(
        self, key: KeyLike, state: str | None, data: Mapping[str, Any], now: datetime
    ) -> None:
        await self._db.run(_SAVE, {
            **_key_values(key),
            "state": state,
            "data_enc": self._cipher.encrypt_json(dict(data)) if data else None,
            "now": now,
        })

    async def save_state(self, key: KeyLike, state: str | None, now: datetime) -> None:
        _, data = await self.load(key, for_update=True)
        await self.save(key, state, data, now)

    async def save_data(self, key: KeyLike, data: Mapping[str, Any], now: datetime) -> None:
        state, _ = await self.load(key, for_update=True)
        await self.save(key, state, data, now)


class SqlConversationStorage:
    """aiogram's BaseStorage over SQLAlchemy: each call is its own short transaction.

    aiogram is not a runtime dependency, so this class matches BaseStorage's methods instead
    of inheriting; tests/storage/test_conversations.py drives aiogram's FSMContext over it.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], cipher: PersonalDataCipher
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher

    async def set_state(self, key: KeyLike, state: Any = None) -> None:
        async with self._sessions.begin() as session:
            await SqlConversationRepository(session, self._cipher).save_state(
                key, _state_name(state), datetime.now(UTC)
            )

    async def get_state(self, key: KeyLike) -> str | None:
        async with self._sessions() as session:
            state, _ = await SqlConversationRepository(session, self._cipher).load(key)
            return state

    async def set_data(self, key: KeyLike, data: Mapping[str, Any]) -> None:
        async with self._sessions.begin() as session:
            await SqlConversationRepository(session, self._cipher).save_data(
                key, data, datetime.now(UTC)
            )

    async def get_data(self, key: KeyLike) -> dict[str, Any]:
        async with self._sessions() as session:
            _, data = await SqlConversationRepository(session, self._cipher).load(key)
            return data

    async def get_value(
        self, storage_key: KeyLike, dict_key: str, default: Any | None = None
    ) -> Any | None:
        return (await self.get_data(storage_key)).get(dict_key, default)

    async def update_data(self, key: KeyLike, data: Mapping[str, Any]) -> dict[str, Any]:
        """Read-modify-write in one transaction, so concurrent updates do not lose keys."""
        async with self._sessions.begin() as session:
            repository = SqlConversationRepository(session, self._cipher)
            state, current = await repository.load(key, for_update=True)
            current.update(data)
            await repository.save(key, state, current, datetime.now(UTC))
            return dict(current)

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""
