"""The dispatcher: one transaction per update, duplicates dropped, order kept per user,
failures answered with an apology and nothing half-saved."""

import asyncio
import logging

from sqlalchemy import func, select

from bot.console import make
from flows.events import Kind
from storage.conversations import SqlConversationRepository
from storage.models import AuditLog, OutboxMessage, ProcessedUpdate
from tests.conftest import BUDI
from tests.support.chat import ChatClient, texts


async def count(app, model) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_a_redelivered_update_is_processed_once(chat):
    update = make(chat.user_id, Kind.COMMAND, text="/mulai", update_id="77")
    first = await chat.deliver(update)
    again = await chat.deliver(update)
    assert first and again == []
    assert await count(chat.app, ProcessedUpdate) == 1
    assert await count(chat.app, OutboxMessage) == len(first)


async def test_updates_of_one_user_sent_at_once_are_handled_in_order(chat):
    await chat.send("/mulai")
    updates = [make(chat.user_id, Kind.TEXT, text=text, update_id=str(i))
               for i, text in enumerate(["bukan nip", BUDI.nip], start=1)]
    await asyncio.gather(*(chat.app.dispatcher.handle(update) for update in updates))
    await chat.app.sender.drain()
    assert await chat.state() == ("Identify:phone", {"nip": BUDI.nip})
    assert "NIP belum sesuai" in chat.history[-2].text
    assert "Bagikan nomor HP saya" in chat.last.text


async def test_a_failing_step_gets_an_apology_and_changes_nothing(budi, caplog):
    """Corrupted conversation data makes the step fail; the user hears an apology, the
    stored state and data stay as they were, and the log names no personal data."""
    key = budi.app.dispatcher.key_for(make(budi.user_id, Kind.TEXT))
    async with budi.app.sessions.begin() as session:
        await SqlConversationRepository(session, budi.app.cipher).save(
            key, "Deduction:confirm", {"enrollment_id": "rusak", "nik": "3324015708800001"},
            budi.app.clock(),
        )
    audit_before = await count(budi.app, AuditLog)
    with caplog.at_level(logging.ERROR):
        shown = await budi.send("Saya setuju")
    assert "terjadi gangguan" in texts(shown)
    assert await budi.state() == (
        "Deduction:confirm", {"enrollment_id": "rusak", "nik": "3324015708800001"})
    assert await count(budi.app, AuditLog) == audit_before
    assert "update failed" in caplog.text
    assert "3324015708800001" not in caplog.text


async def test_two_users_do_not_share_a_conversation(seeded):
    budi, other = ChatClient(seeded, "1001"), ChatClient(seeded, "2002")
    await budi.send("/mulai")
    await budi.send(BUDI.nip)
    await other.send("/mulai")
    assert (await budi.state())[0] == "Identify:phone"
    assert (await other.state())[0] == "Identify:nip"
