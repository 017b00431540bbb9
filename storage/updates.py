"""Platform updates already processed, so a redelivered update is handled once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


class SqlProcessedUpdates:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, channel: str, update_id: str) -> bool:
        found = await self._session.scalar(
            select(ProcessedUpdate.id).where(
                ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == update_id
            )
        )
        return found is not None

    def mark(self, channel: str, update_id: str, now: datetime) -> None:
        """Recorded in the update's own transaction: it commits with the state, or not at all."""
        self._session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))
