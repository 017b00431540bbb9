"""Statements written once over the models, run through a session or straight on the driver.

Every update makes the same few statements (claim its id, load and save its conversation,
ask who is writing, queue its replies, record the chat). Through SQLAlchemy each costs
several times the statement itself: building it, the ORM's execution, a thread hop with
aiosqlite. So the update's transaction runs them on the driver's own connection (sqlite3 on
the inline connection, asyncpg under the session); every other caller runs the very same
statements through an AsyncSession.

A `Statement` is written once, in the repository that owns it, as SQLAlchemy Core over the
models. It is built once per dialect (an upsert is spelled per dialect) and compiled once
per dialect for the driver: positional marks in SQLAlchemy's order (sqlite3's `?`,
asyncpg's `$n`) and SQLAlchemy's own bind processors, so a time reaches the driver exactly
as the session would write it (storage.models.UtcDateTime). A column change touches one place.

A repository runs its statements on a `Runner`: `SessionStatements` over an AsyncSession,
or the update transaction's driver runners (storage.update_transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

Build = Callable[[str], Executable]


class DriverStatement:
    """A statement as the driver takes it: its text, and how to turn named values into the
    positional parameters it expects (values fixed in the statement itself included).

    Each value is processed once (a time into SQLite's text costs microseconds) and placed
    at each of its marks: sqlite3's `?` repeats a value used twice, asyncpg's `$n` does not.
    The values are picked with itemgetter: this runs for every statement of every update.
    """

    __slots__ = ("_fixed", "_marks", "_pick", "_processed", "names", "sql")

    def __init__(self, sql: str, names: Sequence[str], at_marks: Sequence[str],
                 processors: Sequence[Callable[[Any], Any] | None],
                 fixed: Mapping[str, Any]) -> None:
        self.sql = sql
        self.names = tuple(names)
        self._fixed = dict(fixed)
        self._pick = _picker(self.names)
        self._processed = tuple((index, process) for index, process in enumerate(processors)
                                if process is not None)
        self._marks = (None if tuple(at_marks) == self.names
                       else _picker([self.names.index(name) for name in at_marks]))

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any]:
        if self._fixed:
            values = {**self._fixed, **values}
        row = self._pick(values)
        for index, process in self._processed:
            row[index] = process(row[index])
        return row if self._marks is None else self._marks(row)


def _picker(keys: Sequence[Any]) -> Callable[[Any], list[Any]]:
    """A function giving [source[key] for key in keys], at C speed."""
    pick = itemgetter(*keys)
    if len(keys) == 1:
        return lambda source: [pick(source)]
    return lambda source: list(pick(source))


def _compiled(statement: Executable, dialect: Dialect) -> DriverStatement:
    compiled = statement.compile(dialect=dialect)
    if not dialect.positional or compiled.literal_execute_params or (
            compiled.post_compile_params):
        # An IN list or a LIMIT is rendered at execution time: not for this path.
        raise ValueError(f"not a plain positional statement for {dialect.name}: "
                         f"{compiled.string}")
    at_marks = tuple(compiled.positiontup or ())
    names = tuple(dict.fromkeys(at_marks))
    binds = [compiled.binds[name] for name in names]
    return DriverStatement(
        sql=compiled.string, names=names, at_marks=at_marks,
        processors=[bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds],
        fixed={name: bind.value for name, bind in zip(names, binds, strict=True)
               if not bind.required},
    )


class Statement:
    """One statement over the models: built once per dialect for a session, compiled once
    per dialect for the driver.

    `build` is the statement itself, or a function of the dialect's name giving it (for an
    upsert, whose INSERT is the dialect's own: storage.database.dialect_insert)."""

    def __init__(self, build: Executable | Build) -> None:
        self._build: Build = build if callable(build) else (lambda _dialect: build)
        self._built: dict[str, Executable] = {}
        self._compiled: dict[str, DriverStatement] = {}

    def built(self, dialect: str) -> Executable:
        """The statement for this dialect, the same object each time: SQLAlchemy then
        finds it in its compiled cache without building a cache key again."""
        found = self._built.get(dialect)
        if found is None:
            found = self._built[dialect] = self._build(dialect)
        return found

    def compiled(self, dialect: Dialect) -> DriverStatement:
        """The statement in the driver's terms for this dialect."""
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compiled(self.built(dialect.name),
                                                             dialect)
        return found


class Runner(Protocol):
    """Where a repository's statements run: a session, or the driver under it; `session`
    is the same transaction's session, for the ORM's work beside them."""

    @property
    def dialect(self) -> str: ...

    @property
    def session(self) -> AsyncSession: ...

    async def row(self, statement: Statement, values: Mapping[str, Any]
                  ) -> Sequence[Any] | None: ...

    async def run(self, statement: Statement, values: Mapping[str, Any]) -> None: ...


class SessionStatements:
    """Statements through an AsyncSession, as any other query."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._dialect: str | None = None

    @property
    def dialect(self) -> str:
        if self._dialect is None:
            self._dialect = self.session.get_bind().dialect.name
        return self._dialect

    async def row(self, statement: Statement, values: Mapping[str, Any]
                  ) -> Sequence[Any] | None:
        return (await self.session.execute(statement.built(self.dialect), values)).first()

    async def run(self, statement: Statement, values: Mapping[str, Any]) -> None:
        await self.session.execute(statement.built(self.dialect), values)


def runner(db: AsyncSession | Runner) -> Runner:
    """A repository's way to its statements: the runner it was given, or its session's."""
    return SessionStatements(db) if isinstance(db, AsyncSession) else db


# PostgreSQL's lock on a number, held until the transaction ends (one conversation's
# updates, one inbox claim at a time, across processes).
ADVISORY_LOCK = Statement(select(func.pg_advisory_xact_lock(bindparam("lock"))))
