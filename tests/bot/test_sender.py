"""The outbox sender over a recording transport: sent rows keep the platform id, transient
failures wait (retry_after or backoff), permanent ones stop, nothing is lost; the transport
gets kind, last_inbound_at and the attachment; unreachable recipients get nothing more until
they write; cancelled rows never go; answers go before broadcasts; a stop gives back claims."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from bot.app import create_app
from bot.transport import PermanentSendError, RecipientUnreachable, TransientSendError
from flows import events
from flows.events import Channel, OutgoingMessage
from storage.chats import SqlChats
from storage.crypto import PersonalDataCipher, generate_key
from storage.models import Attachment, OutboxMessage
from storage.outbox import SqlOutbox
from tests.conftest import make_settings
from tests.support.loopback import wait_until
from tests.support.sending import Clock, FakeClock, add_messages


class RecordingTransport:
    """The network edge: records sends and fails as scripted."""

    channel = Channel.TELEGRAM

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: list[Exception] = []

    async def send(self, chat_id, message):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((chat_id, message.text))
        return f"m{len(self.sent)}"


@pytest.fixture
async def setup(sqlite_url):
    clock = Clock()
    app = create_app(make_settings(sqlite_url, sender_max_attempts=3), clock=clock)
    await app.migrate()
    transport = RecordingTransport()
    app.add_transport(transport)
    await add_messages(app, "telegram", [("555", "Halo")])
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


# -- what the transport gets, unreachable recipients, cancelled rows, urgency, stopping --------


class BodyTransport:
    """Keeps every message it was given; some chats cannot be reached, some fail for a while."""

    channel = Channel.TELEGRAM

    def __init__(self) -> None:
        self.bodies: list[tuple[str, OutgoingMessage]] = []
        self.unreachable: set[str] = set()
        self.failing: dict[str, int] = {}

    async def send(self, chat_id, message):
        if chat_id in self.unreachable:
            raise RecipientUnreachable("forbidden: Forbidden: bot was blocked by the user")
        if self.failing.get(chat_id):
            self.failing[chat_id] -= 1
            raise TransientSendError("network: TimedOut")
        self.bodies.append((chat_id, message))
        return f"m{len(self.bodies)}"

    def texts(self, chat_id=None):
        return [message.text for chat, message in self.bodies if chat_id in (None, chat)]


@pytest.fixture
async def fake_app(sqlite_url):
    clock = FakeClock()
    app = create_app(make_settings(sqlite_url), clock=clock)
    await app.migrate()
    transport = BodyTransport()
    app.add_transport(transport)
    yield app, transport, clock
    await app.close()


async def add(app, chat_id, text, kind="reply", **body):
    await add_messages(app, "telegram", [(chat_id, text)], kind, **body)


async def statuses(app) -> list[tuple[str, str, str]]:
    async with app.sessions() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(row.chat_id, row.status, row.platform_message_id or "") for row in rows]


async def test_the_transport_gets_kind_last_message_time_and_the_chart(fake_app):
    app, transport, clock = fake_app
    wrote_at = clock.now - timedelta(hours=3)
    async with app.updates() as update:  # the group wrote, as the dispatcher records it
        await update.inbound("telegram", "-100777", "group", wrote_at)
    async with app.sessions.begin() as session:
        chart = Attachment(content_type="image/png", filename="progres-2026-10.png",
                           data=b"\x89PNG chart", created_at=clock.now)
        session.add(chart)
        await session.flush()
        chart_id = chart.id
    for n in range(5):
        await add(app, f"-100{n}", "Laporan bulanan", kind="report", image=chart_id)
    await add(app, "-100777", "Laporan bulanan", kind="report", image=chart_id)
    await add(app, "555", "Halo")
    reads = count_statements(app, "FROM attachments")

    await app.sender.drain(wait=True)

    by_chat = dict(transport.bodies)
    assert by_chat["-100777"].kind == "report"
    assert by_chat["-100777"].last_inbound_at == wrote_at
    assert by_chat["-100777"].attachment == events.Attachment(
        filename="progres-2026-10.png", content_type="image/png", data=b"\x89PNG chart")
    assert by_chat["-1000"].last_inbound_at is None  # never wrote
    assert (by_chat["555"].kind, by_chat["555"].attachment is not None) == ("reply", False)
    assert len(reads) == 1  # six messages with the chart, one read
    assert {status for _, status, _ in await statuses(app)} == {"sent"}


async def test_an_unreachable_recipient_gets_nothing_more_until_they_write_again(fake_app):
    app, transport, clock = fake_app
    transport.unreachable.add("555")
    for text in ("satu", "dua", "tiga"):
        await add(app, "555", text)
    await add(app, "777", "untuk yang lain")

    await app.sender.drain(wait=True)

    assert transport.texts() == ["untuk yang lain"]
    assert [status for chat, status, _ in await statuses(app) if chat == "555"] == [
        "unreachable"] * 3
    async with app.sessions() as session:
        assert await SqlChats(session).is_unreachable("telegram", "555")
        first = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).first()
        assert first is not None and first.last_error == (
            "forbidden: Forbidden: bot was blocked by the user")
    # News queued later is not even tried: the chat is known to be unreachable.
    transport.unreachable.clear()
    await add(app, "555", "kabar", kind="news")
    await app.sender.drain(wait=True)
    assert transport.texts("555") == []
    assert (await statuses(app))[-1][:2] == ("555", "unreachable")
    # The user writes again (the dispatcher records it): messages flow again.
    async with app.updates() as update:
        await update.inbound("telegram", "555", "private", clock.now)
    await add(app, "555", "selamat datang kembali")
    await app.sender.drain(wait=True)
    assert transport.texts("555") == ["selamat datang kembali"]


async def test_cancelled_rows_are_never_sent(fake_app):
    app, transport, _ = fake_app
    for n in range(3):
        await add(app, str(1000 + n), "Siaran", kind="broadcast")
    async with app.sessions.begin() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.chat_id != "1001")
                              .values(status="cancelled"))
    await app.sender.drain(wait=True)
    assert [chat for chat, _ in transport.bodies] == ["1001"]
    assert [status for _, status, _ in await statuses(app)] == ["cancelled", "sent", "cancelled"]


async def test_a_chat_keeps_its_order_through_a_failure_and_its_retry(fake_app):
    app, transport, clock = fake_app
    transport.failing["555"] = 2
    for text in ("satu", "dua", "tiga"):
        await add(app, "555", text)
    await add(app, "777", "lain")
    started = clock.now

    await app.sender.drain(wait=True)

    assert transport.texts("555") == ["satu", "dua", "tiga"]
    assert transport.texts()[0] == "lain"  # the other chat did not wait
    async with app.sessions() as session:
        first = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).first()
    assert first is not None and (first.attempts, first.last_error) == (3, "network: TimedOut")
    # Waited 1 s, then 2 s (backoff), then one second per further message of the chat.
    assert clock.now - started == timedelta(seconds=5)


async def test_an_answer_goes_before_a_waiting_broadcast(fake_app):
    app, transport, _ = fake_app
    for n in range(300):
        await add(app, str(10_000 + n), "Siaran", kind="broadcast")
    await add(app, "555", "Jawaban untuk Anda")
    await app.sender.drain(wait=True)
    assert transport.texts().index("Jawaban untuk Anda") == 0
    assert len(transport.bodies) == 301


async def test_a_429_does_not_count_towards_giving_up(fake_app):
    app, transport, _ = fake_app
    throttled = [TransientSendError("429", retry_after=5) for _ in range(12)]

    async def send(chat_id, message):
        if throttled:
            raise throttled.pop()
        return "m1"

    transport.send = send
    await add(app, "555", "Halo")
    await app.sender.drain(wait=True)
    async with app.sessions() as session:
        stored = (await session.scalars(select(OutboxMessage))).one()
    assert (stored.status, stored.attempts) == ("sent", 13)  # max_attempts is 8


async def test_stopping_gives_back_what_was_claimed_and_not_sent(sqlite_url):
    app = create_app(make_settings(sqlite_url, telegram_rate_overall=1.0))
    await app.migrate()
    transport = BodyTransport()
    app.add_transport(transport)
    for n in range(20):
        await add(app, str(1000 + n), "Siaran", kind="broadcast")
    stop = asyncio.Event()
    send = transport.send

    async def send_then_stop(chat_id, message):
        stop.set()  # asked to stop while the first message is on its way
        return await send(chat_id, message)

    transport.send = send_then_stop
    running = asyncio.create_task(app.sender.run(stop, poll_seconds=0.05))
    await asyncio.wait_for(running, 5)
    try:
        async with app.sessions() as session:
            rows = (await session.scalars(select(OutboxMessage))).all()
        sent = [row for row in rows if row.status == "sent"]
        assert len(sent) == len(transport.bodies) < 20  # one a second: stopped long before
        assert all(row.platform_message_id for row in sent)
        assert all(row.claimed_until is None for row in rows)  # the rest is free at once
    finally:
        await app.close()


def count_statements(app, fragment: str) -> list[str]:
    """Every SQL statement containing `fragment` run from now on (a list that fills)."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if fragment in statement:
            seen.append(statement)

    event.listen(app.engine.sync_engine, "before_cursor_execute", note)
    return seen


