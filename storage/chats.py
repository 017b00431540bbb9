"""The chats the bot talks in, and where an ASN can be reached.

A row per (channel, chat id) records the last message the user sent (WhatsApp allows free
text only within 24 hours of it), whether the recipient blocked the bot or is not on the
platform (the sender then stops sending to them), and for a group the unit it is linked to.
It is written in one way only: inserted when the chat is new, else some columns changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from flows.chat_types import ChatType
from storage.database import dialect_insert
from storage.interfaces import Address
from storage.models import ChannelIdentity, Chat
from storage.statements import Runner, Statement, runner


def _upsert(inserted: Mapping[str, Any], changed: Mapping[str, Any]) -> Statement:
    """The chat (channel, chat_id) with `inserted` if it is new, else with `changed`
    (inline: the row's id is not fetched back)."""

    def build(dialect: str) -> Executable:
        statement = dialect_insert(dialect, Chat).inline().values(
            channel=bindparam("channel"), chat_id=bindparam("chat_id"), **inserted)
        return statement.on_conflict_do_update(index_elements=["channel", "chat_id"],
                                               set_=dict(changed))

    return Statement(build)


# The user wrote: the 24-hour window opens again, and a chat that could not be reached can.
_INBOUND = _upsert(
    {"chat_type": bindparam("chat_type"), "last_inbound_at": bindparam("now")},
    {"last_inbound_at": bindparam("now"), "unreachable_at": null(),
     "unreachable_reason": null()})
_UNREACHABLE = {"unreachable_at": bindparam("now"), "unreachable_reason": bindparam("reason")}
_MARK_UNREACHABLE = _upsert({"chat_type": ChatType.PRIVATE.value, **_UNREACHABLE}, _UNREACHABLE)
_LINK = {"unit_id": bindparam("unit_id"), "linked_by_asn_id": bindparam("asn_id"),
         "linked_at": bindparam("now")}
_LINK_GROUP = _upsert({"chat_type": ChatType.GROUP.value, **_LINK},
                      {**_LINK, "chat_type": ChatType.GROUP.value})


class SqlChats:
    def __init__(self, db: AsyncSession | Runner) -> None:
        self._db = runner(db)

    async def inbound(self, channel: str, chat_id: str, chat_type: str, now: datetime
                      ) -> None:
        """The user sent a message now (every update records it)."""
        await self._db.run(_INBOUND, {"channel": channel, "chat_id": chat_id,
                                      "chat_type": chat_type, "now": now})

    async def mark_unreachable(
        self, channel: str, chat_id: str, reason: str, now: datetime
    ) -> None:
        """The platform said the recipient cannot be reached (blocked the bot, no account).
        A chat never seen before is recorded as a private one."""
        await self._db.run(_MARK_UNREACHABLE, {"channel": channel, "chat_id": chat_id,
                                               "reason": reason[:200], "now": now})

    async def link_group(self, channel: str, chat_id: str, unit_id: int, asn_id: int,
                         now: datetime) -> None:
        """A group chat linked to a unit by this ASN, replacing an earlier link."""
        await self._db.run(_LINK_GROUP, {"channel": channel, "chat_id": chat_id,
                                         "unit_id": unit_id, "asn_id": asn_id, "now": now})

    async def is_unreachable(self, channel: str, chat_id: str) -> bool:
        found = await self._db.session.scalar(
            select(Chat.unreachable_at).where(Chat.channel == channel, Chat.chat_id == chat_id)
        )
        return found is not None

    async def address_of_asn(self, asn_id: int) -> Address | None:
        """The chat an ASN was last linked on (one message per ASN, not one per channel)."""
        row = (
            await self._db.session.execute(
                select(ChannelIdentity.channel, ChannelIdentity.chat_id)
                .where(ChannelIdentity.asn_id == asn_id)
                .order_by(ChannelIdentity.linked_at.desc(), ChannelIdentity.id.desc())
                .limit(1)
            )
        ).first()
        return Address(row[0], row[1]) if row else None
