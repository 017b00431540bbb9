"""The inbox (webhook deliveries waiting for dispatch) and delivery reports, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.app import App
from storage.chats import SqlChats
from storage.delivery import DeliveryReport, SqlDelivery
from storage.inbox import SqlInbox
from storage.models import Chat, InboxUpdate, OutboxMessage

NOW = datetime(2025, 8, 21, 3, 0, tzinfo=UTC)
HOLD = timedelta(minutes=2)


async def test_the_inbox_keeps_claims_retries_and_forgets(app_any_db: App) -> None:
    app = app_any_db
    async with app.sessions.begin() as session:
        inbox = SqlInbox(session, app.cipher)
        inbox.add("whatsapp", {"text": "3324015708800001"}, NOW)
        inbox.add("telegram", {"update_id": 1}, NOW)
    async with app.sessions() as session:
        stored = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id))).all()
    assert "3324015708800001" not in stored[0].body_enc  # what the user typed is encrypted

    async with app.sessions.begin() as session:
        claimed = await SqlInbox(session, app.cipher).claim(NOW, 10, HOLD, max_attempts=3)
    assert [(item.channel, item.body) for item in claimed] == [
        ("whatsapp", {"text": "3324015708800001"}), ("telegram", {"update_id": 1})]
    async with app.sessions.begin() as session:  # held: another worker gets nothing
        assert await SqlInbox(session, app.cipher).claim(NOW, 10, HOLD, 3) == []

    first, second = claimed
    async with app.sessions.begin() as session:
        inbox = SqlInbox(session, app.cipher)
        await inbox.done([first.id])
        await inbox.retry(second.id, "OperationalError", timedelta(seconds=4), NOW)
    async with app.sessions.begin() as session:
        inbox = SqlInbox(session, app.cipher)
        assert await inbox.claim(NOW + timedelta(seconds=3), 10, HOLD, 3) == []
        [again] = await inbox.claim(NOW + timedelta(seconds=4), 10, HOLD, 3)
    assert (again.id, again.attempts) == (second.id, 1)

    # A row that failed every attempt stays for an operator, counted, never claimed again.
    for _ in range(2):
        async with app.sessions.begin() as session:
            await SqlInbox(session, app.cipher).retry(second.id, "Bug", timedelta(0), NOW)
    async with app.sessions.begin() as session:
        inbox = SqlInbox(session, app.cipher)
        assert await inbox.claim(NOW + timedelta(hours=1), 10, HOLD, 3) == []
        counts = await inbox.counts(max_attempts=3)
    assert (counts.waiting, counts.stuck) == (0, 1)
    async with app.sessions() as session:
        row = await session.get(InboxUpdate, second.id)
        assert row is not None and row.last_error == "Bug"


async def test_a_claim_runs_out_and_the_row_can_be_taken_again(app_any_db: App) -> None:
    """A process that died holding a row does not hold it forever."""
    app = app_any_db
    async with app.sessions.begin() as session:
        SqlInbox(session, app.cipher).add("whatsapp", {"n": 1}, NOW)
    async with app.sessions.begin() as session:
        [held] = await SqlInbox(session, app.cipher).claim(NOW, 10, HOLD, 3)
    async with app.sessions.begin() as session:
        [taken] = await SqlInbox(session, app.cipher).claim(NOW + HOLD + timedelta(seconds=1),
                                                            10, HOLD, 3)
    assert taken.id == held.id


def chat_of(channel: str, body: dict[str, Any]) -> set[str]:
    return {f"{channel}:{body['chat']}"}


async def claim(app: App, now: datetime, limit: int = 10) -> list[tuple[str, int]]:
    """One process's claim, committed: (chat, n) of each row taken."""
    async with app.sessions.begin() as session:
        items = await SqlInbox(session, app.cipher).claim(now, limit, HOLD, 3, chat_of)
    return [(item.body["chat"], item.body["n"]) for item in items]


