"""One update's transaction: the statements every update makes, and a session for the rest.

Every update, whatever it says, records itself as processed, reads and writes its
conversation, asks who is writing, queues its replies and records that the chat wrote. The
repositories that own those statements (storage.processed_updates, conversations, roster,
outbox, chats) run them here on the driver's own connection (storage.statements): SQLAlchemy
around a statement cost several times the statement. The flows' own work (an enrolment
saved, a role checked) is occasional and goes through the SQLAlchemy session of the same
transaction.

- SQLite (the embedded default): the standard library's sqlite3 connection, in
  microseconds; SQLAlchemy's own transaction machinery (a pool checkout, BEGIN, COMMIT,
  reset: about a quarter of a millisecond) is paid only by updates whose flows use the
  session. Both share one dedicated connection, so the session's statements are part of the
  same transaction and see its writes.
- PostgreSQL: the session's own asyncpg connection, inside its transaction.

What keeps one update apart from another, lock by lock: bot/locks.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import StaticPool

from storage import sqlite_inline
from storage.chats import SqlChats
from storage.conversations import KeyLike, SqlConversationRepository
from storage.crypto import PersonalDataCipher
from storage.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    create_engine,
    rolled_back,
    session_factory,
    transaction,
)
from storage.outbox import SqlOutbox
from storage.processed_updates import SqlProcessedUpdates
from storage.roster import SqlRosterRepository
from storage.statements import Runner, Statement


class UpdateTransaction:
    """What the dispatcher asks of storage for one update, in one transaction: the
    repositories of the hot tables over the driver, and the session for the rest."""

    def __init__(self, driver: Runner, cipher: PersonalDataCipher) -> None:
        self._driver = driver
        self._processed = SqlProcessedUpdates(driver)
        self._conversations = SqlConversationRepository(driver, cipher)
        self._outbox = SqlOutbox(driver, cipher)
        self._chats = SqlChats(driver)
        self.roster = SqlRosterRepository(driver)

    @property
    def session(self) -> AsyncSession:
        return self._driver.session

    async def claim(self, channel: str, update_id: str, now: datetime) -> bool:
        return await self._processed.claim(channel, update_id, now)

    async def load(self, key: KeyLike) -> tuple[str | None, dict[str, Any]]:
        """Held until the transaction ends (on PostgreSQL), also for a conversation without
        a row yet: two processes never interleave one conversation."""
        return await self._conversations.load(key, for_update=True)

    async def save(self, key: KeyLike, state: str | None, data: dict[str, Any],
                   now: datetime) -> None:
        await self._conversations.save(key, state, data, now)

    async def queue(self, channel: str, chat_id: str, body: dict[str, Any], kind: str,
                    now: datetime) -> None:
        await self._outbox.add(channel, chat_id, body, now, kind)

    async def inbound(self, channel: str, chat_id: str, chat_type: str,
                      now: datetime) -> None:
        await self._chats.inbound(channel, chat_id, chat_type, now)


class UpdateTransactions(Protocol):
    def __call__(self) -> contextlib.AbstractAsyncContextManager[UpdateTransaction]: ...

    async def close(self) -> None: ...


class _Driver:
    """Statements on the driver's own connection, in the transaction the session shares;
    the session's pending ORM changes are written first, so the statements see them (and a
    Chat the session changed cannot overwrite a statement's write later)."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self.dialect = dialect.name

    def _session_in_use(self) -> AsyncSession | None:
        raise NotImplementedError

    async def flushed(self) -> None:
        session = self._session_in_use()
        if session is not None and (session.new or session.dirty or session.deleted):
            await session.flush()


# -- SQLite: sqlite3 on the event loop's thread ----------------------------------------------

class _SqliteDriver(_Driver):
    def __init__(self, connection: sqlite3.Connection, dialect: Dialect,
                 sessions: Callable[[], AsyncSession]) -> None:
        super().__init__(dialect)
        self._db = connection
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """Made at first use: an update that needs none does without."""
        if self._session is None:
            self._session = self._sessions()
        return self._session

    def _session_in_use(self) -> AsyncSession | None:
        return self._session

    async def row(self, statement: Statement, values: Mapping[str, Any]
                  ) -> Sequence[Any] | None:
        await self.flushed()
        compiled = statement.compiled(self._dialect)
        row: Sequence[Any] | None = self._db.execute(
            compiled.sql, compiled.parameters(values)).fetchone()
        return row

    async def run(self, statement: Statement, values: Mapping[str, Any]) -> None:
        await self.flushed()
        compiled = statement.compiled(self._dialect)
        self._db.execute(compiled.sql, compiled.parameters(values))

    async def close(self) -> None:
        if self._session is not None and self._session.in_transaction():
            await self._session.close()