async def test_a_body_no_key_can_read_fails_alone_and_blocks_nothing(fake_app):
    app, transport, _ = fake_app
    stranger = PersonalDataCipher([generate_key()], generate_key())
    async with app.sessions.begin() as session:
        await SqlOutbox(session, stranger).add("telegram", "555", {"text": "lama"}, app.clock())
    await add(app, "555", "baru")
    await add(app, "777", "lain")
    await app.sender.drain(wait=True)
    assert sorted(transport.texts()) == ["baru", "lain"]
    assert [status for _, status, _ in await statuses(app)] == ["failed", "sent", "sent"]


async def test_a_body_that_is_not_a_message_fails_alone_and_blocks_nothing(fake_app):
    """Decoded once, when claimed: a body of another shape never reaches a transport."""
    app, transport, _ = fake_app
    async with app.sessions.begin() as session:
        await SqlOutbox(session, app.cipher).add("telegram", "555", {"buttons": []},
                                                 app.clock())
    await add(app, "555", "baru")
    await app.sender.drain(wait=True)
    assert transport.texts() == ["baru"]
    assert [status for _, status, _ in await statuses(app)] == ["failed", "sent"]


async def test_an_unknown_kind_is_refused_when_queued(fake_app):
    app, _, _ = fake_app
    async with app.sessions.begin() as session:
        with pytest.raises(ValueError, match="unknown outbox kind"):
            await SqlOutbox(session, app.cipher).add("telegram", "555", {"text": "x"},
                                                     app.clock(),
                                               kind="promo")
    assert await statuses(app) == []


