"""Handling a batch of updates in each chat's order, different chats side by side.

Updates reach a receiver in batches (a claim of the web server's stored deliveries, a
getUpdates answer of Telegram's long polling). Within a batch one chat's updates are handled
one after the other, in the order they came, and none after one that was not handled: it
comes again, and the later ones of its chat with it, so a chat never sees its answers out of
order. Other chats' updates go on beside them, at most `slots` at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from typing import Final, TypeVar

# The outcome of an update not handled because an earlier one of its chat was not.
WAITING: Final = "WaitingForEarlierDelivery"

Item = TypeVar("Item")
Outcome = str | None  # None: handled; else what went wrong (safe to log and store)


async def in_chat_order(items: Sequence[Item], chats: Callable[[Item], Collection[Hashable]],
                        handle: Callable[[Item], Awaitable[Outcome]],
                        slots: asyncio.Semaphore) -> list[Outcome]:
    """Each item's outcome, in the items' order: what `handle` returned, or WAITING for an
    item after one of its chats' earlier items did not succeed. An item waits for the
    earlier items of every chat it concerns (an item of no chat waits for none), and holds
    one of `slots` only while `handle` runs. `handle` must not raise."""
    previous: dict[Hashable, asyncio.Task[Outcome]] = {}
    tasks: list[asyncio.Task[Outcome]] = []
    for item in items:
        keys = chats(item)
        after = {previous[key] for key in keys if key in previous}
        task = asyncio.create_task(_after(after, item, handle, slots))
        for key in keys:
            previous[key] = task
        tasks.append(task)
    return list(await asyncio.gather(*tasks))


async def _after(after: set[asyncio.Task[Outcome]], item: Item,
                 handle: Callable[[Item], Awaitable[Outcome]],
                 slots: asyncio.Semaphore) -> Outcome:
    if after:
        await asyncio.wait(after)
        if any(task.result() is not None for task in after):
            return WAITING
    async with slots:
        return await handle(item)
