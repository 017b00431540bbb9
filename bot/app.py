"""The application every command shares: settings in; the database, cipher, renderer, flows,
dispatcher and outbox sender wired together out. Nothing is built at import.

A serving process (`run`, `serve`, `worker`) runs it with its channels through
bot/service.py; the office's commands (admin/) use it as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.dispatcher import Dispatcher
from bot.invitations import whatsapp_link
from bot.pacing import paces_from_settings
from bot.sender import OutboxSender
from bot.settings import Settings
from bot.transport import Transport
from flows.router import Router, build_router
from messages.renderer import Renderer
from storage.crypto import PersonalDataCipher
from storage.database import create_engine, session_factory, upgrade
from storage.key_checks import check_keys
from storage.update_transaction import UpdateTransactions, update_transactions


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cipher: PersonalDataCipher
    renderer: Renderer
    router: Router
    transports: dict[str, Transport] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # How the dispatcher runs one update's transaction (storage/update_transaction.py).
    updates: UpdateTransactions = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    sender: OutboxSender = field(init=False)

    def __post_init__(self) -> None:
        self.sender = OutboxSender(
            self.sessions,
            self.cipher,
            self.transports,
            batch_size=self.settings.sender_batch_size,
            max_attempts=self.settings.sender_max_attempts,
            claim_seconds=self.settings.sender_claim_seconds,
            paces=paces_from_settings(self.settings),
            clock=self.clock,
        )
        self.updates = update_transactions(self.settings.database_url, self.sessions,
                                           self.cipher)
        self.dispatcher = Dispatcher(
            self.updates,
            self.cipher,
            self.router,
            self.renderer,
            self.settings.flow_config(),
            bot_ids={"console": 0},
            on_outbox=self.sender.wake,
            clock=self.clock,
        )
        if self.settings.whatsapp_public_number:
            self.dispatcher.set_chat_link(
                "whatsapp", whatsapp_link(self.settings.whatsapp_public_number))

    def add_transport(self, transport: Transport, bot_id: int = 0) -> None:
        self.transports[transport.channel.value] = transport
        self.dispatcher.set_bot_id(transport.channel.value, bot_id)
        link = getattr(transport, "chat_link", None)  # Telegram's, after getMe
        if isinstance(link, str):
            self.dispatcher.set_chat_link(transport.channel.value, link)

    async def migrate(self) -> None:
        """The database at the latest migration, and the keys checked against the ones its
        data was written with (KeysChanged when they differ): every command does this
        first, so none runs on keys that cannot read or find what is stored."""
        await upgrade(self.engine)
        await check_keys(self.sessions, self.cipher)

    async def close(self) -> None:
        await self.updates.close()
        await self.engine.dispose()


@contextlib.contextmanager
def on_stop_signals(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` on SIGINT or SIGTERM while inside (where the event loop can handle
    signals: not on Windows, not outside the main thread)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, callback)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def create_app(
    settings: Settings, clock: Callable[[], datetime] | None = None
) -> App:
    engine = create_engine(settings.database_url)
    return App(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        cipher=PersonalDataCipher(settings.encryption_keys,
                                  settings.nik_hash_key.get_secret_value()),
        renderer=Renderer(),
        router=build_router(),
        **({"clock": clock} if clock else {}),
    )
