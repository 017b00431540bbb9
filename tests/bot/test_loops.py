"""bot/loops.py: the one loop every background task runs in, and the one backoff."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from bot.loops import Backoff, backoff, supervise

log = logging.getLogger("tests.loops")


def test_backoff_doubles_from_the_first_up_to_the_longest():
    assert [backoff(n, 1.0, 30.0) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff(10_000, 0.5, 600.0) == 600.0  # no overflow after a long outage


def test_jittered_backoff_stays_in_the_upper_half_of_its_step():
    waits = [backoff(3, 1.0, 30.0, jitter=True) for _ in range(200)]
    assert all(4.0 <= wait <= 8.0 for wait in waits) and len(set(waits)) > 1


def test_a_backoff_counts_failures_until_reset():
    pauses = Backoff(1.0, 4.0)
    assert [pauses.next() for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    pauses.reset()
    assert pauses.next() == 1.0


async def test_supervise_rides_out_errors_with_growing_pauses_and_logs_no_text(caplog):
    stop = asyncio.Event()
    failures = iter([sqlite3.OperationalError("unable to open database file"),
                     ValueError("NIK 3324010101900001 is wrong")])
    calls = 0

    async def work() -> bool:
        nonlocal calls
        calls += 1
        error = next(failures, None)
        if error is not None:
            raise error
        stop.set()
        return False

    with caplog.at_level(logging.WARNING, logger="tests.loops"):
        await asyncio.wait_for(supervise(work, stop, name="thing", log=log, idle=60,
                                         pauses=Backoff(0.01, 1.0)), 5)
    assert calls == 3
    outage, bug = caplog.records
    assert (outage.levelno, outage.getMessage()) == (
        logging.WARNING, "thing: the database does not answer (OperationalError); "
                         "trying again in 0.01 s")
    assert bug.levelno == logging.ERROR
    assert bug.getMessage().startswith("thing run failed: ValueError at ")
    assert bug.getMessage().endswith("; trying again in 0.02 s")
    assert "3324" not in caplog.text and bug.exc_info is None


async def test_supervise_goes_on_at_once_while_there_is_more_and_idles_otherwise():
    stop = asyncio.Event()
    answers = iter([True, True, False])
    calls = 0

    async def work() -> bool:
        nonlocal calls
        calls += 1
        return next(answers, False)

    task = asyncio.create_task(supervise(work, stop, name="thing", log=log, idle=60))
    await asyncio.sleep(0.1)
    assert calls == 3  # twice more at once, then idle for a minute
    stop.set()
    await asyncio.wait_for(task, 1)  # the idle wait ends with the stop


async def test_a_wake_cuts_the_pause_after_an_error_short():
    stop, wake = asyncio.Event(), asyncio.Event()
    calls = 0

    async def work() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            wake.set()  # set before the pause began: it says nothing about later
            raise ConnectionRefusedError(111, "Connection refused")
        stop.set()
        return False

    task = asyncio.create_task(supervise(work, stop, name="thing", log=log, idle=60,
                                         wake=wake, pauses=Backoff(60, 60)))
    await asyncio.sleep(0.1)
    assert calls == 1 and not task.done()  # the wake from before the pause was dropped
    wake.set()
    await asyncio.wait_for(task, 1)
    assert calls == 2


async def test_a_stretch_of_work_longer_than_the_longest_pause_starts_the_pauses_again(
        caplog):
    """A failure after a long good run is a new trouble: its pause is the first again."""
    stop = asyncio.Event()
    calls = 0

    async def work() -> bool:
        nonlocal calls
        calls += 1
        if calls == 3:
            stop.set()
        await asyncio.sleep(0.05)  # longer than the longest pause
        raise ValueError("again")

    with caplog.at_level(logging.ERROR, logger="tests.loops"):
        await asyncio.wait_for(supervise(work, stop, name="thing", log=log, idle=60,
                                         pauses=Backoff(0.001, 0.004)), 5)
    assert [r.getMessage().rsplit(" in ", 1)[1] for r in caplog.records] == ["0.001 s"] * 3
