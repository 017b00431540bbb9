"""Engine and sessions: SQLite (WAL, one writer at a time) or PostgreSQL by URL alone.

SQLite: every transaction starts with BEGIN IMMEDIATE, so two conversations that read and then
write never deadlock on a lock upgrade; they queue behind `busy_timeout` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_inline

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL connections per process: the dispatcher's updates (bot.dispatcher.MAX_CONCURRENT)
# plus the sender, the scheduler and the web server's inbox worker; a burst may add overflow.
POOL_SIZE = 20
POOL_OVERFLOW = 10


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite, creates the file's folder and sets WAL and locking."""
    parsed = make_url(url)
    # Statement parameters hold phone numbers and names: keep them out of error messages,
    # which end up in logged tracebacks.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Statements run on the event loop's thread and wait for a busy database on the
        # loop, not inside SQLite: see storage/sqlite_inline.py.
        kwargs.setdefault("async_creator",
                          sqlite_inline.creator(parsed.database, SQLITE_BUSY_TIMEOUT_MS))
        busy_timeout_ms = 0
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@contextlib.asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]
                      ) -> AsyncIterator[AsyncSession]:
    """`sessions.begin()` without its extra task: SQLAlchemy commits a `begin()` block in a
    task of its own, so the loop runs others between the last statement and the COMMIT while
    the write lock is held. For the dispatcher, which commits hundreds of times a second,
    that wait was most of an update's time on SQLite."""
    session = sessions()
    try:
        yield session
        await session.commit()
    except BaseException:
        await rolled_back(session.rollback())
        raise
    finally:
        try:
            await session.close()
        except Exception:  # the outcome is settled; a lost connection is the pool's affair
            log.warning("closing a session failed", exc_info=True)


async def rolled_back(cleanup: Awaitable[None]) -> None:
    """Undo after a failure, in a task of its own, so that a second cancellation (a
    shutdown, then a timeout) cannot cut it off half-way, and so that an error while undoing
    (a connection already lost) is logged instead of replacing the failure being raised."""
    task = asyncio.ensure_future(cleanup)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise
    except Exception:
        log.warning("undoing a failed transaction failed too", exc_info=True)


def dialect_insert(dialect: AsyncSession | str, table: Any) -> Any:
    """An INSERT in the dialect (a session's, or one named): the form that knows ON
    CONFLICT (an upsert), which SQLAlchemy's generic `insert` does not. Over a Table, a
    list of rows runs as one executemany without the ORM's bookkeeping."""
    name = dialect if isinstance(dialect, str) else dialect.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _alembic_config(connection: Any | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to `revision` over this engine."""
    from alembic import command

    def run(connection: Any) -> None:
        command.upgrade(_alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def current_revision(connection: AsyncConnection) -> str | None:
    """The revision the database is at, None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    def read(sync_connection: Any) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()

    return await connection.run_sync(read)
