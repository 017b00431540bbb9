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
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

Build = Callable[[str], Executable]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as the driver takes it: its text, and how to turn named values into the
    positional parameters it expects (values fixed in the statement itself included)."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        given = {**self.fixed, **values} if self.fixed else values
        return [given[name] if process is None else process(given[name])
                for name, process in zip(self.names, self.processors, strict=True)]


def _compiled(statement: Executable, dialect: Dialect) -> DriverStatement:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    if not dialect.positional or compiled.literal_execute_params or (
            compiled.post_compile_params):
        # An IN list or a LIMIT is rendered at execution time: not for this path.
        raise ValueError(f"not a plain positional statement for {dialect.name}: "
                         f"{compiled.string}")
    binds = [compiled.binds[name] for name in names]
    return DriverStatement(
        sql=compiled.string,
        names=names,
        processors=tuple(bind.type.dialect_impl(dialect).bind_processor(dialect)
                         for bind in binds),
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
