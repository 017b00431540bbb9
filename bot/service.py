"""The running service's composition root: what `asn-peduli run`, `serve` and `worker` start,
in one order, and how they stop.

Each command opens the channels it needs and names what receives updates; `Service` does the
rest the same way for all three:

- open: each channel's transport is registered with the app (Telegram asks getMe first and,
  for a process that receives, publishes the "/" command menu), so the sender can deliver
  on it; a channel opened is closed again however the process ends, the last opened first.
- run: the parts, each a loop that returns once its stop is set, start in the order they
  were added: the outbox sender first, the scheduler, then what receives updates (Telegram's
  long polling; or the web server's inbox worker, then its HTTP server).
- stop (SIGINT/SIGTERM, or a given event; a part that ends by itself, e.g. a port that
  cannot be bound, stops the rest too): the parts stop one by one, the last started first,
  so nothing new comes in while what came is finished and its replies are sent.

The commands:

- `run`: Telegram by long polling (`run_polling`).
- `serve`: the web server's webhooks, for every configured channel (bot/web.py `serve`).
- `worker` (`run_worker`): the sender alone, on every configured channel (Telegram when
  TELEGRAM_BOT_TOKEN is set, WhatsApp when WHATSAPP_PHONE_NUMBER_ID is set), receiving
  nothing. Stopped, the sends in flight finish, what it claimed and did not send is given
  back, every outcome is recorded; killed instead (SIGKILL, a power cut), its claims run
  out after SENDER_CLAIM_SECONDS and any sender takes the rows over. On PostgreSQL run as
  many workers as the load needs (claims keep them off each other's rows; each paces itself,
  so divide the platform's limits between them). On SQLite run one sender only: `run` and
  `serve` have one inside, so a worker is for when updates come in elsewhere (or not at
  all, e.g. a broadcast-only installation).

The command line runs the scheduler in each of them (`schedule=True`: on PostgreSQL several
may run at once, the reminder log lets each message out once); a process started in-process
by a test leaves it out unless it asks. Nothing here is built at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from bot.app import App, on_stop_signals
from bot.dispatcher import numeric_id
from bot.logs import hold_libraries_at_their_floors
from bot.scheduler import Scheduler
from bot.settings import NotConfigured
from bot.telegram.api import telegram_configured
from bot.telegram.channel import TelegramBot
from bot.whatsapp.api import whatsapp_configured
from bot.whatsapp.transport import WhatsAppTransport

log = logging.getLogger(__name__)

# A part of a process: runs until the event is set, then returns.
Part = Callable[[asyncio.Event], Awaitable[None]]


class Service:
    """One serving process: its app, the channels it opened, the parts it runs.

    Used as `async with Service(app, ...) as service:`, open the channels, add the
    receivers, `await service.run()`; leaving the block closes the channels."""

    def __init__(self, app: App, *, schedule: bool = False) -> None:
        self.app = app
        self.channels: list[str] = []
        self._parts: list[tuple[str, Part]] = [("sender", app.sender.run)]
        if schedule:
            self._parts.append(("scheduler", Scheduler(app).run))
        self._closers = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Service:
        hold_libraries_at_their_floors()  # the token is in Bot API URLs httpx logs
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self._closers.aclose()

    # -- channels ----------------------------------------------------------------------------

    async def open_telegram(self, bot: TelegramBot, *, menu: bool) -> None:
        """getMe, and the transport registered with the app; with `menu`, the "/" menu
        published (a process that receives updates; a worker only sends)."""
        self._closers.push_async_callback(bot.stop)
        await bot.initialize()
        if menu:
            await bot.publish_commands()
        self.channels.append("telegram")

    def open_whatsapp(self, transport: WhatsAppTransport) -> None:
        self._closers.push_async_callback(transport.close)
        self.app.add_transport(transport, bot_id=numeric_id(transport.phone_number_id))
        self.channels.append("whatsapp")

    # -- parts -------------------------------------------------------------------------------

    def add(self, name: str, part: Part) -> None:
        """A part started after those added before it, and stopped before them."""
        self._parts.append((name, part))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Every part until `stop` is set (SIGINT/SIGTERM when none is given) or one of them
        ends by itself; then each is stopped, the last started first. A part's error is
        raised once all have stopped."""
        with contextlib.ExitStack() as signals:
            if stop is None:
                stop = asyncio.Event()
                signals.enter_context(on_stop_signals(stop.set))
            halts = [asyncio.Event() for _ in self._parts]
            tasks = [asyncio.create_task(part(halt), name=name)
                     for (name, part), halt in zip(self._parts, halts, strict=True)]
            stopped = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
                for halt, task in reversed(list(zip(halts, tasks, strict=True))):
                    halt.set()
                    await asyncio.wait([task])
        for task in tasks:
            task.result()


async def run_polling(app: App, *, schedule: bool = False) -> None:
    """`asn-peduli run`: Telegram by long polling, until SIGINT/SIGTERM."""
    bot = TelegramBot(app)
    # The channel's lines under the channel's logger, where operators look for them.
    channel_log = logging.getLogger("bot.telegram")
    async with Service(app, schedule=schedule) as service:
        await service.open_telegram(bot, menu=True)
        service.add("telegram-polling", bot.poll)
        channel_log.info("telegram: polling for updates as bot %s", bot.bot_id)
        await service.run()
        channel_log.info("telegram: stopping")


async def run_worker(app: App, *, schedule: bool = False) -> None:
    """`asn-peduli worker`: send on every configured channel until SIGTERM/SIGINT. Raises
    NotConfigured when no channel is configured (the CLI names what is missing and exits
    with code 2)."""
    async with Service(app, schedule=schedule) as service:
        if telegram_configured(app.settings):
            await service.open_telegram(TelegramBot(app), menu=False)
        if whatsapp_configured(app.settings):
            service.open_whatsapp(WhatsAppTransport(app.settings, app.renderer, clock=app.clock))
        if not service.channels:
            raise NotConfigured([], "no_channel")
        log.info("worker: sending on %s", ", ".join(service.channels))
        await service.run()
        log.info("worker: stopped")
