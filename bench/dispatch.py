"""Dispatch benchmark: the whole enrolment conversation, update in → state, domain change and
rendered replies (outbox rows) committed, for many ASN at once. Prints inputs and figures.

    .venv/bin/python -m bench.dispatch --asn 1000 --users 200 --concurrency 50

No sender runs: this measures the dispatcher, flows, renderer and storage, not a platform.
The fuller benchmark suite (PostgreSQL, aiogram baseline, 1,000,000 ASN) is issue 5's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.app import create_app
from bot.demo_data import demo_people, write_demo_data
from bot.settings import Settings
from flows.events import Channel, Incoming, Kind, SharedContact
from storage.crypto import generate_key


def _nik(index: int) -> str:
    """A structurally valid NIK per user, unused by the demo workers (region 3324 99)."""
    return f"332499{(index % 28) + 1:02d}0{(index % 9) + 1}85{index % 10_000:04d}"[:16]


def _script(user: str, nip: str, phone: str, nik: str) -> list[Callable[[int], Incoming]]:
    def text(value: str) -> Callable[[int], Incoming]:
        kind = Kind.COMMAND if value.startswith("/") else Kind.TEXT
        return lambda n: Incoming(Channel.TELEGRAM, user, user, kind, text=value,
                                  update_id=f"{user}-{n}")

    def button(payload: str) -> Callable[[int], Incoming]:
        return lambda n: Incoming(Channel.TELEGRAM, user, user, Kind.BUTTON, payload=payload,
                                  update_id=f"{user}-{n}")

    def contact() -> Callable[[int], Incoming]:
        return lambda n: Incoming(Channel.TELEGRAM, user, user, Kind.CONTACT,
                                  contact=SharedContact(phone, user), update_id=f"{user}-{n}")

    return [
        text("/mulai"), text(nip), contact(), button("menu:enrol"), button("rel:art"),
        text(nik), text("Siti Aminah"), text("17-08-1985"), button("job:pedagang"),
        button("phone:skip"), text("Patebon"), text("Kumpulrejo"), button("consent:yes"),
        button("sum:save"), button("ded:agree"),
    ]


async def run(asn: int, users: int, concurrency: int, database: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{database}",
        data_encryption_keys=generate_key(), nik_hash_key=generate_key(),
    )
    app = create_app(settings)
    await app.migrate()
    await write_demo_data(app, asn_count=asn)
    people = demo_people(asn)[1:users + 1]  # not the demo ASN; most have no worker yet
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def converse(index: int) -> None:
        person = people[index]
        user = str(5_000_000 + index)
        async with gate:
            for number, make in enumerate(_script(user, person.nip, person.phone,
                                                  _nik(index))):
                started = time.perf_counter()
                await app.dispatcher.handle(make(number))
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(converse(i) for i in range(len(people))))
    elapsed = time.perf_counter() - started
    await app.close()
    ordered = sorted(latencies)
    print(f"inputs: SQLite, {asn:,} ASN in the roster, {len(people)} users enrolling, "
          f"{concurrency} at once, {len(latencies)} updates")
    print(f"updates/s: {len(latencies) / elapsed:,.0f}")
    print(f"latency p50: {statistics.median(ordered) * 1000:.2f} ms, "
          f"p99: {ordered[int(len(ordered) * 0.99) - 1] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--asn", type=int, default=1_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        asyncio.run(run(args.asn, args.users, args.concurrency, Path(folder) / "bench.db"))


if __name__ == "__main__":
    main()
