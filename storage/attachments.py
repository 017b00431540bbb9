"""Files sent with a message (the monthly chart), stored once and named by id in outbox
bodies, so a chart pushed to forty group chats is one row, not forty copies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attachment


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    id: int
    content_type: str
    filename: str
    data: bytes


async def store_attachment(session: AsyncSession, content_type: str, filename: str,
                           data: bytes, now: datetime) -> int:
    """Add the file in the caller's transaction and return its id (for Reply.image)."""
    attachment = Attachment(content_type=content_type, filename=filename, data=data,
                            created_at=now)
    session.add(attachment)
    await session.flush()
    return attachment.id


async def load_attachment(session: AsyncSession, attachment_id: int) -> StoredAttachment | None:
    row = (await session.execute(
        select(Attachment.id, Attachment.content_type, Attachment.filename, Attachment.data)
        .where(Attachment.id == attachment_id)
    )).first()
    return StoredAttachment(*row) if row else None
