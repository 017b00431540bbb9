"""Which errors say "the database does not answer" (retry, do not confirm the update) and
which say our code or data is wrong (retrying cannot help)."""

from __future__ import annotations

import sqlite3

import pytest
from asyncpg import exceptions as pg
from sqlalchemy import exc as sa_exc

from storage.outages import database_unavailable


def _wrapped(error: Exception) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("SELECT 1", {}, error)


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("unable to open database file"),
    sqlite3.OperationalError("database is locked"),
    sqlite3.OperationalError("disk I/O error"),
    _wrapped(sqlite3.OperationalError("unable to open database file")),
    ConnectionRefusedError(111, "Connection refused"),
    pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    pg.AdminShutdownError("terminating connection due to administrator command"),
    pg.TooManyConnectionsError("sorry, too many clients already"),
    pg.InvalidCachedStatementError("cached statement plan is invalid due to a database "
                                   "schema or configuration change"),
])
def test_an_outage_is_recognised(error):
    assert database_unavailable(error)


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("no such table: outbox"),
    sqlite3.OperationalError('near "SELEC": syntax error'),
    sqlite3.IntegrityError("UNIQUE constraint failed: workers.nik_hash"),
    pg.QueryCanceledError("canceling statement due to statement timeout"),
    pg.UniqueViolationError("duplicate key value violates unique constraint"),
    ValueError("a bug"),
])
def test_our_own_errors_are_not_an_outage(error):
    assert not database_unavailable(error)
