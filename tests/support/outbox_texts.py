"""What users were sent, read back from the outbox and decrypted: the tests that queue
messages through the scheduler or an import assert on the words a person would read."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.app import App
from flows.events import OutgoingMessage
from storage.models import OutboxMessage


@dataclass(frozen=True)
class Sent:
    """One queued message: its chat, its kind, its text and the attachment it carries."""

    chat_id: str
    kind: str
    text: str
    image: int | None


async def outbox(app: App) -> list[Sent]:
    """Every queued message, oldest first."""
    async with app.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    found = []
    for row in rows:
        message = OutgoingMessage.from_json(app.cipher.decrypt_json(row.body_enc))
        found.append(Sent(row.chat_id, row.kind, message.text, message.image))
    return found


async def news(app: App, chat_id: str) -> list[str]:
    """The texts of the news (an enrolment's progress) queued for `chat_id`, oldest first."""
    return [sent.text for sent in await outbox(app)
            if sent.chat_id == chat_id and sent.kind == "news"]
