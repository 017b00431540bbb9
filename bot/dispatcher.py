"""The dispatcher: one update in, one transaction out.

It drops an update already processed, serialises the updates of one conversation (a lock per
key in this process, an advisory lock on PostgreSQL across processes: bot/locks.py), loads
the conversation, lets the router and flows decide, and commits the new state, the domain
changes, the rendered replies (outbox rows) and the update's id together. A failure rolls
all of it back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.invitations import QrInvitations
from bot.locks import KeyedLocks
from flows.conversation import Context, Conversation, FlowConfig
from flows.events import Incoming, Reply
from flows.router import Router
from flows.time_zone import JAKARTA
from messages.renderer import PLAIN, Renderer
from storage.audit import SqlAuditRepository
from storage.broadcasts import SqlBroadcastRepository
from storage.conversations import ConversationKey
from storage.crypto import PersonalDataCipher
from storage.enrollments import SqlEnrollmentRepository
from storage.interfaces import Address
from storage.outages import database_unavailable, error_summary
from storage.roles import SqlRoleRepository
from storage.update_transaction import UpdateTransaction, UpdateTransactions
from storage.verifications import SqlProgressRepository, SqlVerificationRepository

log = logging.getLogger(__name__)

# At most this many updates in their transactions at once (storage.database.POOL_SIZE
# leaves room beside them for the sender, the scheduler and the web server's inbox).
MAX_CONCURRENT = 16


def numeric_id(value: str) -> int:
    """Chat and user ids as integers (aiogram's StorageKey wants ints); ids that are not
    numbers map to a stable 63-bit hash."""
    if value.lstrip("-").isdigit() and abs(int(value)) < 2**63:
        return int(value)
    return int.from_bytes(hashlib.sha256(value.encode()).digest()[:8], "big") >> 1


class Dispatcher:
    def __init__(
        self,
        transactions: UpdateTransactions,
        cipher: PersonalDataCipher,
        router: Router,
        renderer: Renderer,
        config: FlowConfig,
        bot_ids: dict[str, int],
        on_outbox: Callable[[], None] = lambda: None,
        max_concurrent: int = MAX_CONCURRENT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._transactions = transactions
        self._cipher = cipher
        self._router = router
        self._renderer = renderer
        self._config = config
        self._bot_ids = dict(bot_ids)
        self._chat_links: dict[str, str] = {}
        self._on_outbox = on_outbox
        self._clock = clock
        self._locks = KeyedLocks()
        # Updates in their transaction at once: fewer than the pool's connections, taken in
        # arrival order (asyncio's semaphore is fair). Without it a user in the middle of a
        # conversation took the connection another had just given back, again and again,
        # and a newcomer's first message waited seconds for one.
        self._slots = asyncio.Semaphore(max_concurrent)

    def set_bot_id(self, channel: str, bot_id: int) -> None:
        """The bot's own id per channel: the first field of aiogram's StorageKey."""
        self._bot_ids[channel] = bot_id

    def set_chat_link(self, channel: str, link: str) -> None:
        """The bot's public chat link on `channel`, for a camat's invitations."""
        self._chat_links[channel] = link

    def key_for(self, incoming: Incoming) -> ConversationKey:
        return ConversationKey(
            bot_id=self._bot_ids.get(incoming.channel.value, 0),
            chat_id=numeric_id(incoming.chat_id),
            user_id=numeric_id(incoming.user_id),
        )

    async def handle(self, incoming: Incoming) -> bool:
        """Process one update; False when it was a duplicate. Raises when the database does
        not answer (or even the apology could not be stored): the update is then not done."""
        key = self.key_for(incoming)
        async with self._locks.hold(key), self._slots:
            try:
                handled = await self._process(incoming, key)
            except Exception as error:
                if database_unavailable(error):
                    # Not done: the platform (or the inbox) gives it again once the
                    # database answers; apologising now would mark it done and lose it.
                    raise
                # The class and place only: a driver's message may quote a row's values.
                log.error("update failed (%s); replying with an apology (%s)",
                          error_summary(error), incoming.channel)
                handled = await self._apologise(incoming)
        if handled:
            self._on_outbox()
        return handled

    async def _process(self, incoming: Incoming, key: ConversationKey) -> bool:
        now = self._clock()
        async with self._transactions() as update:
            # The conversation first: on PostgreSQL its lock opens the transaction.
            state, data = await update.load(key)
            if incoming.update_id and not await update.claim(incoming.channel.value,
                                                             incoming.update_id, now):
                return False
            conversation = Conversation(state=state, data=data)
            session = update.session
            context = Context(
                incoming=incoming,
                now=now,
                today=now.astimezone(JAKARTA).date(),
                roster=update.roster,
                enrollments=SqlEnrollmentRepository(session, self._cipher),
                audit=SqlAuditRepository(session),
                roles=SqlRoleRepository(session),
                verifications=SqlVerificationRepository(session, self._cipher),
                progress=SqlProgressRepository(session),
                broadcasts=SqlBroadcastRepository(session, self._cipher),
                invitations=QrInvitations(session, self._chat_links),
                config=self._config,
                wording=self._wording,
                render=self._render,
                label=self._renderer.label,
            )
            await self._router.handle(conversation, context)
            await update.save(key, conversation.state, conversation.data, now)
            await self._queue(update, incoming, conversation.replies, now)
            await update.inbound(incoming.channel.value, incoming.chat_id,
                                 incoming.chat_type.value, now)
        return True

    async def _apologise(self, incoming: Incoming) -> bool:
        """State unchanged, update marked done so a poisoned update is not retried forever."""
        now = self._clock()
        async with self._transactions() as update:
            if incoming.update_id:
                await update.claim(incoming.channel.value, incoming.update_id, now)
            await self._queue(update, incoming, [Reply("errors/internal")], now)
            await update.inbound(incoming.channel.value, incoming.chat_id,
                                 incoming.chat_type.value, now)
        return True

    async def _queue(self, update: UpdateTransaction, incoming: Incoming,
                     replies: list[Reply], now: datetime) -> None:
        own = Address(incoming.channel.value, incoming.chat_id)
        for reply in replies:
            address = Address((reply.channel or incoming.channel).value,
                              reply.chat_id or incoming.chat_id)
            # A message to someone else (a coordinator told of a submission) is news the bot
            # starts, not an answer: on WhatsApp it may need a template.
            kind = "reply" if address == own else "news"
            body = self._renderer.render(reply, address.channel).as_json()
            await update.queue(address.channel, address.chat_id, body, kind, now)

    def _wording(self, template: str, context: Any) -> str:
        return self._renderer.text(template, dict(context), PLAIN)

    def _render(self, reply: Reply, channel: str) -> dict[str, Any]:
        return self._renderer.render(reply, channel).as_json()

