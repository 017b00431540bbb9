"""What each channel does with a delivery its webhook received: which chats it concerns,
where the apology goes while the database is down, and how a stored delivery is handled.

The inbox worker (bot/inbox_worker.py) and the web server (bot/web.py) see a channel only
through `ChannelWebhook`; handling goes the way every update of the channel goes: Telegram's
through `TelegramBot.process` as a polled update does, WhatsApp's messages through the
dispatcher and its status reports into the delivery records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.app import App
from bot.telegram.channel import TelegramBot
from bot.telegram.webhook import process_webhook_update
from bot.transport import Transport
from bot.whatsapp.transport import WhatsAppTransport
from storage.delivery import SqlDelivery


class ChannelWebhook(Protocol):
    channel: str

    @property
    def transport(self) -> Transport:
        """What sends on this channel: the apology goes straight through it while the
        database is down."""
        ...

    def chats(self, body: Mapping[str, Any]) -> set[str]:
        """The chats a delivery concerns (their ids): deliveries sharing one are dispatched
        in order, and each hears the apology when the delivery cannot be kept."""
        ...

    async def handle(self, body: Mapping[str, Any]) -> None:
        """Dispatch one stored delivery; raises when it should be tried again."""
        ...


class TelegramWebhook:
    channel = "telegram"

    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot

    @property
    def transport(self) -> Transport:
        return self.bot.transport

    def chats(self, body: Mapping[str, Any]) -> set[str]:
        message = body.get("message") or (body.get("callback_query") or {}).get("message") or {}
        chat = (message.get("chat") or {}).get("id") if isinstance(message, dict) else None
        return {str(chat)} if chat is not None else set()

    async def handle(self, body: Mapping[str, Any]) -> None:
        await process_webhook_update(self.bot, dict(body))


class WhatsAppWebhook:
    channel = "whatsapp"

    def __init__(self, app: App, transport: WhatsAppTransport) -> None:
        self.app = app
        self.whatsapp = transport

    @property
    def transport(self) -> Transport:
        return self.whatsapp

    def chats(self, body: Mapping[str, Any]) -> set[str]:
        return {incoming.chat_id for incoming in self.whatsapp.read(body).messages}

    async def handle(self, body: Mapping[str, Any]) -> None:
        """Messages through the dispatcher, in order; then the status reports in one
        transaction. A message already processed (a retried row) is dropped there."""
        content = self.whatsapp.read(body)
        for incoming in content.messages:
            await self.app.dispatcher.handle(incoming)
        if content.statuses:
            now = self.app.clock()
            async with self.app.sessions.begin() as session:
                delivery = SqlDelivery(session)
                for report in content.statuses:
                    await delivery.apply(report, now)
