"""bot/chat_order.py: one chat's updates one after the other, and none after one that was
not handled; other chats beside them."""

from __future__ import annotations

import asyncio

from bot.chat_order import WAITING, in_chat_order


async def test_a_chat_goes_in_order_and_stops_at_a_failure_while_others_go_on():
    # (name, chats): "c" concerns chats 1 and 2, so it waits for both "a1" and "b1".
    items = [("a1", {1}), ("b1", {2}), ("a2", {1}), ("c", {1, 2}), ("b2", {2}), ("x", set())]
    handled: list[str] = []

    async def handle(item: tuple[str, set[int]]) -> str | None:
        name = item[0]
        await asyncio.sleep(0.02 if name == "a1" else 0)  # the first of chat 1 is slow
        handled.append(name)
        return "Broken" if name == "a2" else None

    outcomes = await in_chat_order(items, lambda item: item[1], handle, asyncio.Semaphore(2))
    assert outcomes == [None, None, "Broken", WAITING, WAITING, None]
    assert handled.index("a1") < handled.index("a2")  # in order, though a1 took longer
    assert handled.index("b1") < handled.index("a1")  # chat 2 did not wait for chat 1
    assert "c" not in handled and "b2" not in handled  # behind a2's failure (via c)


async def test_no_more_than_the_slots_run_at_once():
    running, most = 0, 0

    async def handle(item: int) -> str | None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return None

    assert await in_chat_order(list(range(10)), lambda n: {n}, handle,
                               asyncio.Semaphore(3)) == [None] * 10
    assert most == 3
