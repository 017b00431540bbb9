"""bot/service.py: the parts of a serving process start in order and stop in reverse, and
a part that fails stops the others before its error is raised."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from bot.service import Part, Service
from tests.support.loopback import wait_until


def recorded(name: str, seen: list[str], fail: bool = False) -> Part:
    """A part that notes when it starts and when it is told to stop."""

    async def part(stop: asyncio.Event) -> None:
        seen.append(f"start {name}")
        if fail:
            raise RuntimeError(f"{name} could not start")
        await stop.wait()
        seen.append(f"stop {name}")

    return part


async def test_parts_start_in_order_and_stop_last_first(app: App):
    seen: list[str] = []
    stop = asyncio.Event()
    async with Service(app) as service:
        for name in ("inbox", "http"):
            service.add(name, recorded(name, seen))
        running = asyncio.create_task(service.run(stop))
        await wait_until(lambda: len(seen) == 2, 5, "both parts started")
        stop.set()
        await asyncio.wait_for(running, 5)
    assert seen == ["start inbox", "start http", "stop http", "stop inbox"]


async def test_a_part_that_fails_stops_the_others_and_its_error_is_raised(app: App):
    seen: list[str] = []
    async with Service(app) as service:
        service.add("inbox", recorded("inbox", seen))
        service.add("http", recorded("http", seen, fail=True))
        with pytest.raises(RuntimeError, match="http could not start"):
            await asyncio.wait_for(service.run(asyncio.Event()), 5)
    assert seen == ["start inbox", "start http", "stop inbox"]
