"""One update's transaction, on both engines: the fast statements write exactly what the
SQLAlchemy models read, and the flows' session is part of the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from storage.conversations import ConversationKey, SqlConversationRepository
from storage.models import Asn, ChannelIdentity, Chat, OutboxMessage, ProcessedUpdate
from storage.outbox import SqlOutbox
from storage.processed_updates import _CLAIM
from storage.roster import SqlRosterRepository
from storage.update_transaction import PostgresTransactions, SqliteTransactions
from tests.conftest import BUDI, make_settings, migrated_app

WIB = timezone(timedelta(hours=7))
# Microseconds 0: SQLAlchemy and the fast path must both keep ".000000".
NOW = datetime(2026, 11, 21, 8, 30, 0, tzinfo=WIB)
KEY = ConversationKey(bot_id=7, chat_id=1001, user_id=1001)


@pytest.fixture
async def roster_app(database_url):
    async with migrated_app(make_settings(database_url), roster=True) as application:
        async with application.sessions.begin() as session:
            budi = await session.scalar(select(Asn.id).where(Asn.nip == BUDI.nip))
            session.add(ChannelIdentity(channel="telegram", external_id="1001", chat_id="1001",
                                        asn_id=budi, linked_at=NOW))
        yield application


async def test_the_engine_decides_the_kind_of_transaction(roster_app):
    kind = (SqliteTransactions if roster_app.settings.database_url.startswith("sqlite")
            else PostgresTransactions)
    assert type(roster_app.updates) is kind


async def test_what_the_fast_statements_write_reads_back_through_the_models(roster_app):
    async with roster_app.updates() as update:
        assert await update.claim("telegram", "42", NOW) is True
        assert await update.claim("telegram", "42", NOW) is False
        assert await update.load(KEY) == (None, {})
        await update.save(KEY, "Enrollment:nik", {"nik": "3324015708800001"}, NOW)
        assert await update.load(KEY) == ("Enrollment:nik", {"nik": "3324015708800001"})
        who = await update.roster.identity("telegram", "1001")
        assert who is not None and who.nip == BUDI.nip and who.unit_name == BUDI.unit
        assert await update.roster.identity("telegram", "999") is None
        await update.queue("telegram", "1001", {"text": "Halo"}, "reply", NOW)
        await update.inbound("telegram", "1001", "private", NOW)
        with pytest.raises(ValueError, match="unknown outbox kind"):
            await update.queue("telegram", "1001", {"text": "x"}, "promo", NOW)

    async with roster_app.sessions() as session:
        processed = await session.scalar(select(ProcessedUpdate))
        assert processed.processed_at == NOW
        state = await SqlConversationRepository(session, roster_app.cipher).load(KEY)
        assert state == ("Enrollment:nik", {"nik": "3324015708800001"})
        row = await session.scalar(select(OutboxMessage))
        assert (row.status, row.kind, row.attempts) == ("pending", "reply", 0)
        assert row.created_at == NOW and row.next_attempt_at == NOW
        assert SqlOutbox(session, roster_app.cipher).body(row.body_enc) == {"text": "Halo"}
        chat = await session.scalar(select(Chat))
        assert (chat.chat_type, chat.last_inbound_at, chat.unreachable_at) == (
            "private", NOW, None)
        # The sender's claim takes the row the fast path queued.
        due = await SqlOutbox(session, roster_app.cipher).due_chats(
            NOW + timedelta(seconds=1), 10, ["telegram"])
        assert due == [("telegram", "1001")]


async def test_who_is_writing_reads_alike_through_the_driver_and_the_session(roster_app):
    async with roster_app.updates() as update:
        fast = await update.roster.identity("telegram", "1001")
    async with roster_app.sessions() as session:
        assert await SqlRosterRepository(session).identity("telegram", "1001") == fast
    assert fast is not None and fast.nip == BUDI.nip


async def test_an_inbound_message_lifts_an_unreachable_mark(roster_app):
    async with roster_app.sessions.begin() as session:
        session.add(Chat(channel="telegram", chat_id="1001", chat_type="private",
                         unreachable_at=NOW, unreachable_reason="blocked"))
    async with roster_app.updates() as update:
        await update.inbound("telegram", "1001", "private", NOW + timedelta(hours=1))
    async with roster_app.sessions() as session:
        chat = await session.scalar(select(Chat))
        assert chat.unreachable_at is None and chat.unreachable_reason is None
        assert chat.last_inbound_at == NOW + timedelta(hours=1)


async def test_the_session_is_part_of_the_same_transaction(roster_app):
    async with roster_app.updates() as update:
        # What the session adds, the fast statements see (and the other way round).
        await SqlRosterRepository(update.session).link_identity(
            "telegram", "2002", "2002", await _asn_id(update.session, BUDI.nip), NOW)
        assert (await update.roster.identity("telegram", "2002")).nip == BUDI.nip
        await update.save(KEY, "Menu:main", {}, NOW)
        assert (await SqlConversationRepository(update.session, roster_app.cipher).load(KEY)
                )[0] == "Menu:main"
    async with roster_app.sessions() as session:
        assert await session.scalar(
            select(ChannelIdentity.asn_id).where(ChannelIdentity.external_id == "2002"))


async def test_a_failure_rolls_back_both_the_fast_statements_and_the_session(roster_app):
    with pytest.raises(RuntimeError):
        async with roster_app.updates() as update:
            await update.claim("telegram", "43", NOW)
            await update.save(KEY, "Menu:main", {}, NOW)
            await SqlRosterRepository(update.session).record_failure("telegram", "1001", NOW)
            await update.session.flush()
            raise RuntimeError("a flow failed")
    async with roster_app.updates() as update:
        assert await update.load(KEY) == (None, {})
        assert await update.claim("telegram", "43", NOW) is True
        assert await SqlRosterRepository(update.session).failures_since(
            "telegram", "1001", NOW - timedelta(days=1)) == 0


async def _asn_id(session, nip: str) -> int:
    return await session.scalar(select(Asn.id).where(Asn.nip == nip))


def test_stamps_are_utc_like_the_models():
    # The time as the driver gets it on SQLite: UTC, in SQLite's text form that sorts.
    statement = _CLAIM.compiled(sqlite.dialect())
    assert statement.names[-1] == "now"

    def _stamp(value: datetime) -> str:
        return statement.parameters({"channel": "telegram", "update_id": "1", "now": value})[-1]

    assert _stamp(NOW) == "2026-11-21 01:30:00.000000"
    assert _stamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01 00:00:00.000000"