async def test_a_chat_is_claimed_oldest_first_and_by_one_process_at_a_time(
    app_any_db: App
) -> None:
    """Two processes sharing the inbox: while one holds a chat's row (or that row waits for
    its retry), the other takes nothing of that chat, only other chats' rows."""
    app = app_any_db
    async with app.sessions.begin() as session:
        inbox = SqlInbox(session, app.cipher)
        for chat, n in (("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3), ("b", 2)):
            inbox.add("telegram", {"chat": chat, "n": n}, NOW)
    first = await claim(app, NOW, limit=2)
    assert first == [("a", 1), ("b", 1)]
    assert await claim(app, NOW) == [("c", 1)]  # a and b are held by the first process
    ids = await _inbox_ids(app)
    async with app.sessions.begin() as session:
        inbox = SqlInbox(session, app.cipher)
        await inbox.done([ids[("a", 1)]])
        await inbox.retry(ids[("b", 1)], "Bug", timedelta(seconds=4), NOW)
    # a's next rows come in order; b waits behind its first row's retry.
    assert await claim(app, NOW) == [("a", 2), ("a", 3)]
    async with app.sessions.begin() as session:
        await SqlInbox(session, app.cipher).release([ids[("a", 2)], ids[("a", 3)]])
    assert await claim(app, NOW + timedelta(seconds=4)) == [
        ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
    # A row given up on (every attempt failed) no longer holds its chat back; c's hold ran
    # out meanwhile (its process died), so c is taken again too.
    for _ in range(2):
        async with app.sessions.begin() as session:
            await SqlInbox(session, app.cipher).retry(ids[("b", 1)], "Bug", timedelta(0), NOW)
    later = NOW + HOLD + timedelta(seconds=5)
    assert await claim(app, later) == [("a", 2), ("c", 1), ("a", 3), ("b", 2)]


async def _inbox_ids(app: App) -> dict[tuple[str, int], int]:
    async with app.sessions() as session:
        rows = (await session.scalars(select(InboxUpdate))).all()
    bodies = {row.id: app.cipher.decrypt_json(row.body_enc) for row in rows}
    return {(body["chat"], body["n"]): row_id for row_id, body in bodies.items()}


async def _sent_row(app: App, chat_id: str, message_id: str) -> int:
    """An outbox row the platform accepted under `message_id` (written directly: sending is
    the sender's business, not this test's)."""
    async with app.sessions.begin() as session:
        row = OutboxMessage(channel="whatsapp", chat_id=chat_id,
                            body_enc=app.cipher.encrypt_json({"text": "x"}), status="sent",
                            kind="reply", attempts=1, next_attempt_at=NOW, created_at=NOW,
                            sent_at=NOW, platform_message_id=message_id)
        session.add(row)
        await session.flush()
        return row.id


def _report(status: str, at: datetime, message_id: str = "wamid.A", chat_id: str = "628",
            error: str | None = None, unreachable: bool = False) -> DeliveryReport:
    return DeliveryReport("whatsapp", message_id, chat_id, status, at, error, unreachable)


async def test_delivery_reports_keep_the_first_time_of_each_and_failures(
    app_any_db: App
) -> None:
    app = app_any_db
    row_id = await _sent_row(app, "628", "wamid.A")
    delivered, read = NOW + timedelta(seconds=2), NOW + timedelta(seconds=9)
    async with app.sessions.begin() as session:
        delivery = SqlDelivery(session)
        assert await delivery.apply(_report("read", read), NOW)  # came before "delivered"
        assert await delivery.apply(_report("delivered", delivered), NOW)
        assert await delivery.apply(_report("read", read + timedelta(hours=1)), NOW)  # again
        assert await delivery.apply(_report("sent", NOW + timedelta(seconds=1)), NOW)
        assert not await delivery.apply(_report("delivered", NOW, message_id="wamid.other"),
                                        NOW)
        assert not await delivery.apply(_report("deleted", NOW), NOW)
    async with app.sessions() as session:
        row = await session.get(OutboxMessage, row_id)
    assert row is not None and row.status == "sent" and row.sent_at == NOW
    assert (row.delivered_at, row.read_at) == (read, read)  # "read" implies delivered

    failed_id = await _sent_row(app, "629", "wamid.B")
    async with app.updates() as update:  # the user wrote, as the dispatcher records it
        await update.inbound("whatsapp", "629", "private", NOW)
    async with app.sessions.begin() as session:
        delivery = SqlDelivery(session)
        assert await delivery.apply(_report("failed", NOW, "wamid.B", "629",
                                            "whatsapp 131026: Message undeliverable", True), NOW)
    async with app.sessions() as session:
        failed = await session.get(OutboxMessage, failed_id)
        chat = (await session.scalars(select(Chat).where(Chat.chat_id == "629"))).one()
        assert await SqlChats(session).is_unreachable("whatsapp", "629")
    assert failed is not None and failed.status == "failed"
    assert failed.last_error == "whatsapp 131026: Message undeliverable"
    assert chat.unreachable_reason == "whatsapp 131026: Message undeliverable"


async def test_a_failure_that_may_pass_leaves_the_chat_reachable(app_any_db: App) -> None:
    app = app_any_db
    row_id = await _sent_row(app, "630", "wamid.C")
    async with app.sessions.begin() as session:
        assert await SqlDelivery(session).apply(
            _report("failed", NOW, "wamid.C", "630", "whatsapp 131049: Not delivered"), NOW)
    async with app.sessions() as session:
        row = await session.get(OutboxMessage, row_id)
        assert not await SqlChats(session).is_unreachable("whatsapp", "630")
    assert row is not None and row.status == "failed"
