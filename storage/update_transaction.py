"""One update's transaction: the statements every update makes, and a session for the rest.

Every update, whatever it says, records itself as processed, reads and writes its
conversation, asks who is writing, queues its replies and records that the chat wrote. The
flows' own work (an enrolment saved, a role checked) is occasional and goes through the
SQLAlchemy session of the same transaction.

The six go straight to the driver, one SQL text each; SQLAlchemy around a statement cost
several times the statement (building it, the ORM's execution, a thread hop per statement
with aiosqlite):

- `SqliteTransaction` (the embedded default): the standard library's sqlite3 connection, in
  microseconds; SQLAlchemy's own transaction machinery (a pool checkout, BEGIN, COMMIT,
  reset: about a quarter of a millisecond) is paid only by updates whose flows use the
  session. Both share one dedicated connection, so the session's statements are part of the
  same transaction and see its writes.
- `PostgresTransaction`: the session's own asyncpg connection, inside its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import StaticPool

from storage import sqlite_inline
from storage.conversations import (
    LOCK,
    KeyLike,
    advisory_key,
    key_values,
)
from storage.crypto import PersonalDataCipher
from storage.database import rolled_back
from storage.interfaces import AsnView
from storage.models import UtcDateTime
from storage.outbox import PENDING, check_kind
from storage.roster import SqlRosterRepository, asn_view


class UpdateTransaction(Protocol):
    """What the dispatcher asks of storage for one update, in one transaction."""

    session: AsyncSession

    @property
    def roster(self) -> SqlRosterRepository:
        """The flows' roster in this transaction."""

    async def claim(self, channel: str, update_id: str, now: datetime) -> bool: ...

    async def load(self, key: KeyLike) -> tuple[str | None, dict[str, Any]]: ...

    async def save(self, key: KeyLike, state: str | None, data: dict[str, Any],
                   now: datetime) -> None: ...

    async def identity(self, channel: str, external_id: str) -> AsnView | None: ...

    async def queue(self, channel: str, chat_id: str, body: dict[str, Any], kind: str,
                    now: datetime) -> None: ...

    async def inbound(self, channel: str, chat_id: str, chat_type: str,
                      now: datetime) -> None: ...


class UpdateTransactions(Protocol):
    def __call__(self) -> contextlib.AbstractAsyncContextManager[UpdateTransaction]: ...

    async def close(self) -> None: ...


# -- the six statements straight to the driver ----------------------------------------------

# One text per statement; `{n}` is the n-th parameter, written ?n for sqlite3, $n for asyncpg.
_SQL = {
    "claim": "INSERT INTO processed_updates (channel, update_id, processed_at) "
             "VALUES ({1}, {2}, {3}) ON CONFLICT (channel, update_id) DO NOTHING RETURNING id",
    "load": "SELECT state, data_enc FROM conversation_states WHERE bot_id = {1} "
            "AND chat_id = {2} AND user_id = {3} AND thread_id = {4} "
            "AND business_connection_id = {5} AND destiny = {6}",
    "save": "INSERT INTO conversation_states (bot_id, chat_id, user_id, thread_id, "
            "business_connection_id, destiny, state, data_enc, updated_at) "
            "VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}) "
            "ON CONFLICT (bot_id, chat_id, user_id, thread_id, business_connection_id, "
            "destiny) DO UPDATE SET state = excluded.state, data_enc = excluded.data_enc, "
            "updated_at = excluded.updated_at",
    "identity": "SELECT asn.id, asn.nip, asn.name, units.name, asn.unit_id, "
                "asn.kecamatan_id, asn.reminders_enabled FROM asn "
                "JOIN channel_identities ON channel_identities.asn_id = asn.id "
                "JOIN units ON units.id = asn.unit_id "
                "WHERE channel_identities.channel = {1} "
                "AND channel_identities.external_id = {2}",
    "queue": "INSERT INTO outbox (channel, chat_id, body_enc, status, kind, attempts, "
             "next_attempt_at, created_at) VALUES ({1}, {2}, {3}, {4}, {5}, 0, {6}, {6})",
    "inbound": "INSERT INTO chats (channel, chat_id, chat_type, last_inbound_at) "
               "VALUES ({1}, {2}, {3}, {4}) ON CONFLICT (channel, chat_id) DO UPDATE SET "
               "last_inbound_at = excluded.last_inbound_at, unreachable_at = NULL, "
               "unreachable_reason = NULL",
}


def _written(mark: str) -> dict[str, str]:
    """The statements with the driver's parameter marks ("?" or "$")."""
    return {name: sql.format(*(f"{mark}{n}" for n in range(10))) for name, sql in _SQL.items()}


