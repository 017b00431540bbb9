"""Claims: several senders share the outbox without sending a row twice or a chat's rows out
of order, and a claim left behind by a dead sender is taken over when it runs out.

On PostgreSQL this is what several `asn-peduli worker` processes do (each its own engine and
pool here). SQLite is documented for one sender, but BEGIN IMMEDIATE keeps two correct too,
so the same tests run there.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App, create_app
from bot.settings import Settings
from flows.events import Channel
from storage.models import OutboxMessage
from storage.outbox import SqlOutbox
from tests.conftest import make_settings
from tests.support.sending import Clock, add_messages

FAST = {"telegram_rate_overall": 100_000.0, "telegram_rate_private_chat": 100_000.0,
        "sender_batch_size": 40}


class SharedLog:
    """What every sender's transport delivered, in the order the platform got it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (sender, chat, text)


class Transport:
    channel = Channel.TELEGRAM

    def __init__(self, name: str, log: SharedLog) -> None:
        self.name = name
        self.log = log

    async def send(self, chat_id, message):
        await asyncio.sleep(0.001)  # a platform's answer takes time: senders interleave
        self.log.sent.append((self.name, chat_id, message.text))
        return f"{self.name}-{len(self.log.sent)}"


def shared_settings(url: str, **settings) -> Settings:
    """One configuration (the same keys) for every sender of a test."""
    return make_settings(url, **{**FAST, **settings})


async def sender_app(settings: Settings, name: str, log: SharedLog, clock=None) -> App:
    app = create_app(settings, clock=clock)
    app.add_transport(Transport(name, log))
    return app


async def test_two_senders_share_500_rows_each_sent_exactly_once_in_order(database_url):
    log = SharedLog()
    settings = shared_settings(database_url)
    first = await sender_app(settings, "A", log)
    await first.migrate()
    second = await sender_app(settings, "B", log)
    try:
        # 100 chats, 5 messages each, interleaved
        await add_messages(first, "telegram", [(str(1000 + n % 100), f"pesan {n // 100}")
                                               for n in range(500)], kind="broadcast")

        await asyncio.gather(first.sender.drain(), second.sender.drain())

        assert len(log.sent) == 500
        assert Counter((chat, text) for _, chat, text in log.sent).most_common(1)[0][1] == 1
        by_chat: dict[str, list[str]] = defaultdict(list)
        for _, chat, text in log.sent:
            by_chat[chat].append(text)
        assert all(texts == [f"pesan {n}" for n in range(5)] for texts in by_chat.values())
        if database_url.startswith("postgresql"):
            # Sharing is PostgreSQL's promise; SQLite has one writer, and on a loaded machine
            # one sender may take every claim, which is still correct.
            senders = Counter(name for name, _, _ in log.sent)
            assert senders["A"] > 0 and senders["B"] > 0, senders
        async with first.sessions() as session:
            rows = (await session.scalars(select(OutboxMessage))).all()
        assert {row.status for row in rows} == {"sent"}
        assert all(row.claimed_until is None and row.attempts == 1 for row in rows)
        # Each row records the id the platform gave the sender that sent it.
        assert sorted(row.platform_message_id for row in rows) == sorted(
            f"{name}-{n + 1}" for n, (name, _, _) in enumerate(log.sent))
    finally:
        await first.close()
        await second.close()


async def test_a_claim_left_by_a_dead_sender_is_taken_over_when_it_runs_out(database_url):
    clock = Clock()
    log = SharedLog()
    survivor = await sender_app(shared_settings(database_url, sender_claim_seconds=60), "B",
                                log, clock=clock)
    await survivor.migrate()
    try:
        await add_messages(survivor, "telegram", [("555", f"pesan {n}") for n in range(3)]
                           + [("777", "lain")])
        # A sender claims chat 555's rows and dies before sending anything.
        async with survivor.sessions.begin() as session:
            outbox = SqlOutbox(session, survivor.cipher)
            [queue] = await outbox.chat_queues([("telegram", "555")], clock.now, per_chat=10)
            held = await outbox.claim([row.id for row in queue.rows], clock.now,
                                      clock.now + timedelta(seconds=60))
        assert len(held) == 3

        await survivor.sender.drain()
        assert [text for _, _, text in log.sent] == ["lain"]  # 555 is held by the dead one

        clock.now += timedelta(seconds=59)
        await survivor.sender.drain()
        assert len(log.sent) == 1
        clock.now += timedelta(seconds=1)  # the claim runs out
        await survivor.sender.drain()
        assert [text for _, chat, text in log.sent if chat == "555"] == [
            "pesan 0", "pesan 1", "pesan 2"]
        async with survivor.sessions() as session:
            statuses = (await session.scalars(select(OutboxMessage.status))).all()
        assert set(statuses) == {"sent"}
    finally:
        await survivor.close()


async def test_a_claim_takes_only_free_rows_and_a_chat_only_from_its_first(database_url):
    clock = Clock()
    app = await sender_app(shared_settings(database_url), "A", SharedLog(), clock=clock)
    await app.migrate()
    try:
        await add_messages(app, "telegram", [("555", f"pesan {n}") for n in range(3)])
        until = clock.now + timedelta(seconds=60)
        async with app.sessions.begin() as session:
            outbox = SqlOutbox(session, app.cipher)
            [queue] = await outbox.chat_queues([("telegram", "555")], clock.now, per_chat=1)
            first_id = queue.rows[0].id
            assert await outbox.claim([first_id], clock.now, until) == {first_id}
        async with app.sessions.begin() as session:
            outbox = SqlOutbox(session, app.cipher)
            # Held: nobody else takes it, and the rows behind it wait with it.
            assert await outbox.claim([first_id], clock.now, until) == set()
            assert await outbox.due_chats(clock.now, 10, ["telegram"]) == [("telegram", "555")]
            [queue] = await outbox.chat_queues([("telegram", "555")], clock.now, per_chat=10)
            assert queue.rows == () and queue.blocked_until == until
    finally:
        await app.close()


@pytest.mark.parametrize("senders", [3])
async def test_concurrent_claims_never_overlap(postgres_url, senders):
    """Claims racing on PostgreSQL (FOR UPDATE SKIP LOCKED, then the conditional update):
    every row is held by exactly one of them."""
    clock = Clock()
    settings = shared_settings(postgres_url)
    apps = [await sender_app(settings, str(n), SharedLog(), clock=clock)
            for n in range(senders)]
    await apps[0].migrate()
    try:
        await add_messages(apps[0], "telegram", [(str(1000 + n), "Siaran") for n in range(300)],
                           kind="broadcast")

        async def claim_all(app: App) -> set[int]:
            mine: set[int] = set()
            while True:
                async with app.sessions.begin() as session:
                    outbox = SqlOutbox(session, app.cipher)
                    chats = await outbox.due_chats(clock.now, 20, ["telegram"])
                    queues = await outbox.chat_queues(chats, clock.now, per_chat=20)
                    got = await outbox.claim([row.id for q in queues for row in q.rows],
                                             clock.now, clock.now + timedelta(seconds=60))
                if not chats:
                    return mine
                mine |= got

        claimed = await asyncio.gather(*(claim_all(app) for app in apps))
        assert sum(len(ids) for ids in claimed) == 300
        assert len(set().union(*claimed)) == 300
    finally:
        for app in apps:
            await app.close()