async def test_the_sender_rides_out_the_database_going_away_and_sends_what_came_meanwhile(
    tmp_path, caplog
):
    """The SQLite file's folder moved away while `run` goes on (no connection can open it):
    the loop ends on the error, waits, starts again, and once the folder is back the rows
    queued before and after are all sent, once each; `run` itself never ended."""
    folder = tmp_path / "db"
    folder.mkdir()
    app = create_app(make_settings(f"sqlite+aiosqlite:///{folder / 'asn.db'}"))
    await app.migrate()
    transport = RecordingTransport()
    app.add_transport(transport)
    stop = asyncio.Event()
    running = asyncio.create_task(app.sender.run(stop, poll_seconds=0.05))
    try:
        await add_messages(app, "telegram", [("555", "Sebelum")])
        await wait_until(lambda: transport.sent == [("555", "Sebelum")], 5, "the first send")
        folder.rename(tmp_path / "away")
        await app.engine.dispose()  # connections already open would still see the moved file
        await wait_until(lambda: any("does not answer" in r.getMessage()
                                     for r in caplog.records), 5, "the sender meeting it")
        assert not running.done()
        (tmp_path / "away").rename(folder)
        await add_messages(app, "telegram", [("555", "Sesudah"), ("777", "Juga")])
        await wait_until(lambda: len(transport.sent) == 3, 10, "the sends after the outage")
        assert sorted(transport.sent) == [("555", "Sebelum"), ("555", "Sesudah"),
                                          ("777", "Juga")]
        assert not running.done()
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)  # ends when told, without an error
        await app.close()
    async with app.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert [row.status for row in rows] == ["sent"] * 3
    assert not any(record.exc_info for record in caplog.records)  # a warning, no traceback
