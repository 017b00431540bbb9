"""The web server itself (`asn-peduli serve`): what it refuses, what it keeps, and how it
stops. Requests go to the real uvicorn server on 127.0.0.1; Meta is the fake Cloud API and
Telegram the fake Bot API, both on 127.0.0.1.

A refused request leaves nothing behind: no inbox row, no processed update, no chat, no
conversation, no outbox row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from admin.cli import cli
from bot.app import App, create_app
from bot.settings import Settings
from bot.telegram.channel import TelegramBot
from bot.web import (
    ServeNotConfigured,
    WebServer,
    web_server_from_settings,
)
from bot.whatsapp.api import WhatsAppNotConfigured, message_key
from bot.whatsapp.transport import WhatsAppTransport
from storage.inbox import InboxCounts, SqlInbox
from storage.models import (
    Chat,
    ConversationState,
    InboxUpdate,
    OutboxMessage,
    ProcessedUpdate,
)
from tests.conftest import BUDI, make_settings, migrated_app
from tests.support.fake_graph import FakeGraph, RunningServer, running, wamid_of
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import wait_until
from tests.support.processes import count, none_left, settle, start_serve

WA_ID = BUDI.phone.lstrip("+")
MAX_BODY = 8 * 1024
TABLES = (InboxUpdate, ProcessedUpdate, Chat, ConversationState, OutboxMessage)


# The fake Cloud API `graph`, Bot API `fake`, and `web_app`/`server` over this module's
# `settings` come from tests/e2e/conftest.py.


@pytest.fixture
def settings(sqlite_url: str, graph: FakeGraph) -> Settings:
    return make_settings(sqlite_url, web_max_body_bytes=MAX_BODY, **graph.settings())


async def counts(app: App) -> dict[str, int]:
    return {table.__tablename__: await count(app, table) for table in TABLES}


async def nothing_stored(app: App) -> bool:
    return set((await counts(app)).values()) == {0}


async def settled(app: App, wamid: str) -> None:
    """Until the message is processed, the inbox empty and the outbox delivered."""
    await settle(app, "whatsapp", message_key(wamid))


async def say(graph: FakeGraph, server: RunningServer, app: App, text: str,
              wa_id: str = WA_ID) -> dict[str, Any]:
    body = graph.text(wa_id, text)
    response = await graph.post(server.url, body)
    assert response.status_code == 200 and response.json() == {"ok": True, "kept": True}
    await settled(app, wamid_of(body))
    return body


# -- Meta's verification request -----------------------------------------------------------


async def test_the_webhook_verification_answers_the_challenge_only_with_the_token(
    graph: FakeGraph, server: RunningServer
) -> None:
    url = f"{server.url}/whatsapp/webhook"
    async with httpx.AsyncClient() as client:
        ok = await client.get(url, params={"hub.mode": "subscribe",
                                           "hub.verify_token": graph.verify_token,
                                           "hub.challenge": "1158201444"})
        assert (ok.status_code, ok.text) == (200, "1158201444")
        for params in (
            {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
            {"hub.mode": "subscribe", "hub.challenge": "1"},
            {"hub.mode": "unsubscribe", "hub.verify_token": graph.verify_token,
             "hub.challenge": "1"},
            {"hub.mode": "subscribe", "hub.verify_token": "é" + graph.verify_token},
        ):
            refused = await client.get(url, params=params)
            assert refused.status_code == 403 and "1" not in refused.text


# -- refusals: nothing of them is kept -----------------------------------------------------


async def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_kept(
    graph: FakeGraph, server: RunningServer, web_app: App
) -> None:
    body = graph.text(WA_ID, "halo")
    raw = json.dumps(body).encode()
    unsigned = await graph.post(server.url, body, signature=False)
    assert unsigned.status_code == 401 and unsigned.json() == {"error": "signature missing"}
    for signature in (
        graph.sign(raw, secret="another-app-secret"),   # another app's secret
        graph.sign(raw + b" "),                          # a body changed after signing
        "sha256=" + "0" * 64,
        "sha1=" + graph.sign(raw)[7:],
        graph.sign(raw).encode() + "é".encode("latin-1"),  # not even ASCII
    ):
        forged = await graph.post(server.url, body, signature=signature)
        assert forged.status_code == 403, signature
    await asyncio.sleep(0.2)  # the inbox worker would have picked up anything kept
    assert await nothing_stored(web_app)
    assert graph.sent == []


async def test_a_too_large_body_is_refused_before_it_is_read(
    graph: FakeGraph, server: RunningServer, web_app: App
) -> None:
    body = graph.text(WA_ID, "x" * MAX_BODY)
    raw = json.dumps(body).encode()
    too_large = await graph.post(server.url, raw)  # correctly signed, but too large
    assert too_large.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for start in range(0, len(raw), 1024):
            yield raw[start:start + 1024]

    async with httpx.AsyncClient() as client:
        streamed = await client.post(f"{server.url}/whatsapp/webhook", content=chunks(),
                                     headers={"X-Hub-Signature-256": graph.sign(raw),
                                              "Content-Type": "application/json"})
    assert streamed.status_code == 413
    await asyncio.sleep(0.2)
    assert await nothing_stored(web_app)


async def test_malformed_json_and_foreign_bodies_are_refused_or_dropped(
    graph: FakeGraph, server: RunningServer, web_app: App
) -> None:
    for raw in (b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b'{"entry": "x"}'):
        response = await graph.post(server.url, raw)  # signed: only the content is wrong
        assert response.status_code == 400, raw
    # Well-formed bodies with nothing for our number: answered, and dropped.
    other_number = graph.text(WA_ID, "halo")
    other_number["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    for body in (other_number, graph.load("account_update"), graph.message("reaction", WA_ID),
                 {"object": "page", "entry": []}):
        response = await graph.post(server.url, body)
        assert response.status_code == 200 and response.json() == {"ok": True, "kept": False}
    await asyncio.sleep(0.2)
    assert await nothing_stored(web_app)
    assert graph.sent == []


async def test_a_replayed_webhook_is_processed_once(
    graph: FakeGraph, server: RunningServer, web_app: App
) -> None:
    await say(graph, server, web_app, "halo")
    body = await say(graph, server, web_app, BUDI.nip)
    after = await counts(web_app)
    sent = len(graph.sent)
    # The same signed request again, twice (Meta retrying, or someone replaying it).
    for _ in range(2):
        response = await graph.post(server.url, body)
        assert response.status_code == 200
    await asyncio.sleep(0.3)
    await settled(web_app, wamid_of(body))
    assert await counts(web_app) == after
    assert len(graph.sent) == sent


async def test_the_telegram_webhook_is_refused_when_telegram_is_not_served(
    server: RunningServer
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{server.url}/telegram/webhook", json={"update_id": 1},
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "x"})
        assert response.status_code == 404
        assert (await client.get(f"{server.url}/nothing-here")).status_code == 404
        assert (await client.put(f"{server.url}/whatsapp/webhook")).status_code == 405


async def test_health_answers_with_the_database_and_the_backlog(
    server: RunningServer
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{server.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channels": ["whatsapp"],
                               "inbox": {"waiting": 0, "stuck": 0}}


# -- status callbacks ----------------------------------------------------------------------


async def test_status_callbacks_update_the_outbox_and_mark_the_unreachable(
    graph: FakeGraph, server: RunningServer, web_app: App
) -> None:
    await say(graph, server, web_app, "halo")
    welcome, ask_nip = graph.messages(WA_ID)
    for status in ("sent", "delivered", "read", "delivered"):  # the last one comes late
        response = await graph.post(server.url, graph.status(ask_nip.wamid, status, WA_ID))
        assert response.status_code == 200 and response.json()["kept"] is True
    await asyncio.sleep(0.1)
    await web_app_settled(web_app)
    async with web_app.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [row.platform_message_id for row in rows] == [
        message_key(welcome.wamid), message_key(ask_nip.wamid)]
    assert len(ask_nip.wamid) > 64 and len(rows[1].platform_message_id or "") <= 64
    assert rows[1].delivered_at is not None and rows[1].read_at is not None
    assert rows[1].read_at >= rows[1].delivered_at
    assert rows[0].delivered_at is None and rows[1].status == "sent"

    # A number that is not on WhatsApp: the send is accepted, then reported failed.
    stranger = "6289911112222"
    graph.not_on_whatsapp.add(stranger)
    await say(graph, server, web_app, "halo", wa_id=stranger)
    for report in list(graph.statuses):
        response = await graph.post(server.url, report)
        assert response.status_code == 200
    await asyncio.sleep(0.1)
    await web_app_settled(web_app)
    async with web_app.sessions() as session:
        failed = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == stranger))).all()
        chat = (await session.scalars(select(Chat).where(Chat.chat_id == stranger))).one()
    assert [row.status for row in failed] == ["failed", "failed"]
    assert all(row.last_error == "whatsapp 131026: Message undeliverable" for row in failed)
    assert chat.unreachable_at is not None
    assert chat.unreachable_reason == "whatsapp 131026: Message undeliverable"


async def web_app_settled(app: App) -> None:
    await wait_until(lambda: none_left(app, InboxUpdate), what="the inbox did not empty")


# -- durability ----------------------------------------------------------------------------


async def test_a_delivery_acknowledged_before_a_crash_is_dispatched_after_the_restart(
    graph: FakeGraph, settings: Settings, web_app: App
) -> None:
    """The request is answered once the delivery is stored; a process that dies before
    dispatching it loses nothing: the next one dispatches it."""
    crashed = WebServer(web_app, whatsapp=WhatsAppTransport(settings, web_app.renderer))
    body = graph.text(WA_ID, "halo")
    raw = json.dumps(body).encode()
    # Only the HTTP layer runs: its background work never started (it "crashed" at once).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=crashed.asgi),
                                 base_url="http://bot") as client:
        response = await client.post("/whatsapp/webhook", content=raw, headers={
            "X-Hub-Signature-256": graph.sign(raw), "Content-Type": "application/json"})
    assert response.status_code == 200
    assert crashed.whatsapp is not None
    await crashed.whatsapp.close()
    stored = await counts(web_app)
    assert stored["inbox"] == 1 and stored["processed_updates"] == 0 and graph.sent == []
    async with web_app.sessions() as session:
        kept = (await session.scalars(select(InboxUpdate))).one()
    assert "halo" not in kept.body_enc and WA_ID not in kept.body_enc  # encrypted

    restarted_app = create_app(settings)
    try:
        async with running(web_server_from_settings(restarted_app)):
            await settled(restarted_app, wamid_of(body))
    finally:
        await restarted_app.close()
    assert "Selamat datang" in graph.messages(WA_ID)[0].text


async def test_a_delivery_that_cannot_be_dispatched_is_retried_then_left_for_an_operator(
    graph: FakeGraph, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A Telegram update kept by a server that served Telegram, found by one that no longer
    does: tried again with a growing delay, then left (and counted by /health) without
    holding up the deliveries behind it."""
    clock = [datetime(2025, 8, 21, 3, 0, tzinfo=UTC)]
    async with migrated_app(settings, clock=lambda: clock[0]) as app:
        transport = WhatsAppTransport(settings, app.renderer, clock=app.clock)
        try:
            web = WebServer(app, whatsapp=transport, inbox_max_attempts=2)
            worker = web.inbox  # driven by hand: the server is not started
            async with app.sessions.begin() as session:
                SqlInbox(session, app.cipher).add("telegram", {"update_id": 5}, clock[0])
            assert await worker.process_due() == 1
            assert await worker.process_due() == 0  # waits a second before the next try
            clock[0] += timedelta(seconds=1)
            with caplog.at_level(logging.ERROR, logger="bot.inbox_worker"):
                assert await worker.process_due() == 1
            assert "left for an operator" in caplog.text
            clock[0] += timedelta(hours=1)
            assert await worker.process_due() == 0
            async with app.sessions() as session:
                row = (await session.scalars(select(InboxUpdate))).one()
                assert counts_of(await SqlInbox(session, app.cipher).counts(2)) == (0, 1)
            assert (row.attempts, row.last_error) == (2, "telegram channel not configured")
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web.asgi),
                                         base_url="http://bot") as client:
                health = (await client.get("/health")).json()
            assert health["inbox"] == {"waiting": 0, "stuck": 1}
        finally:
            await transport.close()


