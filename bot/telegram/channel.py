"""`TelegramBot`, the Telegram channel running in this process, and `asn-peduli run
--webhook`'s `set_telegram_webhook`.

`TelegramBot` holds PTB's `Bot` (bot/telegram/api.py), the transport and long polling
(bot/telegram/polling.py); bot/service.py runs them with the outbox sender beside. Each
polled or pushed update goes through `process`, which calls the dispatcher. When the database
does not answer, the user is told so once per 5 minutes (`Apologies`) and the update stays
unconfirmed, to come again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import TelegramError

from bot.app import App
from bot.logs import hold_libraries_at_their_floors
from bot.telegram.api import (
    READ_TIMEOUT,
    TelegramNotConfigured,
    bot_id_from_token,
    bot_token,
    build_bot,
    secret,
)
from bot.telegram.polling import CONCURRENT_UPDATES, MAX_RETRY, Polling
from bot.telegram.transport import TelegramTransport
from bot.telegram.updates import ALLOWED_UPDATES
from bot.unavailable import Apologies
from storage.outages import database_unavailable

log = logging.getLogger("bot.telegram")

# The commands shown in Telegram's "/" menu, described by labels `command_<name>`.
MENU_COMMANDS: Final = ("mulai", "kembali", "bantuan", "batal")


class TelegramBot:
    """The Telegram channel running in this process: PTB's Bot, transport, polling, sender.

    The commands run it through bot/service.py (`open_telegram`, then `poll` as a part).
    `start()`, for the tests that run the channel in-process, registers the transport,
    starts long polling unless told otherwise and the outbox sender beside it; `stop()`
    undoes all of it in order. `apologies` tells users when the database is down (polling here, the
    webhook's inbox in bot/web.py).
    """

    def __init__(self, app: App, concurrent_updates: int = CONCURRENT_UPDATES,
                 poll_timeout: float = 10, sender_poll_seconds: float = 1.0,
                 read_timeout: float = READ_TIMEOUT, max_retry: float = MAX_RETRY) -> None:
        self.app = app
        self.bot_id = bot_id_from_token(bot_token(app.settings))
        self.bot = build_bot(app.settings, read_timeout)
        self.transport = TelegramTransport(self.bot)
        self.apologies = Apologies(app.renderer, now=app.clock)
        self._polling = Polling(self.bot, self._handle_polled, poll_timeout,
                                concurrent_updates, max_retry)
        self._sender_poll_seconds = sender_poll_seconds
        self._sender_stop = asyncio.Event()
        self._sender_task: asyncio.Task[None] | None = None
        self._polling_stop = asyncio.Event()
        self._polling_task: asyncio.Task[None] | None = None
        self._initialized = False

    async def initialize(self) -> None:
        """Ask Telegram who we are (getMe) and register the transport with the app."""
        if self._initialized:
            return
        await self.bot.initialize()
        self._initialized = True
        self.transport.username = self.bot.username
        self.app.add_transport(self.transport, bot_id=self.bot_id)

    async def start(self, polling: bool = True) -> None:
        """Start the sender and, unless `polling` is False (webhook mode), long polling."""
        await self.initialize()
        await self.publish_commands()
        self._sender_stop.clear()
        self._sender_task = asyncio.create_task(
            self.app.sender.run(self._sender_stop, poll_seconds=self._sender_poll_seconds),
            name="telegram-background-work",
        )
        if polling:
            self._polling_stop.clear()
            self._polling_task = asyncio.create_task(self.poll(self._polling_stop),
                                                     name="telegram-polling")
            log.info("telegram: polling for updates as bot %s", self.bot_id)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling until `stop` is set, then the last confirmation: the receiver
        bot/service.py `run_polling` runs as one of its parts."""
        await self._polling.run(stop)

    async def stop(self) -> None:
        """Stop fetching, finish and confirm the updates in hand, stop the sender, close.

        A crash instead (SIGKILL) leaves the unconfirmed updates with Telegram to be fetched
        again, and the dispatcher drops those it already processed.
        """
        # Each step runs even when an earlier one raised (the exit stack raises it at the
        # end): a connection left open would leak into whatever runs next in the process.
        async with contextlib.AsyncExitStack() as steps:  # runs last pushed first
            if self._initialized:
                steps.push_async_callback(self._shutdown)
            if self._sender_task is not None:
                steps.push_async_callback(self._finish, self._sender_task, self._sender_stop)
                self._sender_task = None
            if self._polling_task is not None:
                steps.push_async_callback(self._finish, self._polling_task, self._polling_stop)
                self._polling_task = None

    @staticmethod
    async def _finish(task: asyncio.Task[None], stop: asyncio.Event) -> None:
        stop.set()
        await task

    async def _shutdown(self) -> None:
        self._initialized = False
        await self.bot.shutdown()

    async def process(self, update: Update) -> bool:
        """One update, polled or pushed by webhook: translate, dispatch, acknowledge.

        The dispatcher runs before the callback query is answered, and raises when the
        database does not answer: the query then stays unanswered and the update
        unconfirmed, to come again. False when nothing was done (an ignored kind of update,
        or a duplicate).
        """
        incoming = self.transport.to_incoming(update)
        handled = False
        if incoming is not None:
            handled = await self.app.dispatcher.handle(incoming)
        await self.transport.acknowledge(update)
        return handled

    async def _handle_polled(self, update: Update) -> None:
        """`process`, telling the user when the database is down (Polling fetches the update
        again). The update itself is not logged: it carries personal data."""
        try:
            await self.process(update)
        except Exception as error:
            if database_unavailable(error):
                incoming = self.transport.to_incoming(update)
                if incoming is not None:
                    await self.apologies.tell(self.transport, incoming.chat_id)
            raise

    async def set_webhook(self) -> str:
        """Point Telegram at TELEGRAM_WEBHOOK_URL with the secret token; the URL's host.

        The secret is required: without it anyone who learns the URL could post a forged
        update, e.g. a contact card "of their own" that proves someone else's phone.
        """
        settings = self.app.settings
        if not settings.telegram_webhook_url:
            raise TelegramNotConfigured(["TELEGRAM_WEBHOOK_URL"])
        token = secret(settings.telegram_webhook_secret)
        if token is None:
            raise TelegramNotConfigured(["TELEGRAM_WEBHOOK_SECRET"])
        await self.initialize()
        await self.bot.set_webhook(
            url=settings.telegram_webhook_url,
            secret_token=token,
            allowed_updates=list(ALLOWED_UPDATES),
        )
        return urlsplit(settings.telegram_webhook_url).netloc

    async def publish_commands(self) -> None:
        """Fill Telegram's "/" menu from the labels `command_<name>`."""
        commands = [(name, self.app.renderer.label(f"command_{name}")) for name in MENU_COMMANDS]
        try:
            await self.bot.set_my_commands(commands)
        except TelegramError as error:
            log.warning("telegram: setting the command menu failed: %s", type(error).__name__)


async def set_telegram_webhook(app: App) -> None:
    """`asn-peduli run --webhook`: point Telegram at TELEGRAM_WEBHOOK_URL and end.

    Receiving the pushed updates (and calling `process_webhook_update`) is the web server's
    job (`asn-peduli serve`), not this command's; long polling is bot/service.py
    `run_polling`.
    """
    # httpx logs request URLs (a Bot API URL holds the token), PTB call bodies at DEBUG.
    hold_libraries_at_their_floors()
    bot = TelegramBot(app)
    try:
        host = await bot.set_webhook()
    finally:
        await bot.stop()
    log.info(
        "telegram: webhook set to %s; updates now go to the web server "
        "(`asn-peduli serve`), which receives them and sends replies. Polling is off until "
        "`asn-peduli run` is started without --webhook.", host,
    )
