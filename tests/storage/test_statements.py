"""Statements written once over the models: the driver gets them in its own marks, its
parameters in SQLAlchemy's order and form, and a statement the driver path cannot take is
refused when it is compiled, not when it runs."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.interfaces import RosterRepository
from storage.models import OutboxMessage
from storage.outbox import _QUEUE
from storage.roster import SqlRosterRepository
from storage.statements import Statement

NOW = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
QUEUED = {"channel": "telegram", "chat_id": "1001", "body_enc": "token", "kind": "reply",
          "broadcast_id": None, "now": NOW}


def test_sqlite_gets_question_marks_and_sqlalchemys_text_for_a_time():
    statement = _QUEUE.compiled(sqlite.dialect())
    assert statement.sql.count("?") == 9 and "$" not in statement.sql
    assert statement.parameters(QUEUED) == [
        "telegram", "1001", "token", "pending", "reply", None, 0,
        "2026-11-21 01:30:00.000000", "2026-11-21 01:30:00.000000"]


def test_asyncpg_gets_numbered_marks_each_value_once():
    statement = _QUEUE.compiled(postgresql.asyncpg.dialect())
    assert "$9" not in statement.sql and statement.sql.count("$8") == 2
    assert statement.parameters(QUEUED) == [
        "telegram", "1001", "token", "pending", "reply", None, 0, NOW]


def test_a_value_fixed_in_the_statement_can_still_be_given():
    statement = _QUEUE.compiled(sqlite.dialect())
    assert statement.parameters({**QUEUED, "status": "sent"})[3] == "sent"


def test_a_naive_time_is_refused_as_the_session_refuses_it():
    with pytest.raises(ValueError, match="naive"):
        _QUEUE.compiled(sqlite.dialect()).parameters({**QUEUED, "now": datetime(2026, 1, 1)})


def test_a_statement_built_per_dialect_is_built_once():
    built: list[str] = []

    def build(dialect: str) -> object:
        built.append(dialect)
        return select(OutboxMessage.id).where(OutboxMessage.chat_id == bindparam("chat_id"))

    statement = Statement(build)  # type: ignore[arg-type]
    assert statement.built("sqlite") is statement.built("sqlite")
    statement.compiled(sqlite.dialect())
    assert built == ["sqlite"]


def test_a_list_rendered_at_execution_time_is_refused_for_the_driver():
    ids = Statement(select(OutboxMessage.id).where(OutboxMessage.id.in_(bindparam("ids"))))
    with pytest.raises(ValueError, match="not a plain positional statement"):
        ids.compiled(sqlite.dialect())


def test_the_roster_repository_is_a_roster_repository_itself():
    wanted = {name for name, _ in inspect.getmembers(RosterRepository, inspect.isfunction)
              if not name.startswith("_")}
    for name in wanted:
        theirs = inspect.signature(getattr(RosterRepository, name))
        ours = inspect.signature(getattr(SqlRosterRepository, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    assert "identity" in wanted
