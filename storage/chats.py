"""The chats the bot talks in, and where an ASN can be reached.

A row per (channel, chat id) records the last message the user sent (WhatsApp allows free
text only within 24 hours of it), whether the recipient blocked the bot or is not on the
platform (the sender then stops sending to them), and for a group the unit it is linked to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import dialect_insert
from storage.interfaces import Address
from storage.models import ChannelIdentity, Chat


class SqlChats:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def mark_unreachable(
        self, channel: str, chat_id: str, reason: str, now: datetime
    ) -> None:
        """The platform said the recipient cannot be reached (blocked the bot, no account).
        A chat never seen before is recorded as a private one."""
        changes = {"unreachable_at": now, "unreachable_reason": reason[:200]}
        await self._session.execute(
            dialect_insert(self._session, Chat)
            .values(channel=channel, chat_id=chat_id, chat_type="private", **changes)
            .on_conflict_do_update(index_elements=["channel", "chat_id"], set_=changes)
        )

    async def is_unreachable(self, channel: str, chat_id: str) -> bool:
        found = await self._session.scalar(
            select(Chat.unreachable_at).where(Chat.channel == channel, Chat.chat_id == chat_id)
        )
        return found is not None

    async def address_of_asn(self, asn_id: int) -> Address | None:
        """The chat an ASN was last linked on (one message per ASN, not one per channel)."""
        row = (
            await self._session.execute(
                select(ChannelIdentity.channel, ChannelIdentity.chat_id)
                .where(ChannelIdentity.asn_id == asn_id)
                .order_by(ChannelIdentity.linked_at.desc(), ChannelIdentity.id.desc())
                .limit(1)
            )
        ).first()
        return Address(row[0], row[1]) if row else None
