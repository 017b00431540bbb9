"""Long polling on PTB's `Bot.get_updates` that confirms an update only once it is committed.

Long polling confirms an update to Telegram (by asking for the updates after it) only once
the dispatcher has committed it and every earlier update of its batch: a crash or a database
outage leaves it with Telegram, which delivers it again, and the dispatcher drops the copies
of those it had already committed. PTB's own Updater confirmed a batch as soon as it fetched
the next one, before processing had finished, so it is not used. What goes wrong and what
then happens:

- the database does not answer (`storage.outages.database_unavailable`): the user is told so
  once per 5 minutes (`Apologies`), nothing is confirmed from that update on, and the batch
  is fetched again after a growing wait (up to 30 s) until the database is back.
- getUpdates fails: 429 waits the retry_after Telegram asks for; timeouts, 5xx, connection
  resets and every other error wait a growing, jittered time (up to 30 s). The loop never
  stops on its own.
- SIGTERM: the batch in hand is finished and confirmed with one last getUpdates
  (offset past it, timeout 0); a long poll in progress is abandoned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Final

from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError

from bot.chat_order import in_chat_order
from bot.loops import Backoff
from bot.telegram.api import seconds
from bot.telegram.updates import ALLOWED_UPDATES
from bot.waits import first_of
from storage.outages import database_unavailable, error_summary

log = logging.getLogger("bot.telegram")

# Updates handled at the same time. Polling runs one chat's updates one after the other, so
# this bounds how many conversations move at once; keep it below the database pool.
CONCURRENT_UPDATES: Final = 16
# The waits between failed getUpdates calls, or fetching a batch again while the database is
# down: bot/loops.py's backoff from FIRST_RETRY doubling up to MAX_RETRY seconds, jittered.
FIRST_RETRY: Final = 0.5
MAX_RETRY: Final = 30.0
# An update whose processing failed for another reason than the database being down (a bug
# the dispatcher's apology could not catch) is tried this often, then left behind and logged:
# one poisoned update must not hold up everyone's after it.
MAX_UPDATE_ATTEMPTS: Final = 3


def _chat_of(update: Update) -> int:
    """What orders updates: one chat's go one after the other. An update without a chat
    (ignored kinds) stands alone."""
    chat = update.effective_chat
    return chat.id if chat is not None else -(2**62) - update.update_id


class Polling:
    """Long polling that confirms an update only after `handle` returned for it.

    `offset` is the next update to ask Telegram for; it moves past an update once it and
    every earlier update of its batch were handled. A batch's updates of different chats run
    concurrently (at most `concurrent` at once), one chat's in order; an update whose
    handling failed stops its chat's line, and the batch is fetched again from the first such
    update after a wait. `handle` raising an error that says the database is down is retried
    as long as that lasts; any other error at most MAX_UPDATE_ATTEMPTS times.
    """

    def __init__(self, bot: Bot, handle: Callable[[Update], Awaitable[object]],
                 timeout: float, concurrent: int = CONCURRENT_UPDATES,
                 max_retry: float = MAX_RETRY) -> None:
        self._bot = bot
        self._handle = handle
        self._timeout = timedelta(seconds=timeout)
        self._slots = asyncio.Semaphore(concurrent)
        self._fetch_backoff = Backoff(FIRST_RETRY, max_retry, jitter=True)
        self._outage_backoff = Backoff(FIRST_RETRY, max_retry, jitter=True)
        self._attempts: dict[int, int] = {}
        self.offset: int | None = None
        self._confirmed: int | None = None  # the offset Telegram last received

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; then confirm what was handled."""
        if await self._until_done(stop, self._delete_webhook):
            while not stop.is_set():
                updates = await self._fetch(stop)
                if updates and not await self._process(updates):
                    await first_of(stop, seconds=self._outage_backoff.next())
        await self._confirm()

    async def _delete_webhook(self) -> None:
        """getUpdates is refused while a webhook is set (`asn-peduli run --webhook`)."""
        await self._bot.delete_webhook()

    async def _until_done(self, stop: asyncio.Event,
                          call: Callable[[], Awaitable[None]]) -> bool:
        """Call until it succeeds (True) or `stop` is set (False), waiting between tries."""
        while not stop.is_set():
            try:
                await call()
            except Exception as error:
                await first_of(stop, seconds=self._retry_in(error))
            else:
                self._fetch_backoff.reset()
                return True
        return False

    async def _fetch(self, stop: asyncio.Event) -> Sequence[Update]:
        """One long poll, abandoned when `stop` is set; nothing when it failed."""
        fetch = asyncio.ensure_future(self._bot.get_updates(
            offset=self.offset, timeout=self._timeout, allowed_updates=list(ALLOWED_UPDATES)))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((fetch, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return ()
        error = fetch.exception()
        if error is not None:
            await first_of(stop, seconds=self._retry_in(error))
            return ()
        self._confirmed = self.offset
        self._fetch_backoff.reset()
        return fetch.result()

    def _retry_in(self, error: BaseException) -> float:
        """How long to wait after a failed Bot API call: what a 429 asks, else a backoff."""
        if isinstance(error, RetryAfter):
            wait = seconds(error.retry_after)
            log.warning("telegram: getUpdates throttled; retrying in %g s", wait)
            return wait
        delay = self._fetch_backoff.next()
        log.warning("telegram: calling the Bot API failed (%s); retrying in %.1f s",
                    type(error).__name__, delay)
        return delay

    async def _process(self, updates: Sequence[Update]) -> bool:
        """Handle a batch; move `offset` past what is done. False when some must come again."""
        ordered = sorted(updates, key=lambda update: update.update_id)
        outcomes = await in_chat_order(ordered, lambda update: {_chat_of(update)},
                                       self._outcome_of, self._slots)
        failed = [update.update_id for update, outcome in zip(ordered, outcomes, strict=True)
                  if outcome is not None]
        last = max(update.update_id for update in updates)
        self.offset = min(failed) if failed else last + 1
        if not failed:
            self._outage_backoff.reset()
        return not failed

    async def _outcome_of(self, update: Update) -> str | None:
        """None when the update is done with (handled, or given up on), else why it must be
        fetched again (bot/chat_order.py's outcome)."""
        return None if await self._handle_one(update) else "fetched again"

    async def _handle_one(self, update: Update) -> bool:
        """Whether the update is done with (handled, or given up on)."""
        try:
            await self._handle(update)
        except Exception as error:
            if database_unavailable(error):
                log.warning("telegram: the database does not answer (%s); update %s will be "
                            "fetched again", type(error).__name__, update.update_id)
                return False
            attempts = self._attempts.get(update.update_id, 0) + 1
            if attempts < MAX_UPDATE_ATTEMPTS:
                self._attempts[update.update_id] = attempts
                log.error("telegram: update %s failed (%s); it will be fetched again",
                          update.update_id, error_summary(error))
                return False
            log.error("telegram: update %s failed %d times (%s); left behind",
                      update.update_id, attempts, error_summary(error))
        self._attempts.pop(update.update_id, None)
        return True

    async def _confirm(self) -> None:
        """Tell Telegram the updates handled since the last fetch are done: one getUpdates
        with the next offset and no long poll. Failing, they come again on the next start
        and the dispatcher drops them as duplicates."""
        if self.offset is None or self.offset == self._confirmed:
            return
        try:
            await self._bot.get_updates(offset=self.offset, limit=1,
                                        timeout=timedelta(seconds=0),
                                        allowed_updates=list(ALLOWED_UPDATES))
            self._confirmed = self.offset
        except TelegramError as error:
            log.warning("telegram: confirming the last updates failed (%s); they will be "
                        "fetched again and dropped as duplicates", type(error).__name__)
