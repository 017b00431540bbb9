"""The outbox sender over a recording transport: sent rows keep the platform id, transient
failures wait (retry_after or backoff), permanent ones stop, nothing is lost."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.transport import PermanentSendError, TransientSendError
from flows.events import Channel
from storage.models import OutboxMessage
from storage.outbox import SqlOutbox
from tests.conftest import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class RecordingTransport:
    """The network edge: records sends and fails as scripted."""

    channel = Channel.TELEGRAM

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: list[Exception] = []

    async def send(self, chat_id, body):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((chat_id, body["text"]))
        return f"m{len(self.sent)}"


@pytest.fixture
async def setup(sqlite_url):
    clock = Clock()
    app = create_app(make_settings(sqlite_url, sender_max_attempts=3), clock=clock)
    await app.migrate()
    transport = RecordingTransport()
    app.add_transport(transport)
    async with app.sessions.begin() as session:
        SqlOutbox(session, app.cipher).add("telegram", "555", {"text": "Halo"}, clock())
    yield app, transport, clock
    await app.close()


async def row(app) -> OutboxMessage:
    async with app.sessions() as session:
        return (await session.scalars(select(OutboxMessage))).one()


async def test_sent_row_records_platform_message_id(setup):
    app, transport, _ = setup
    await app.sender.drain()
    stored = await row(app)
    assert transport.sent == [("555", "Halo")]
    assert (stored.status, stored.platform_message_id, stored.attempts) == ("sent", "m1", 1)


async def test_retry_after_is_honoured(setup):
    app, transport, clock = setup
    transport.failures.append(TransientSendError("429", retry_after=30))
    await app.sender.drain()
    assert transport.sent == []
    clock.now += timedelta(seconds=29)
    await app.sender.drain()
    assert transport.sent == []
    clock.now += timedelta(seconds=1)
    await app.sender.drain()
    assert transport.sent == [("555", "Halo")]
    assert (await row(app)).status == "sent"


async def test_backoff_then_failed_after_max_attempts(setup):
    app, transport, clock = setup
    transport.failures.extend(TransientSendError("timeout") for _ in range(3))
    for _ in range(3):
        await app.sender.drain()
        clock.now += timedelta(minutes=10)
    stored = await row(app)
    assert transport.sent == []
    assert (stored.status, stored.attempts, stored.last_error) == ("failed", 3, "timeout")


async def test_permanent_failure_is_not_retried(setup):
    app, transport, clock = setup
    transport.failures.append(PermanentSendError("Forbidden: bot was blocked by the user"))
    await app.sender.drain()
    clock.now += timedelta(hours=1)
    await app.sender.drain()
    stored = await row(app)
    assert transport.sent == []
    assert stored.status == "failed" and "blocked" in (stored.last_error or "")


async def test_body_is_encrypted_at_rest(setup):
    app, _, _ = setup
    assert "Halo" not in (await row(app)).body_enc