def _time_for(dialect: Dialect) -> Callable[[datetime], Any]:
    """A time written as SQLAlchemy writes it for this dialect (storage.models.UtcDateTime,
    then the dialect's own DATETIME form: in SQLite text that compares in time order)."""
    column = UtcDateTime()
    to_driver = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)

    def written(value: datetime) -> Any:
        bound = column.process_bind_param(value, dialect)
        return to_driver(bound) if to_driver else bound

    return written


class _DirectTransaction:
    """The six statements in the driver's own terms, in the transaction the flows' session
    shares. Subclasses say how a statement runs and how a time is written."""

    _statements: dict[str, str]

    def __init__(self, cipher: PersonalDataCipher) -> None:
        self._cipher = cipher

    @property
    def session(self) -> AsyncSession:
        raise NotImplementedError

    def _session_in_use(self) -> AsyncSession | None:
        return self.session

    async def _row(self, name: str, *parameters: Any) -> Sequence[Any] | None:
        raise NotImplementedError

    async def _run(self, name: str, *parameters: Any) -> None:
        raise NotImplementedError

    _time: Callable[[datetime], Any]

    async def _flushed(self) -> None:
        """The session's pending ORM changes written, so plain statements see them."""
        session = self._session_in_use()
        if session is not None and (session.new or session.dirty or session.deleted):
            await session.flush()

    async def claim(self, channel: str, update_id: str, now: datetime) -> bool:
        return await self._row("claim", channel, update_id, self._time(now)) is not None

    async def load(self, key: KeyLike) -> tuple[str | None, dict[str, Any]]:
        row = await self._row("load", *key_values(key).values())
        if row is None:
            return None, {}
        state, data_enc = row
        return state, (self._cipher.decrypt_json(data_enc) if data_enc else {})

    async def save(self, key: KeyLike, state: str | None, data: dict[str, Any],
                   now: datetime) -> None:
        await self._flushed()
        data_enc = self._cipher.encrypt_json(data) if data else None
        await self._run("save", *key_values(key).values(), state, data_enc, self._time(now))

    async def identity(self, channel: str, external_id: str) -> AsnView | None:
        await self._flushed()
        row = await self._row("identity", channel, external_id)
        return None if row is None else asn_view(row)

    async def queue(self, channel: str, chat_id: str, body: dict[str, Any], kind: str,
                    now: datetime) -> None:
        check_kind(kind)
        await self._flushed()
        await self._run("queue", channel, chat_id, self._cipher.encrypt_json(body), PENDING,
                        kind, self._time(now))

    async def inbound(self, channel: str, chat_id: str, chat_type: str,
                      now: datetime) -> None:
        await self._flushed()  # a Chat the session changed must not overwrite this later
        await self._run("inbound", channel, chat_id, chat_type, self._time(now))

    async def finish(self) -> None:
        """Write what the session holds; the caller commits."""
        await self._flushed()

    @property
    def roster(self) -> SqlRosterRepository:
        """The roster for the flows, asking "who is writing" the fast way."""
        return _Roster(self.session, self)


class _Roster(SqlRosterRepository):
    def __init__(self, session: AsyncSession, update: UpdateTransaction) -> None:
        super().__init__(session)
        self._update = update

    async def identity(self, channel: str, external_id: str) -> AsnView | None:
        return await self._update.identity(channel, external_id)


# -- SQLite: sqlite3 on the event loop's thread ----------------------------------------------

class SqliteTransaction(_DirectTransaction):
    _statements = _written("?")
    _time = staticmethod(_time_for(sqlite.dialect()))

    def __init__(self, connection: sqlite3.Connection, sessions: Callable[[], AsyncSession],
                 cipher: PersonalDataCipher) -> None:
        super().__init__(cipher)
        self._db = connection
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """Made at first use: most updates never need it."""
        if self._session is None:
            self._session = self._sessions()
        return self._session

    def _session_in_use(self) -> AsyncSession | None:
        return self._session

    async def _row(self, name: str, *parameters: Any) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self._db.execute(self._statements[name],
                                                     parameters).fetchone()
        return row

    async def _run(self, name: str, *parameters: Any) -> None:
        self._db.execute(self._statements[name], parameters)

    async def close(self) -> None:
        if self._session is not None and self._session.in_transaction():
            await self._session.close()


