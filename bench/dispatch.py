"""Dispatch benchmark: the whole enrolment conversation, Telegram update JSON in, state, domain
change and rendered replies (outbox rows) committed per update, for many ASN at once.

For each database (SQLite, PostgreSQL) and roster size (1,000 / 100,000 / 1,000,000 ASN):
`--users` ASN of the roster each go through the 15 updates of an enrolment (start, NIP,
contact, menu, nine enrolment steps, save, agree to the deduction), `--concurrency` of them
at a time, each sending their next update when the previous one is done (as a person does).
Each update goes the way a webhook delivery does: JSON → python-telegram-bot's Update → our
transport's Incoming → Dispatcher.handle (one transaction: duplicate check, state, flows,
outbox rows, chat record). No sender runs: this measures everything before the network. At
the end every user's enrolment must stand submitted with an agreed deduction, or the run
fails: a benchmark of a conversation that went astray would measure nothing.

Beside it, the same JSON updates through aiogram 3 (MemoryStorage, a handler per state that
keeps the answer and moves on, no replies): bench/aiogram_baseline.py.

    .venv/bin/python -m bench.dispatch                 # the issue's sizes, both databases
    .venv/bin/python -m bench.dispatch --quick         # small, seconds
    .venv/bin/python -m bench.dispatch --no-postgres --sizes 1000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from telegram import Bot, Update

from admin.demo_data import DemoPerson, demo_people
from bench import aiogram_baseline
from bench.dataset import dataset
from bench.results import Recorder, add_common_arguments, engines
from bot.app import App, create_app
from bot.telegram.transport import TelegramTransport
from flows.enrollment_status import EnrollmentStatus
from storage.models import DeductionAgreement, Enrollment

NAME = "dispatch"
TOKEN = "123456:BENCH"
WARM_UP = 20  # users enrolling before the clock starts
SEQUENTIAL = 40  # users enrolling one at a time after the loaded run
TARGET_RATE = 2_000.0  # updates/s on SQLite in one process
TARGET_P99_MS = 20.0
TARGET_RATIO = 1.2  # times aiogram's baseline
TARGET_SLOWDOWN = 10.0  # % slower at 1,000,000 ASN than at 1,000
FIRST_USER = 5_000_000_000


def worker_nik(index: int) -> tuple[str, str]:
    """A structurally valid, distinct NIK per user and the birth date it carries (a woman's
    day + 40), Kendal's region codes: 3324 + kecamatan 01-20."""
    serial = index % 9_999 + 1
    day = (index // 9_999) % 28 + 1
    month = (index // (9_999 * 28)) % 12 + 1
    kecamatan = (index // (9_999 * 28 * 12)) % 20 + 1
    nik = f"3324{kecamatan:02d}{day + 40:02d}{month:02d}85{serial:04d}"
    return nik, f"{day:02d}-{month:02d}-1985"


class Updates:
    """Telegram update JSON as the Bot API sends it, numbered like Telegram's."""

    def __init__(self) -> None:
        self._next = 1

    def _id(self) -> int:
        self._next += 1
        return self._next

    def _sender(self, user: int) -> dict[str, Any]:
        return {"id": user, "is_bot": False, "first_name": "ASN", "language_code": "id"}

    def message(self, user: int, text: str | None = None, contact: str | None = None
                ) -> dict[str, Any]:
        number = self._id()
        message: dict[str, Any] = {
            "message_id": number, "date": 1_763_700_000,
            "chat": {"id": user, "type": "private", "first_name": "ASN"},
            "from": self._sender(user),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(text.split()[0])}]
        if contact is not None:
            message["contact"] = {"phone_number": contact, "first_name": "ASN",
                                  "user_id": user}
        return {"update_id": number, "message": message}

    def button(self, user: int, data: str) -> dict[str, Any]:
        number = self._id()
        return {"update_id": number, "callback_query": {
            "id": str(number), "chat_instance": str(user), "data": data,
            "from": self._sender(user),
            "message": {"message_id": number - 1, "date": 1_763_700_000,
                        "chat": {"id": user, "type": "private", "first_name": "ASN"},
                        "from": {"id": 123456, "is_bot": True, "first_name": "ASN Peduli"},
                        "text": "…"},
        }}


def enrolment(updates: Updates, user: int, person: DemoPerson, index: int
              ) -> list[dict[str, Any]]:
    """The 15 updates of one enrolment, from /mulai to the agreed deduction."""
    nik, born = worker_nik(index)
    return [
        updates.message(user, "/mulai"),
        updates.message(user, person.nip),
        updates.message(user, contact=person.phone),
        updates.button(user, "menu:enrol"),
        updates.button(user, "rel:art"),
        updates.message(user, nik),
        updates.message(user, "Siti Aminah"),
        updates.message(user, born),
        updates.button(user, "job:pedagang"),
        updates.button(user, "phone:skip"),
        updates.message(user, "Patebon"),
        updates.message(user, "Kumpulrejo"),
        updates.button(user, "consent:yes"),
        updates.button(user, "sum:save"),
        updates.button(user, "ded:agree"),
    ]


def conversations(asn: int, users: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(user id, updates) per enrolling ASN: ASN 1.. of the roster (0 is the demo ASN),
    spread over the whole roster so a big one is read across, not at its start."""
    updates = Updates()
    people = demo_people(asn)
    step = max(1, (asn - 1) // users)
    for index in range(users):
        person = people[1 + index * step]
        yield FIRST_USER + index, enrolment(updates, FIRST_USER + index, person, index)


async def converse_all(app: App, transport: TelegramTransport, bot: Bot,
                       scripts: list[list[dict[str, Any]]], concurrency: int
                       ) -> dict[str, float]:
    """Every script, `concurrency` users at a time; updates/s, latency, CPU per update."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def converse(script: list[dict[str, Any]]) -> None:
        async with gate:
            for data in script:
                started = time.perf_counter()
                incoming = transport.to_incoming(Update.de_json(data, bot))
                assert incoming is not None
                await app.dispatcher.handle(incoming)
                latencies.append(time.perf_counter() - started)

    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(converse(script) for script in scripts))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ordered = sorted(latencies)
    return {
        "updates": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        # This process's CPU time per update (PostgreSQL's own work is not in it): what the
        # rate would be on an otherwise idle core, whatever else the machine runs.
        "cpu": cpu / len(latencies) * 1000,
    }


async def measure(engine: str, asn: int, users: int, concurrency: int, postgres_url: str
                  ) -> tuple[dict[str, float], dict[str, float]]:
    """The enrolments at `concurrency` at once, then a few more one at a time (the time an
    update takes when it waits for no other); every enrolment must have been completed."""
    async with dataset(engine, asn, 0, postgres_url) as built:
        app = create_app(built.settings(log_level="WARNING"))
        try:
            bot = Bot(TOKEN)
            transport = TelegramTransport(bot)
            app.add_transport(transport, bot_id=123456)
            scripts = [script for _, script in conversations(asn, WARM_UP + users + SEQUENTIAL)]
            # Untimed first: templates compile and statement caches fill at first use.
            await converse_all(app, transport, bot, scripts[:WARM_UP], concurrency)
            loaded = await converse_all(app, transport, bot,
                                        scripts[WARM_UP:WARM_UP + users], concurrency)
            alone = await converse_all(app, transport, bot, scripts[WARM_UP + users:], 1)
            async with app.sessions() as session:
                agreed = await session.scalar(
                    select(func.count()).select_from(Enrollment)
                    .join(DeductionAgreement, DeductionAgreement.enrollment_id == Enrollment.id)
                    .where(Enrollment.status == EnrollmentStatus.SUBMITTED,
                           DeductionAgreement.channel == "telegram"))
        finally:
            await app.close()
    if agreed != WARM_UP + users + SEQUENTIAL:
        raise SystemExit(f"only {agreed} of {WARM_UP + users + SEQUENTIAL} enrolments were "
                         "completed: the script no longer matches the conversation")
    return loaded, alone


def run(arguments: argparse.Namespace) -> None:
    recorder = Recorder(NAME, arguments.json)
    sizes = [int(size) for size in arguments.sizes.split(",")]
    users, concurrency = arguments.users, arguments.concurrency
    case = "aiogram 3, MemoryStorage"
    recorder.inputs(case, users=users, updates_per_user=15, at_once=concurrency,
                    replies="none", storage="memory")
    scripts = [script for _, script in conversations(max(sizes[0], WARM_UP + users + 1),
                                                      WARM_UP + users)]
    baseline = asyncio.run(aiogram_baseline.measure(scripts[WARM_UP:], concurrency,
                                                    warm_up=scripts[:WARM_UP]))
    recorder.add(case, "updates/s", round(baseline["rate"]), "updates/s")
    recorder.add(case, "p50", round(baseline["p50"], 2), "ms")
    recorder.add(case, "p99", round(baseline["p99"], 2), "ms")
    for engine in engines(arguments):
        rates: dict[int, float] = {}
        for asn in sizes:
            case = f"{engine}, {asn:,} ASN"
            recorder.inputs(case, asn=asn, warm_up_users=WARM_UP, users=users,
                            updates_per_user=15, at_once=concurrency, then_alone=SEQUENTIAL)
            loaded, alone = asyncio.run(measure(engine, asn, users, concurrency,
                                                arguments.postgres_url))
            rates[asn] = loaded["rate"]
            recorder.add(case, "updates/s", round(loaded["rate"]), "updates/s",
                         TARGET_RATE if engine == "sqlite" else None, at_least=True)
            recorder.add(case, f"p50, {concurrency} at once", round(loaded["p50"], 2), "ms")
            recorder.add(case, f"p99, {concurrency} at once", round(loaded["p99"], 2), "ms",
                         TARGET_P99_MS)
            recorder.add(case, "p50, one at a time", round(alone["p50"], 2), "ms")
            recorder.add(case, "p99, one at a time", round(alone["p99"], 2), "ms",
                         TARGET_P99_MS)
            recorder.add(case, "CPU per update", round(loaded["cpu"], 3), "ms")
            if engine == "sqlite" and asn == sizes[0]:
                recorder.add(case, "times aiogram's rate",
                             round(loaded["rate"] / baseline["rate"], 2), "x", TARGET_RATIO,
                             at_least=True)
        smallest, largest = min(rates), max(rates)
        if largest != smallest:
            slower = (1 - rates[largest] / rates[smallest]) * 100
            recorder.add(f"{engine}, {largest:,} vs {smallest:,} ASN", "slower by",
                         round(slower, 1), "%", TARGET_SLOWDOWN)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000,1000000",
                        help="roster sizes (ASN), comma-separated")
    parser.add_argument("--users", type=int, default=400, help="ASN enrolling")
    parser.add_argument("--concurrency", type=int, default=50, help="users at once")
    add_common_arguments(parser)
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.sizes, arguments.users = "1000,5000", 40
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    run(arguments)


if __name__ == "__main__":
    main()
