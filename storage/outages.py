"""Whether an error says the database does not answer: an outage to ride out (retry later,
do not confirm the update), not a mistake in our code or data (retrying cannot help).

Every loop of the running service (the outbox sender, the inbox worker, the scheduler, the
polling loop) and every receiver (the dispatcher, the webhooks) asks this of the errors it
meets. It lives beside the engines it knows: SQLite's result codes and asyncpg's error
classes are storage's concern, so the runtime asks one question and names no driver.
"""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Iterator
from typing import Final

from asyncpg import exceptions as pg
from sqlalchemy import exc as sa_exc

# SQLite's primary result codes that mean "the file cannot be used right now" rather than
# "the statement is wrong": busy/locked beyond the busy timeout, an I/O error, a full disk,
# a file that cannot be opened (moved away, no permission), or one that turned read-only
# (its folder's permissions changed, or it was moved while open).
SQLITE_UNAVAILABLE: Final = frozenset({
    5,   # SQLITE_BUSY
    6,   # SQLITE_LOCKED
    8,   # SQLITE_READONLY (with SQLITE_READONLY_DBMOVED and friends)
    10,  # SQLITE_IOERR
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
    15,  # SQLITE_PROTOCOL
})
# The same conditions by message, for drivers or wrappers that drop the result code.
SQLITE_UNAVAILABLE_SIGNS: Final = (
    "unable to open database file", "disk i/o error", "database is locked",
    "readonly database", "database or disk is full",
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it was raised from: `raise ... from` links (`__cause__`) and
    SQLAlchemy's `orig`. Not `__context__`: an error raised while handling another is not
    caused by it (the dispatcher's apology fails inside the handler of the first failure)."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            pending.append(current.__cause__)
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            pending.append(orig)


def _asyncpg_unavailable(error: BaseException) -> bool:
    """asyncpg's "the server is not there for us" errors."""
    if isinstance(error, pg.QueryCanceledError):
        # 57014 is in class 57 too, but a statement timeout says the query is too slow,
        # not that the server is gone: retrying the same update would never end.
        return False
    if isinstance(error, pg.InvalidCachedStatementError):
        # A migration changed a table under a statement asyncpg had prepared: it prepares it
        # again, but not inside the transaction that found out. The next try works.
        return True
    if isinstance(error, (
        pg.PostgresConnectionError,     # class 08: refused, lost, does not exist any more
        pg.OperatorInterventionError,   # class 57: starting up, shutting down, terminated
        pg.InsufficientResourcesError,  # class 53: too many connections, disk full
    )):
        return True
    text = str(error).lower()
    if isinstance(error, pg.ObjectNotInPrerequisiteStateError):
        # 55000 'database "x" is not currently accepting connections' (ALLOW_CONNECTIONS off
        # for maintenance); the rest of 55000 is about our statements.
        return "accepting connections" in text
    return isinstance(error, pg.InterfaceError) and "connection" in text


def _sqlite_unavailable(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in SQLITE_UNAVAILABLE:
        return True
    text = str(error).lower()
    return any(sign in text for sign in SQLITE_UNAVAILABLE_SIGNS)


def error_summary(error: BaseException) -> str:
    """An error as a log line may name it: its class and the line that raised it, not its
    text (an exception's text may quote a name, a NIK or a phone number)."""
    frame = traceback.extract_tb(error.__traceback__)[-1:]
    where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
    return f"{type(error).__name__} at {where}"


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database does not answer (retry later, do not confirm the
    update) rather than that our code or data is wrong (retrying cannot help).

    True: a lost or refused connection (SQLAlchemy marks it `connection_invalidated`), a
    pool that cannot hand out a connection, OSError/ConnectionError/TimeoutError on the
    way, asyncpg's connection and shutdown errors, SQLite's "unable to open database file",
    "disk I/O error", "database is locked", read-only or full. False: programming errors,
    constraint violations, and SQLite's OperationalErrors about the SQL itself ("no such
    table", a syntax error), which share their class with the outage ones.
    """
    for cause in _causes(error):
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, (sa_exc.DisconnectionError, sa_exc.TimeoutError, OSError)):
            return True
        if isinstance(cause, sqlite3.Error):
            return _sqlite_unavailable(cause)
        if _asyncpg_unavailable(cause):
            return True
    return False