def counts_of(counts: InboxCounts) -> tuple[int, int]:
    return counts.waiting, counts.stuck


# -- Telegram through the web server -------------------------------------------------------


TELEGRAM_SECRET = "tg-secret-5d1e"
USER = 1001


def telegram_update(fake: FakeTelegram, update_id: int, text: str) -> dict[str, Any]:
    """A message update as Telegram posts it to a webhook."""
    fake.push_text(USER, text)  # the fake now knows the chat (it is never polled here)
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": USER, "type": "private", "first_name": "Budi"},
        "from": fake.user(USER),
        **({"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
           if text.startswith("/") else {}),
    }}


async def test_telegram_updates_come_in_through_the_webhook_with_the_secret(
    fake: FakeTelegram, sqlite_url: str
) -> None:
    settings = make_settings(sqlite_url, telegram_bot_token=fake.token,
                             telegram_api_base_url=fake.url,
                             telegram_webhook_secret=TELEGRAM_SECRET)
    async with migrated_app(settings, roster=True) as app:
        web = web_server_from_settings(app)
        assert isinstance(web.telegram, TelegramBot) and web.whatsapp is None
        async with running(web) as server:
            url = f"{server.url}/telegram/webhook"
            start = telegram_update(fake, 700_001, "/start")
            async with httpx.AsyncClient() as client:
                missing = await client.post(url, json=start)
                wrong = await client.post(url, json=start, headers={
                    "X-Telegram-Bot-Api-Secret-Token": "guess"})
                assert (missing.status_code, wrong.status_code) == (401, 403)
                assert await nothing_stored(app)
                header = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
                for bad in (b"{", b'{"update_id": "x"}', b"[]"):
                    refused = await client.post(url, content=bad, headers=header)
                    assert refused.status_code == 400
                for _ in range(2):  # delivered twice: processed once
                    accepted = await client.post(url, json=start, headers=header)
                    assert accepted.status_code == 200
            [welcome, ask_nip] = await fake.wait_for_messages(USER, 2)
            assert "Selamat datang" in welcome.text and "NIP" in ask_nip.text
            await asyncio.sleep(0.3)
            assert len(fake.messages(USER)) == 2
            assert fake.commands  # the "/" menu was published at start


