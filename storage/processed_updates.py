"""The platform updates already handled: a redelivery of one is dropped.

Telegram and WhatsApp deliver an update again when they do not hear back in time, and the
web server's inbox hands an update over again after a crash; the claim commits with the
update's own changes, so an update is done exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from storage.database import dialect_insert
from storage.models import ProcessedUpdate
from storage.statements import Runner, Statement, runner


def _claim(dialect: str) -> Executable:
    return (dialect_insert(dialect, ProcessedUpdate)
            .values(channel=bindparam("channel"), update_id=bindparam("update_id"),
                    processed_at=bindparam("now"))
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
            .returning(ProcessedUpdate.id))


_CLAIM = Statement(_claim)


class SqlProcessedUpdates:
    def __init__(self, db: AsyncSession | Runner) -> None:
        self._db = runner(db)

    async def claim(self, channel: str, update_id: str, now: datetime) -> bool:
        """Record the update as handled in this transaction; False when it already was."""
        row = await self._db.row(_CLAIM, {"channel": channel, "update_id": update_id,
                                          "now": now})
        return row is not None
