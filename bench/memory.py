"""Memory benchmark: the bot process's peak RSS with 1,000,000 ASN in the database.

Issue 5: at most 200 MB. The real `asn-peduli run` (long polling, the embedded SQLite
default) runs as a child process on the benchmark dataset (1,000,000 ASN, 300,000
enrolments), against the fake Bot API of tests/support/fake_telegram.py on loopback. Demo ASN 1..U
identify (/start, NIP, their own contact) and open the menu again; the demo ASN, made
coordinator of Dinas Kesehatan, opens its OPD's progress a few times (and the main menu
again after each). Each step waits for its own answer, since the scheduler may speak in
between. The scheduler runs every few seconds and the sender delivers throughout; then the
process is stopped with SIGTERM.
The figure is the kernel's high-water mark of its resident memory (VmHWM), read just before
the stop; ru_maxrss of the reaped child is shown beside it.

    .venv/bin/python -m bench.memory [--asn 1000000] [--enrolments 300000] [--users 200]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal
import tempfile
import time
from pathlib import Path

from admin.demo_data import DEMO_ASN, DemoPerson, demo_people
from bench.dataset import Dataset, dataset
from bench.results import Recorder, add_common_arguments
from storage.database import create_engine, session_factory
from storage.roles import SqlRoleRepository
from tests.support.fake_telegram import FakeTelegram
from tests.support.processes import cli_env, kill, start_cli
from tests.support.scripted_user import ScriptedUser, asks_for_contact, offers, says

NAME = "memory"
TARGET_MB = 200.0
CONCURRENCY = 20
ANSWER_SECONDS = 60.0  # a reply can wait behind the per-chat pace of 1 message a second
SCHEDULER_SECONDS = 5
COORDINATOR_VIEWS = 5
USER_ID_BASE = 7_000_000


def _kib(pid: int, field: str) -> int | None:
    """A `VmHWM`/`VmRSS` line of /proc/<pid>/status, in KiB (None off Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def _make_coordinator(built: Dataset) -> None:
    """The demo ASN coordinates Dinas Kesehatan (its own OPD), as `asn-peduli role` would."""
    engine = create_engine(built.url)
    try:
        async with session_factory(engine).begin() as session:
            roles = SqlRoleRepository(session)
            found = await roles.asn_by_nip(DEMO_ASN.nip)
            match = await roles.find_unit(DEMO_ASN.unit, "opd")
            if found is None or match.unit is None:
                raise RuntimeError("the dataset lacks the demo ASN or its OPD")
            await roles.grant(found[0], "coordinator", match.unit.id, built.built_at)
    finally:
        await engine.dispose()


async def _identify(user: ScriptedUser, person: DemoPerson) -> None:
    await user.send("/start", says("NIP"))
    await user.send(person.nip, asks_for_contact)
    await user.contact(person.phone.removeprefix("+"), says("Menu utama"))


async def _drive(fake: FakeTelegram, people: list[DemoPerson]) -> int:
    """Every person identifies and opens the menu again; the first (the demo ASN) then
    looks at its OPD's progress as coordinator. The number of updates pushed."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int, person: DemoPerson) -> int:
        async with gate:
            # A reminder or report may come between a press and its answer: each step waits
            # for its own answer.
            user = ScriptedUser(fake, USER_ID_BASE + index, ANSWER_SECONDS)
            await _identify(user, person)
            await user.send("/mulai", says("Menu utama"))
            if index:
                return 4
            for _ in range(COORDINATOR_VIEWS):
                await user.press("Koordinator", offers("📊 Progres OPD"))
                await user.press("📊 Progres OPD", says("Progres "))
                await user.press("🏠 Menu utama", offers("Koordinator"))
            return 4 + 3 * COORDINATOR_VIEWS

    return sum(await asyncio.gather(*(one(index, person)
                                      for index, person in enumerate(people))))


async def measure(recorder: Recorder, asn: int, enrolments: int, users: int, settle: float
                  ) -> None:
    async with dataset("sqlite", asn, enrolments) as built, FakeTelegram() as fake:
        await _make_coordinator(built)
        people = demo_people(users)
        settings = built.settings()
        env = cli_env(settings, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
                      SCHEDULER_INTERVAL_SECONDS=str(SCHEDULER_SECONDS))
        with tempfile.TemporaryDirectory(prefix="asn-bench-memory-") as folder:
            log = Path(folder) / "bot.log"
            started = time.perf_counter()
            child = await start_cli("run", env, Path(folder), log,
                                    lambda _: fake.wait_for_call("getUpdates", 1, within=60))
            try:
                ready = time.perf_counter() - started
                at_start = _kib(child.pid, "VmRSS")
                updates = await _drive(fake, people)
                await asyncio.sleep(settle)  # the scheduler's rounds and the last sends
                peak = _kib(child.pid, "VmHWM")
                child.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(child.wait(), 30)
            finally:
                kill(child)
                await child.wait()
            if code != 0:
                raise RuntimeError(f"the bot exited with {code}: {log.read_text()[-2000:]}")
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        recorder.inputs("sqlite, asn-peduli run", asn=asn, enrolments=enrolments, users=users,
                        updates=updates, messages_sent=len(fake.sent),
                        scheduler_every_s=SCHEDULER_SECONDS, settle_s=settle,
                        start_s=round(ready, 1))
        if at_start is not None:
            recorder.add("sqlite, asn-peduli run", "RSS after start", at_start / 1024, "MB")
        recorder.add("sqlite, asn-peduli run", "peak RSS (ru_maxrss)", reaped / 1024, "MB")
        recorder.add("sqlite, asn-peduli run", "peak RSS (VmHWM)",
                     (peak if peak is not None else reaped) / 1024, "MB", TARGET_MB)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asn", type=int, default=1_000_000)
    parser.add_argument("--enrolments", type=int, default=300_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--settle", type=float, default=15.0,
                        help="seconds the bot runs on after the last answer")
    add_common_arguments(parser)
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.asn, arguments.enrolments, arguments.users, arguments.settle = (
            2_000, 600, 5, 2.0)
    recorder = Recorder(NAME, arguments.json)
    asyncio.run(measure(recorder, arguments.asn, arguments.enrolments, arguments.users,
                        arguments.settle))


if __name__ == "__main__":
    main()
