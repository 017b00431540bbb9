"""`asn-peduli worker`: the outbox sender and the app's other background loops, receiving
nothing.

A worker sends on every configured channel (Telegram when TELEGRAM_BOT_TOKEN is set, WhatsApp
when WHATSAPP_PHONE_NUMBER_ID is set) until SIGTERM or SIGINT, and then stops cleanly: the
sends in flight finish, what it claimed and did not send is given back, every outcome is
recorded. Killed instead (SIGKILL, a power cut), its claims run out after
SENDER_CLAIM_SECONDS and any sender takes the rows over. While the database does not answer
it waits and goes on when it is back (the sender starts its loop again, bot/sender.py).

On PostgreSQL run as many workers as the load needs (claims keep them off each other's rows;
each paces itself, so divide the platform's limits between them). On SQLite run one sender
only: `asn-peduli run` and `asn-peduli serve` have one inside, so a worker is for when
updates come in elsewhere (or not at all, e.g. a broadcast-only installation).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.app import App, on_stop_signals
from bot.dispatcher import numeric_id
from bot.logs import hold_libraries_at_their_floors
from bot.settings import NotConfigured
from bot.telegram.api import telegram_configured
from bot.telegram.channel import TelegramBot
from bot.whatsapp.api import whatsapp_configured
from bot.whatsapp.transport import WhatsAppTransport

log = logging.getLogger(__name__)


async def _open_channels(app: App, closers: list[Callable[[], Awaitable[None]]]) -> list[str]:
    """Register a sending transport per configured channel; the channels' names."""
    channels: list[str] = []
    if telegram_configured(app.settings):
        bot = TelegramBot(app)  # its Bot only: nothing polls, no command menu is set
        closers.append(bot.stop)
        await bot.initialize()
        channels.append("telegram")
    if whatsapp_configured(app.settings):
        whatsapp = WhatsAppTransport(app.settings, app.renderer, clock=app.clock)
        closers.append(whatsapp.close)
        app.add_transport(whatsapp, bot_id=numeric_id(whatsapp.phone_number_id))
        channels.append("whatsapp")
    return channels


async def run_worker(app: App) -> None:
    """Send until SIGTERM/SIGINT. Raises NotConfigured when no channel is configured (the
    CLI names what is missing and exits with code 2)."""
    hold_libraries_at_their_floors()  # the token is in Bot API URLs httpx logs
    closers: list[Callable[[], Awaitable[None]]] = []
    try:
        channels = await _open_channels(app, closers)
        if not channels:
            raise NotConfigured([], "no_channel")
        stop = asyncio.Event()
        with on_stop_signals(stop.set):
            log.info("worker: sending on %s", ", ".join(channels))
            await app.run_background(stop)
        log.info("worker: stopped")
    finally:
        for close in reversed(closers):
            await close()
