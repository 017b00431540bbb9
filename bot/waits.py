"""Waiting for the first of several things, for the background loops that must wake on new
work, on a stop, or after a while, whichever comes first (bot/loops.py's pauses, the
sender's idle wait, Telegram's long polling)."""

from __future__ import annotations

import asyncio


async def first_of(*events: asyncio.Event, seconds: float) -> None:
    """Until one of `events` is set, at most `seconds`."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
