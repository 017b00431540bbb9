"""When the database does not answer: tell the user once in a while.

While the database is down an update cannot be processed, and it must not be confirmed either
(Telegram's offset, the webhook's 2xx): the platform then delivers it again and it is
processed once the database is back. The user meanwhile hears that the service is briefly
disturbed. That apology cannot go through the outbox (the outbox lives in the database that
is down), so `Apologies` sends it straight through the channel's transport, and at most once
per chat per few minutes however often the update comes back. Recognising the outage is
storage's part (storage/outages.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from bot.transport import Transport
from flows.events import Reply
from messages.renderer import Renderer

log = logging.getLogger(__name__)

TEMPLATE: Final = "errors/unavailable"


class Apologies:
    """Tells a user the service is briefly unavailable straight through the transport (the
    outbox lives in the database that is down), at most once per (channel, chat) per `every`.

    A redelivered update asks again and again while the outage lasts; the user hears it once
    per `every`. A send that fails does not count, so the next redelivery tries again.
    """

    def __init__(self, renderer: Renderer, every: timedelta = timedelta(minutes=5),
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """`clock` spaces the apologies out; `now` is the app's clock, the one a WhatsApp
        transport compares the user's last message with (its 24-hour window)."""
        self._renderer = renderer
        self._every = every.total_seconds()
        self._clock = clock
        self._now = now
        self._told: dict[tuple[str, str], float] = {}

    async def tell(self, transport: Transport, chat_id: str) -> None:
        """Send the apology unless this chat heard it within `every`; never raises (the
        caller is already handling an outage and must go on to not confirming the update)."""
        channel = transport.channel.value
        key = (channel, chat_id)
        now = self._clock()
        last = self._told.get(key)
        if last is not None and now - last < self._every:
            return
        self._forget_older_than(now)
        # Taken before the send: two updates of one chat failing together apologise once.
        self._told[key] = now
        try:
            # Sent straight away in answer to the update in hand: the user has just written
            # (on WhatsApp the 24-hour window is open).
            message = replace(self._renderer.render(Reply(TEMPLATE), channel),
                              last_inbound_at=self._now())
            await transport.send(chat_id, message)
        except Exception as error:
            self._told.pop(key, None)
            log.warning("telling a %s user the service is unavailable failed: %s",
                        channel, type(error).__name__)

    def _forget_older_than(self, now: float) -> None:
        """Keep the map to the chats told within `every` (an outage can touch many)."""
        stale = [key for key, at in self._told.items() if now - at >= self._every]
        for key in stale:
            del self._told[key]
