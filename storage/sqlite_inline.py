"""SQLite on the event loop's own thread: an aiosqlite-shaped connection without a thread.

aiosqlite runs every statement on a thread of its own and hands the result back through the
event loop: a tenth of a millisecond or more per statement, which made the thread hops the
largest cost of an update (eight statements each). An indexed statement on a WAL database
takes microseconds, so running it where it is asked for is cheaper than handing it over.

SQLAlchemy's aiosqlite dialect takes these connections through `async_creator`, so the URL,
the dialect and every query stay as they are. The one wait SQLite can impose — another
connection holding the write lock — must not freeze the loop: the connection never waits
inside SQLite (busy_timeout 0); a statement refused as busy outside a transaction (BEGIN
IMMEDIATE, above all) is retried after an asyncio sleep instead, up to `busy_timeout_ms`.
The price: a long query (a monthly report over a million ASN) holds the loop while it runs,
as it would hold the database's single writer anyway.

The dialect reaches into private parts of aiosqlite's connection (`_conn`, `_tx`,
`_connection`, `stop`), which these classes copy. So SQLAlchemy is pinned to its minor
version (pyproject.toml), and tests/storage/test_sqlite_inline_contract.py reads the
installed adapter and fails, naming the name, when what it uses changes.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class _RunAtOnce:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation
    level: the function runs at once and its future is resolved."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


def _busy(error: sqlite3.OperationalError) -> bool:
    message = str(error)
    return "database is locked" in message or "database is busy" in message


class InlineCursor:
    def __init__(self, connection: InlineConnection) -> None:
        self._owner = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, operation: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        if operation.startswith("BEGIN"):
            await self._owner.begin(lambda: self._cursor.execute(operation, parameters))
        else:
            await self._owner.when_free(lambda: self._cursor.execute(operation, parameters))
        return self

    async def executemany(self, operation: str, parameters: Iterable[Sequence[Any]]
                          ) -> InlineCursor:
        rows = list(parameters)
        await self._owner.when_free(lambda: self._cursor.executemany(operation, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of aiosqlite.Connection that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection, path: str, busy_timeout_ms: int) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunAtOnce(connection)
        self._path = path
        self._busy_timeout = busy_timeout_ms / 1000
        self._writing: _Writer | None = None
        self._owner: asyncio.Task[Any] | None = None

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for statements that skip SQLAlchemy."""
        return self._conn

    @property
    def closed(self) -> bool:
        return self._connection is None

    async def begin(self, statement: Callable[[], Any]) -> None:
        """Begin a transaction once no other connection of this process to the same file
        holds one: this process's writers queue in order (without it each would poll the
        lock with growing sleeps). Held until commit, rollback or close.

        A BEGIN on a connection already in a transaction is the flows' session joining the
        transaction its own task opened (storage.update_transaction): nothing to do."""
        task = asyncio.current_task()
        if self._conn.in_transaction:
            if self._writing is not None and self._owner is task:
                return
            if self._writing is not None:
                raise RuntimeError("another task's SQLite transaction is open on this "
                                   "connection: its BEGIN must queue, not join")
            # Left open by SQLite with nobody holding it: nothing of it can be committed.
            self._conn.rollback()
        # A transaction that SQLite ended on its own (an I/O error rolls it back) leaves
        # this connection marked as writing: let go before queueing again.
        self._done_writing()
        writer = _writer(self._path)
        if writer.owner is task and task is not None:
            raise RuntimeError("a second SQLite transaction in one task would wait for the "
                               "first for ever: use the session you hold")
        deadline = time.monotonic() + self._busy_timeout
        if writer.lock.locked():
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                # that arrives as the lock is handed over.
                async with asyncio.timeout(self._busy_timeout):
                    await writer.lock.acquire()
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked") from None
        else:
            await writer.lock.acquire()
        try:
            await self.when_free(statement, deadline)
        except BaseException:
            writer.lock.release()
            raise
        writer.owner = task
        self._writing = writer
        self._owner = task

    def _done_writing(self) -> None:
        if self._writing is not None:
            self._writing.owner = None
            self._writing.lock.release()
            self._writing = None
            self._owner = None

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def when_free(self, statement: Callable[[], Any], deadline: float | None = None
                        ) -> Any:
        """Run the statement; while another connection holds the write lock, wait on the
        loop (not inside SQLite) and try again, until `deadline` (monotonic; default the
        busy timeout from now). Inside a transaction a busy error is final: retrying a
        statement of a half-done transaction could not be right."""
        if deadline is None:
            deadline = time.monotonic() + self._busy_timeout
        delay = 0.0005
        while True:
            try:
                return statement()
            except sqlite3.OperationalError as error:
                if not _busy(error) or self._conn.in_transaction:
                    raise
                if time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)

    def cursor(self) -> InlineCursor:
        """Like aiosqlite's: entered with `async with` (SQLAlchemy does) or used as is."""
        return InlineCursor(self)

    async def execute(self, operation: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        cursor = InlineCursor(self)
        return await cursor.execute(operation, parameters)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            if not self._conn.in_transaction:
                self._done_writing()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._done_writing()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's forced close stops aiosqlite's thread)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()
        self._done_writing()


class _Writer:
    """Who may write a database file now, in this process: the lock, and the task holding
    it (a second transaction of that task would wait for itself)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[Any] | None = None


# Per event loop (an asyncio.Lock belongs to one) and database file.
_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Writer]] = (
    weakref.WeakKeyDictionary())


def _writer(path: str) -> _Writer:
    writers = _WRITERS.setdefault(asyncio.get_running_loop(), {})
    return writers.setdefault(path, _Writer())


def creator(path: str, busy_timeout_ms: int) -> Callable[[], Any]:
    """`async_creator` for create_async_engine: connections that never wait inside SQLite."""
    path = os.path.abspath(path)

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA busy_timeout=0")
        return InlineConnection(connection, path, busy_timeout_ms)

    return connect
