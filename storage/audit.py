"""The audit log: who did what, when; callers pass masked values only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog


class SqlAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        action: str,
        *,
        actor_asn_id: int | None,
        channel: str | None,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
        now: datetime,
    ) -> None:
        self._session.add(
            AuditLog(
                at=now,
                actor_asn_id=actor_asn_id,
                channel=channel,
                action=action,
                subject=subject,
                details=details or {},
            )
        )
