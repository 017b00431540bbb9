"""storage.sqlite_inline stands in for aiosqlite's connection under SQLAlchemy's aiosqlite
dialect, which reaches into private parts of it (`_conn`, `_tx`, `_connection`, `stop`).
Nothing public promises those names, so this reads SQLAlchemy's adapter as installed and
fails, naming the name, the day it uses one more, one less, or aiosqlite drops one: then
storage/sqlite_inline.py must follow before anything else runs on it.
"""

from __future__ import annotations

import ast
import inspect
import sqlite3
from types import ModuleType

import aiosqlite
import sqlalchemy
import sqlalchemy.connectors.asyncio as asyncio_connector
import sqlalchemy.dialects.sqlite.aiosqlite as aiosqlite_dialect

from storage.sqlite_inline import InlineConnection, InlineCursor

# What SQLAlchemy 2.1's adapter (pinned in pyproject.toml) uses of aiosqlite's objects.
CONNECTION = {"_conn", "_connection", "_thread", "_tx", "close", "commit", "create_function",
              "cursor", "daemon", "isolation_level", "rollback", "stop"}
REQUEST_QUEUE = {"put_nowait"}  # on `_tx`: how it sets the isolation level
CURSOR = {"__aenter__", "__aiter__", "arraysize", "close", "description", "execute",
          "executemany", "fetchall", "fetchmany", "fetchone", "lastrowid", "nextset",
          "rowcount", "setinputsizes"}
# Used by SQLAlchemy only on a connection it opens itself; ours come from `async_creator`.
OPENED_BY_SQLALCHEMY = {
    "_thread": "aiosqlite's worker thread (0.22+), made a daemon",
    "daemon": "the connection that was a thread (before aiosqlite 0.22), made a daemon",
}
# Used by SQLAlchemy for what this project never asks of SQLite.
NOT_NEEDED = {
    "__aiter__": "iterating the driver's cursor itself (results are fetched with fetchmany)",
    "nextset": "a second result set (SQLite has none)",
    "setinputsizes": "typed inputs (the SQLite dialect never declares any)",
}
PRIVATE = {"_conn", "_connection", "_tx", "stop"}


def _used(modules: tuple[ModuleType, ...], bases: set[str]) -> set[str]:
    """Every attribute these modules' code reads on one of `bases` (source expressions)."""
    found = set()
    for module in modules:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) in bases:
                found.add(node.attr)
    return found


def _changed(what: str, used: set[str], known: set[str]) -> str:
    return (f"SQLAlchemy {sqlalchemy.__version__}'s aiosqlite adapter changed what it uses on "
            f"the {what}: now also {sorted(used - known)}, no longer {sorted(known - used)}. "
            "storage/sqlite_inline.py stands in for it: make it match, then update this test.")


MODULES = (aiosqlite_dialect, asyncio_connector)


def test_the_names_sqlalchemy_uses_on_the_connection_are_those_sqlite_inline_provides():
    used = _used(MODULES, {"self._connection", "connection"})
    assert used == CONNECTION, _changed("connection", used, CONNECTION)
    missing = sorted(name for name in CONNECTION - set(OPENED_BY_SQLALCHEMY) - PRIVATE
                     if not hasattr(InlineConnection, name))
    assert not missing, f"storage.sqlite_inline.InlineConnection lacks {missing}"


def test_the_request_queue_is_used_only_to_run_one_function():
    used = _used(MODULES, {"self._connection._tx"})
    assert used == REQUEST_QUEUE, _changed("connection's request queue (_tx)", used,
                                           REQUEST_QUEUE)


def test_the_names_sqlalchemy_uses_on_the_cursor_are_those_sqlite_inline_provides():
    used = _used(MODULES, {"self._cursor", "cursor"})
    assert used == CURSOR, _changed("cursor", used, CURSOR)
    missing = sorted(name for name in CURSOR - set(NOT_NEEDED)
                     if not hasattr(InlineCursor, name))
    assert not missing, f"storage.sqlite_inline.InlineCursor lacks {missing}"


async def test_an_inline_connection_holds_the_private_attributes_it_copies(tmp_path):
    connection = InlineConnection(sqlite3.connect(tmp_path / "a.db"), "a.db", 0)
    try:
        for name in PRIVATE:
            assert hasattr(connection, name), f"InlineConnection lacks {name}"
        assert hasattr(connection._tx, "put_nowait")
    finally:
        connection.stop()


async def test_aiosqlite_still_has_what_sqlalchemy_reaches_into(tmp_path):
    async with aiosqlite.connect(tmp_path / "b.db") as connection:
        gone = sorted(name for name in CONNECTION - {"daemon"} if not hasattr(connection, name))
        assert not gone, (f"aiosqlite {aiosqlite.__version__} no longer has {gone} on its "
                          "connection, which SQLAlchemy's adapter and storage/sqlite_inline.py "
                          "rely on")
        assert hasattr(connection._tx, "put_nowait"), (
            f"aiosqlite {aiosqlite.__version__}'s request queue changed")
