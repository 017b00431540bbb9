"""A `Reply` rendered for the recipient's channel and queued as an outbox row in the caller's
transaction: the dispatcher's answers, and the messages the bot starts (news of an enrolment,
reminders, reports)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flows.events import Reply
from messages.renderer import Renderer
from storage.chats import SqlChats
from storage.crypto import PersonalDataCipher
from storage.interfaces import Address
from storage.outbox import SqlOutbox


class Notifier:
    def __init__(self, renderer: Renderer, cipher: PersonalDataCipher) -> None:
        self._renderer = renderer
        self._cipher = cipher

    async def queue(
        self,
        session: AsyncSession,
        address: Address,
        reply: Reply,
        kind: str,
        now: datetime,
        broadcast_id: int | None = None,
    ) -> None:
        rendered = self._renderer.render(reply, address.channel)
        await SqlOutbox(session, self._cipher).add(
            address.channel, address.chat_id, rendered.as_json(), now,
            kind=kind, broadcast_id=broadcast_id,
        )

    async def queue_to_asn(
        self, session: AsyncSession, asn_id: int, reply: Reply, kind: str, now: datetime
    ) -> bool:
        """False when the ASN has never linked a chat: there is no one to tell."""
        address = await SqlChats(session).address_of_asn(asn_id)
        if address is None:
            return False
        await self.queue(session, address, reply, kind, now)
        return True
