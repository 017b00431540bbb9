"""A lock per conversation key, so two quick messages from one user never race; and the
list of every lock that keeps updates apart, one sentence each.

`KeyedLocks` is like aiogram's SimpleEventIsolation: one process, locks created on demand
and dropped when no one holds or waits for them. The five locks, and what each is for:

- `KeyedLocks` (here, in the dispatcher): one conversation's updates run one after another,
  in the order they came, in this process.
- the dispatcher's semaphore (`bot.dispatcher.MAX_CONCURRENT`): at most 16 updates hold a
  database connection at once, fewer than the pool has, taken in arrival order.
- the conversation's advisory lock on PostgreSQL (`SqlConversationRepository.load`):
  processes sharing a database never run updates of one conversation at once.
- `storage.update_transaction.SqliteTransactions._turn`: one update at a time uses the
  dispatcher's one SQLite connection, from its BEGIN until its session is closed.
- `storage.sqlite_inline._WRITERS`: the connections of this process that write to one
  SQLite file (the dispatcher's, the sender's, the scheduler's) take turns in order, since
  SQLite has one writer at a time.

(The inbox's claim takes an advisory lock too, for its own rows: storage.inbox.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