class SqliteTransactions:
    """One dedicated connection for the dispatcher's transactions on a SQLite file.

    The session of each transaction uses the same connection (a StaticPool engine over it),
    and its BEGIN finds the transaction already open (storage.sqlite_inline). Updates queue
    for the connection on the file's writer lock, in order."""

    def __init__(self, url: str, cipher: PersonalDataCipher) -> None:
        from storage.database import SQLITE_BUSY_TIMEOUT_MS, create_engine, session_factory

        self._cipher = cipher
        self._connect = sqlite_inline.creator(_database(url), SQLITE_BUSY_TIMEOUT_MS)
        self._connection: sqlite_inline.InlineConnection | None = None
        self._opening = asyncio.Lock()
        self._turn = asyncio.Lock()
        self._engine: AsyncEngine = create_engine(url, async_creator=self._shared,
                                                  poolclass=StaticPool)
        self._sessions = session_factory(self._engine)

    async def _shared(self) -> sqlite_inline.InlineConnection:
        """The engine's one connection (its pool's creator): opened when there is none."""
        async with self._opening:
            if self._connection is None or self._connection.closed:
                self._connection = await self._connect()
        return self._connection

    async def _open(self) -> sqlite_inline.InlineConnection:
        """The connection, (re)opened through the engine when needed, so SQLAlchemy's
        connect event sets its pragmas before any transaction (inside one, SQLite ignores
        some, and Python commits on others)."""
        if self._connection is None or self._connection.closed:
            await self._engine.dispose()
            async with self._engine.connect():
                pass
        assert self._connection is not None
        return self._connection

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[UpdateTransaction]:
        # One update at a time on the one connection, in arrival order: its session's BEGIN
        # joins the open transaction, so another update's must never find it open.
        async with self._turn:
            connection = await self._open()
            await connection.begin(lambda: connection.raw.execute("BEGIN IMMEDIATE"))
            update = SqliteTransaction(connection.raw, self._sessions, self._cipher)
            try:
                yield update
                await update.finish()
                await connection.commit()
            except BaseException:
                await rolled_back(connection.rollback())
                raise
            finally:
                await update.close()

    async def close(self) -> None:
        await self._engine.dispose()
        if self._connection is not None:
            await self._connection.close()



# -- PostgreSQL: asyncpg statements in the session's transaction -----------------------------

_OPEN = text("SELECT 1")  # any statement through the session opens its transaction


class PostgresTransaction(_DirectTransaction):
    """The six statements on the session's own asyncpg connection (prepared once per
    connection by asyncpg), inside the transaction SQLAlchemy opened: a third of the CPU
    SQLAlchemy spends around each. SQLAlchemy's driver adapter begins the transaction at its
    first statement, so one goes through the session first: the conversation's advisory
    lock, or a plain SELECT when an update is only marked done (the apology)."""

    _statements = _written("$")
    _time = staticmethod(_time_for(postgresql.asyncpg.dialect()))

    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        super().__init__(cipher)
        self._session = session
        self._driver: Any = None

    @property
    def session(self) -> AsyncSession:
        return self._session

    async def _db(self, opening: Any = _OPEN, parameters: dict[str, Any] | None = None
                  ) -> Any:
        """The asyncpg connection, once the transaction is open."""
        if self._driver is None:
            connection = await self._session.connection()
            await connection.execute(opening, parameters or {})
            self._driver = (await connection.get_raw_connection()).driver_connection
        return self._driver

    async def _row(self, name: str, *parameters: Any) -> Sequence[Any] | None:
        row: Sequence[Any] | None = await (await self._db()).fetchrow(self._statements[name],
                                                                      *parameters)
        return row

    async def _run(self, name: str, *parameters: Any) -> None:
        await (await self._db()).execute(self._statements[name], *parameters)

    async def load(self, key: KeyLike) -> tuple[str | None, dict[str, Any]]:
        # Held until the transaction ends, also for a conversation without a row yet: two
        # processes never interleave one conversation. It opens the transaction too.
        lock = {"lock": advisory_key(key_values(key))}
        if self._driver is None:
            await self._db(LOCK, lock)
        else:
            await self._session.execute(LOCK, lock)
        return await super().load(key)


class PostgresTransactions:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 cipher: PersonalDataCipher) -> None:
        self._sessions = sessions
        self._cipher = cipher

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[UpdateTransaction]:
        from storage.database import transaction

        async with transaction(self._sessions) as session:
            update = PostgresTransaction(session, self._cipher)
            yield update
            await update.finish()

    async def close(self) -> None:
        """The sessions' engine belongs to the application."""


def _database(url: str) -> str:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    assert database, "a SQLite file, not memory"
    return database


def update_transactions(url: str, sessions: async_sessionmaker[AsyncSession],
                        cipher: PersonalDataCipher) -> UpdateTransactions:
    """How this database runs an update's transaction: a SQLite file or PostgreSQL through
    asyncpg, the two engines the bot is made for."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return SqliteTransactions(url, cipher)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg":
        return PostgresTransactions(sessions, cipher)
    raise ValueError("DATABASE_URL must name a SQLite file (sqlite+aiosqlite:///path) or "
                     "PostgreSQL through asyncpg (postgresql+asyncpg://...), not "
                     f"{parsed.drivername}")