class SqliteTransactions:
    """One dedicated connection for the dispatcher's transactions on a SQLite file.

    The session of each transaction uses the same connection (a StaticPool engine over it),
    and its BEGIN finds the transaction already open (storage.sqlite_inline). Updates queue
    for the connection on `_turn`, in order; the connection is (re)opened only there."""

    def __init__(self, url: str, cipher: PersonalDataCipher) -> None:
        self._cipher = cipher
        self._connect = sqlite_inline.creator(_database(url), SQLITE_BUSY_TIMEOUT_MS)
        self._connection: sqlite_inline.InlineConnection | None = None
        self._turn = asyncio.Lock()
        self._engine: AsyncEngine = create_engine(url, async_creator=self._shared,
                                                  poolclass=StaticPool)
        self._sessions = session_factory(self._engine)

    async def _shared(self) -> sqlite_inline.InlineConnection:
        """The engine's one connection (its pool's creator): opened when there is none.
        Called only by an update holding `_turn` (its `_open`, or its session's first
        statement), so never twice at once."""
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
            driver = _SqliteDriver(connection.raw, self._engine.dialect, self._sessions)
            try:
                yield UpdateTransaction(driver, self._cipher)
                await driver.flushed()
                await connection.commit()
            except BaseException:
                await rolled_back(connection.rollback())
                raise
            finally:
                await driver.close()

    async def close(self) -> None:
        await self._engine.dispose()
        if self._connection is not None:
            await self._connection.close()


# -- PostgreSQL: asyncpg statements in the session's transaction -----------------------------

class _AsyncpgDriver(_Driver):
    """Statements on the session's own asyncpg connection (prepared once per connection by
    asyncpg), inside the transaction SQLAlchemy opened: a third of the CPU SQLAlchemy spends
    around each. SQLAlchemy's driver adapter begins the transaction at its first statement,
    so the first goes through the session (the conversation's advisory lock, as a rule)."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session.get_bind().dialect)
        self.session = session
        self._connection: Any = None

    def _session_in_use(self) -> AsyncSession | None:
        return self.session

    async def _opened(self, statement: Statement, values: Mapping[str, Any]) -> Any:
        """The statement through the session, which opens the transaction; from then on
        the session's asyncpg connection is at hand."""
        result = await self.session.execute(statement.built(self.dialect), values)
        raw = await (await self.session.connection()).get_raw_connection()
        self._connection = raw.driver_connection
        return result

    async def row(self, statement: Statement, values: Mapping[str, Any]
                  ) -> Sequence[Any] | None:
        await self.flushed()
        if self._connection is None:
            return (await self._opened(statement, values)).first()
        compiled = statement.compiled(self._dialect)
        row: Sequence[Any] | None = await self._connection.fetchrow(
            compiled.sql, *compiled.parameters(values))
        return row

    async def run(self, statement: Statement, values: Mapping[str, Any]) -> None:
        await self.flushed()
        if self._connection is None:
            await self._opened(statement, values)
            return
        compiled = statement.compiled(self._dialect)
        await self._connection.execute(compiled.sql, *compiled.parameters(values))


class PostgresTransactions:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 cipher: PersonalDataCipher) -> None:
        self._sessions = sessions
        self._cipher = cipher

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[UpdateTransaction]:
        async with transaction(self._sessions) as session:
            yield UpdateTransaction(_AsyncpgDriver(session), self._cipher)

    async def close(self) -> None:
        """The sessions' engine belongs to the application."""


def _database(url: str) -> str:
    database = make_url(url).database
    assert database, "a SQLite file, not memory"
    return database


def update_transactions(url: str, sessions: async_sessionmaker[AsyncSession],
                        cipher: PersonalDataCipher) -> UpdateTransactions:
    """How this database runs an update's transaction: a SQLite file or PostgreSQL through
    asyncpg, the two engines the bot is made for."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return SqliteTransactions(url, cipher)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg":
        return PostgresTransactions(sessions, cipher)
    raise ValueError("DATABASE_URL must name a SQLite file (sqlite+aiosqlite:///path) or "
                     "PostgreSQL through asyncpg (postgresql+asyncpg://...), not "
                     f"{parsed.drivername}")