# -- configuration -------------------------------------------------------------------------


def test_a_server_without_a_channel_or_with_half_a_configuration_does_not_start(
    sqlite_url: str
) -> None:
    async def build(**overrides: Any) -> None:
        app = create_app(make_settings(sqlite_url, **overrides))
        try:
            web_server_from_settings(app)
        finally:
            await app.close()

    with pytest.raises(ServeNotConfigured, match="neither"):
        asyncio.run(build())
    with pytest.raises(WhatsAppNotConfigured, match="WHATSAPP_APP_SECRET"):
        asyncio.run(build(whatsapp_phone_number_id="1", whatsapp_access_token="t",
                          whatsapp_verify_token="v"))
    with pytest.raises(ServeNotConfigured, match="TELEGRAM_WEBHOOK_SECRET"):
        asyncio.run(build(telegram_bot_token="123:ABC"))


# -- the command ---------------------------------------------------------------------------


async def test_asn_peduli_serve_answers_and_stops_cleanly_on_sigterm(
    graph: FakeGraph, settings: Settings, web_app: App, tmp_path: Path,
    children: list[asyncio.subprocess.Process],
) -> None:
    """The command as an operator runs it: it serves, replies, and on SIGTERM finishes and
    exits 0; its log holds no secret, no number and nothing the user typed."""
    serving = await start_serve(settings, graph, tmp_path)
    child, url, log = serving.child, serving.url, serving.log
    children.append(child)
    async with httpx.AsyncClient(timeout=2) as client:
        verified = await client.get(f"{url}/whatsapp/webhook", params={
            "hub.mode": "subscribe", "hub.verify_token": graph.verify_token,
            "hub.challenge": "42"})
        assert verified.text == "42"
    response = await graph.post(url, graph.text(WA_ID, "halo"))
    assert response.status_code == 200
    await graph.wait_for_messages(WA_ID, 2, within=20)
    await graph.post(url, graph.text(WA_ID, "x"), signature="sha256=00")  # refused
    child.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(child.wait(), 20) == 0
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "serving whatsapp" in output and "signature wrong" in output
    for secret in (graph.token, graph.app_secret, graph.verify_token, WA_ID, "halo",
                   settings.nik_hash_key.get_secret_value()):
        assert secret not in output, f"{secret!r} leaked into the log"


def test_serve_without_a_channel_says_what_to_set_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'asn.db'}")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", settings.data_encryption_keys.get_secret_value())
    monkeypatch.setenv("NIK_HASH_KEY", settings.nik_hash_key.get_secret_value())
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "106540352242922")  # and nothing more
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "Server web belum bisa berjalan" in result.output
    assert "WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN" in result.output
