"""How every background loop of the service runs: until stopped, riding out failures.

The outbox sender, the inbox worker and the scheduler each do a piece of work, wait, and do
it again until the process stops; the database may go away under any of them. `supervise`
is that loop, written once: an error never ends it (a process whose sender stopped would go
on taking updates and never answer), it is logged without personal data (an outage as
such; anything else by its class and line, never its text), and the work is tried again
after a pause that grows while the errors go on. `backoff` is the one formula for every
growing wait: the loops' pauses, and the delays before a failed outbox row or inbox
delivery is tried again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from bot.waits import first_of
from storage.outages import database_unavailable, error_summary

# A loop's pause after a failure: the first, and the longest (it doubles while the errors
# go on; a stretch of work longer than the longest counts as new trouble, from the first).
RESTART_FIRST = 1.0
RESTART_LONGEST = 30.0


def backoff(failures: int, first: float, longest: float, *, jitter: bool = False) -> float:
    """Seconds to wait after `failures` failures in a row: `first`, doubling, at most
    `longest`. With `jitter`, drawn from the upper half of that step, so that many clients
    failing together do not all try again at the same moment."""
    step = min(longest, first * 2 ** min(failures, 64))
    return step * random.uniform(0.5, 1.0) if jitter else step


class Backoff:
    """`backoff` for a loop that counts its own failures: `next` the wait after one more,
    `reset` once something worked."""

    def __init__(self, first: float = RESTART_FIRST, longest: float = RESTART_LONGEST, *,
                 jitter: bool = False) -> None:
        self._first = first
        self.longest = longest
        self._jitter = jitter
        self._failures = 0

    def next(self) -> float:
        seconds = backoff(self._failures, self._first, self.longest, jitter=self._jitter)
        self._failures += 1
        return seconds

    def reset(self) -> None:
        self._failures = 0


async def supervise(
    work: Callable[[], Awaitable[bool | None]],
    stop: asyncio.Event,
    *,
    name: str,
    log: logging.Logger,
    idle: float,
    wake: asyncio.Event | None = None,
    pauses: Backoff | None = None,
) -> None:
    """Call `work` until `stop` is set; return once it is.

    `work` returns True when there may be more to do at once (it is called again straight
    away), else the loop waits `idle` seconds. An error is logged under `name` on the
    caller's `log`, and `work` is called again after the next of `pauses` (by default 1 s
    doubling to 30 s; a failure after work that ran longer than the longest pause starts
    from the first again). `wake` cuts either wait short: set after the wait began, it says
    there is new work, and that the database answered whoever set it."""
    pauses = pauses or Backoff()
    while not stop.is_set():
        started = time.monotonic()
        try:
            more = await work()
        except Exception as error:
            if time.monotonic() - started > pauses.longest:
                pauses.reset()  # it ran longer than its longest pause: a new trouble
            seconds = pauses.next()
            _log_failure(log, name, error, seconds)
        else:
            pauses.reset()
            if more:
                continue
            seconds = idle
        if wake is None:
            await first_of(stop, seconds=seconds)
        else:
            wake.clear()
            await first_of(stop, wake, seconds=seconds)


def _log_failure(log: logging.Logger, name: str, error: Exception, pause: float) -> None:
    """An outage is expected and ridden out: a warning. Anything else is a bug or a broken
    setup: an error, named by class and line only (its text may quote personal data)."""
    if database_unavailable(error):
        log.warning("%s: the database does not answer (%s); trying again in %g s",
                    name, type(error).__name__, pause)
    else:
        log.error("%s run failed: %s; trying again in %g s", name, error_summary(error), pause)
