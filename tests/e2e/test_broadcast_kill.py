"""A camat's broadcast to 2,000 ASN survives its sender being killed; `asn-peduli worker`
sends on every configured channel.

The real `asn-peduli worker` runs as a child process against a SQLite file and the fake Bot
API on 127.0.0.1. It is SIGKILLed when about half the messages have reached Telegram, started
again, and left to finish: every recipient gets the message, the only repeats are messages
that were on their way at the moment of the kill (sent, but their outcome not yet written),
and the progress the camat sees counts every message once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.app import App
from bot.notify import Notifier
from bot.sender import MAX_IN_FLIGHT
from bot.service import run_worker
from bot.settings import Settings
from bot.whatsapp.api import message_key
from flows.events import Reply
from storage.broadcasts import broadcast_progress
from storage.interfaces import Address
from storage.models import Asn, Broadcast, ChannelIdentity, OutboxMessage, Unit
from storage.outbox import SqlOutbox
from tests.conftest import make_settings, migrated_app
from tests.support.cli import prepare_database, run
from tests.support.fake_graph import FakeGraph
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import wait_until
from tests.support.processes import cli_env, start_cli

# No request of these tests leaves 127.0.0.1 (tests/e2e/conftest.py, which also gives the
# fake Bot API `fake` and the fake Cloud API `graph`).

RECIPIENTS = 2_000
FIRST_CHAT = 700_000
TEXT = "Mari lindungi satu pekerja rentan bulan ini."
# Fast enough to finish in seconds, slow enough that the kill lands half-way.
RATE = 400
CLAIM_SECONDS = 2


@pytest.fixture
def settings(sqlite_url: str, fake: FakeTelegram) -> Settings:
    return make_settings(sqlite_url, telegram_bot_token=fake.token,
                         telegram_api_base_url=fake.url, telegram_rate_overall=RATE,
                         sender_claim_seconds=CLAIM_SECONDS, sender_batch_size=100)


async def queue_broadcast(app: App) -> int:
    """2,000 ASN of one kecamatan with a linked Telegram chat, a camat's broadcast to them
    and one outbox row each, queued the way the broadcast flow's notifier does."""
    now = datetime.now(UTC)
    notifier = Notifier(app.renderer, app.cipher)
    async with app.sessions.begin() as session:
        kecamatan = Unit(kind="kecamatan", name="Patebon", code="33.24.14")
        office = Unit(kind="opd", name="Kecamatan Patebon")
        session.add_all([kecamatan, office])
        await session.flush()
        # Reminders off: the worker runs the scheduler too, and these people should get
        # the broadcast only, whatever day the test runs.
        await session.execute(insert(Asn), [
            {"nip": f"19850315201001{n:04d}", "name": f"ASN {n}", "unit_id": office.id,
             "kecamatan_id": kecamatan.id, "phone": f"+62812{n:08d}", "updated_at": now,
             "reminders_enabled": False}
            for n in range(RECIPIENTS + 1)
        ])
        ids = (await session.scalars(select(Asn.id).order_by(Asn.id))).all()
        camat, recipients = ids[0], ids[1:]
        await session.execute(insert(ChannelIdentity), [
            {"channel": "telegram", "external_id": str(FIRST_CHAT + n),
             "chat_id": str(FIRST_CHAT + n), "asn_id": asn_id, "linked_at": now}
            for n, asn_id in enumerate(recipients)
        ])
        broadcast = Broadcast(asn_id=camat, unit_id=kecamatan.id, audience="all", text=TEXT,
                              channel="telegram", status="sending", recipients=RECIPIENTS,
                              created_at=now)
        session.add(broadcast)
        await session.flush()
        reply = Reply("broadcast/message",
                      {"kecamatan": "Patebon", "bc_text": TEXT, "bc_campaign": None})
        for n in range(RECIPIENTS):
            await notifier.queue(session, Address("telegram", str(FIRST_CHAT + n)), reply,
                           kind="broadcast", now=now, broadcast_id=broadcast.id)
        return broadcast.id


async def start_worker(settings: Settings, fake: FakeTelegram, workdir: Path,
                       log: Path) -> asyncio.subprocess.Process:
    """`asn-peduli worker` in its own process, ready once it asked Telegram who it is."""
    asked = len(fake.calls_of("getMe"))
    env = cli_env(settings, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
                  TELEGRAM_RATE_OVERALL=str(RATE), SENDER_CLAIM_SECONDS=str(CLAIM_SECONDS),
                  SENDER_BATCH_SIZE="100")
    return await start_cli("worker", env, workdir, log,
                           lambda _: fake.wait_for_call("getMe", asked + 1, within=30))


async def test_a_broadcast_to_2000_survives_a_killed_sender(
    fake: FakeTelegram, settings: Settings, tmp_path: Path,
    children: list[asyncio.subprocess.Process],
) -> None:
    async with migrated_app(settings) as app:
        broadcast_id = await queue_broadcast(app)
        fake.chats(range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS))
        log = tmp_path / "worker.log"

        first = await start_worker(settings, fake, tmp_path, log)
        children.append(first)
        await wait_until(lambda: len(fake.sent) >= RECIPIENTS // 2, 60,
                         "half the messages sent", every=0.005)
        first.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL
        at_kill = len(fake.sent)
        async with app.sessions() as session:
            recorded = (await broadcast_progress(session, broadcast_id)).sent
        in_flight_at_kill = at_kill - recorded  # reached Telegram, outcome not written
        assert 0 < at_kill < RECIPIENTS

        second = await start_worker(settings, fake, tmp_path, log)
        children.append(second)

        async def finished() -> bool:
            async with app.sessions() as session:
                return (await broadcast_progress(session, broadcast_id)).waiting == 0

        # The database is polled gently: SQLite has one writer, and it is the worker.
        await wait_until(finished, 60, "the broadcast delivered", every=0.25)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 15) == 0

        received = Counter(message.chat_id for message in fake.sent)
        assert set(received) == {str(FIRST_CHAT + n) for n in range(RECIPIENTS)}
        assert all(TEXT in message.text for message in fake.sent)
        repeats = sum(received.values()) - RECIPIENTS
        # Only messages on their way when the sender died can reach a chat twice.
        assert repeats == in_flight_at_kill <= MAX_IN_FLIGHT, (repeats, in_flight_at_kill)
        print(f"\nkill after {at_kill} sent ({in_flight_at_kill} not yet recorded); "
              f"repeated messages: {repeats}")
        async with app.sessions() as session:
            progress = await broadcast_progress(session, broadcast_id)
            rows = (await session.scalars(
                select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id))).all()
        assert (progress.sent, progress.waiting, progress.failed) == (RECIPIENTS, 0, 0)
        assert all(row.platform_message_id and row.claimed_until is None for row in rows)
        assert fake.rejected == []

        output = log.read_text(encoding="utf-8", errors="replace")
        assert "worker: sending on telegram" in output and "worker: stopped" in output
        assert fake.token not in output
        assert TEXT not in output


async def _nothing(app: App) -> None:
    """No seed: the worker stops before it reads any data."""


def test_the_worker_needs_a_channel(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    """`asn-peduli worker` as an operator runs it: run_worker raises NotConfigured and the
    command names what is missing, exit 2."""
    prepare_database(monkeypatch, make_settings(sqlite_url), tmp_path, _nothing)
    code, out = run("worker")
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in out


async def test_the_worker_sends_on_whatsapp_when_it_is_configured(
    graph: FakeGraph, sqlite_url: str
) -> None:
    """In-process `run_worker` with only WhatsApp configured: a queued message reaches the
    fake Cloud API with the 24-hour window known (free text), and SIGTERM ends it."""
    async with migrated_app(make_settings(sqlite_url, **graph.settings())) as app:
        async with app.updates() as update:  # the user wrote, as the dispatcher records it
            await update.inbound("whatsapp", "6281234567890", "private", datetime.now(UTC))
        async with app.sessions.begin() as session:
            await SqlOutbox(session, app.cipher).add(
                "whatsapp", "6281234567890", {"text": "Pengajuan Anda sudah diverifikasi."},
                datetime.now(UTC), kind="news")
        worker = asyncio.create_task(run_worker(app))
        [message] = await graph.wait_for_messages("6281234567890", 1)
        assert message.text == "Pengajuan Anda sudah diverifikasi."
        os.kill(os.getpid(), signal.SIGTERM)  # caught by the worker's own handler
        await asyncio.wait_for(worker, 10)
        async with app.sessions() as session:
            row = (await session.scalars(select(OutboxMessage))).one()
        assert (row.status, row.platform_message_id) == ("sent", message_key(message.wamid))


def test_a_half_configured_channel_is_named(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    prepare_database(monkeypatch, make_settings(sqlite_url), tmp_path, _nothing)
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "1234567890")
    code, out = run("worker")
    assert code == 2
    assert "Pengirim pesan belum bisa berjalan" in out and "WHATSAPP_ACCESS_TOKEN" in out
