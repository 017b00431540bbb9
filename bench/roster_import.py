"""Roster import benchmark: a personnel office's CSV of 100,000 ASN through the real import.

Issue 5: a roster import of 100,000 rows in at most 10 s. The file is the demo roster
(ASN 1..N of `admin.demo_data.demo_people`, phones in the local 08… form, with kecamatan and
jabatan, as Excel writes it in Indonesia: semicolons), imported by
`admin.roster_file.import_roster_file`, what `asn-peduli roster import FILE.csv` runs, into a
database that holds Kendal's units and the demo ASN only. Then the same file again: the
monthly re-import, where nothing changes.

    .venv/bin/python -m bench.roster_import [--rows 100000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from admin.demo_data import demo_people
from admin.imports import EXIT_OK
from admin.roster_file import import_roster_file
from bench.dataset import dataset
from bench.results import Recorder, add_common_arguments, engines
from bot.app import create_app
from storage.models import Asn

NAME = "roster_import"
TARGET_SECONDS = 10.0


def write_roster(path: Path, rows: int) -> None:
    """ASN 1..rows of the demo roster as a personnel office's CSV."""
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(["NIP", "Nama", "Unit", "No_HP", "Kecamatan", "Jabatan"])
        for person in demo_people(rows + 1)[1:]:
            writer.writerow([person.nip, person.name, person.unit, "0" + person.phone[3:],
                             person.kecamatan, person.position])


async def measure(recorder: Recorder, engine: str, rows: int, roster: Path, size: int,
                  postgres_url: str) -> None:
    async with dataset(engine, 1, 0, postgres_url) as built:
        app = create_app(built.settings())
        try:
            recorder.inputs(engine, rows=rows, file_bytes=size,
                            asn_before=1)
            for case, figure in (("new roster", "import, all rows new"),
                                 ("same file again", "import, nothing changed")):
                started = time.perf_counter()
                # The import's summary (a few lines) is the admin's, not the benchmark's.
                with contextlib.redirect_stdout(io.StringIO()):
                    code = await import_roster_file(app, roster)
                elapsed = time.perf_counter() - started
                async with app.sessions() as session:
                    held = await session.scalar(select(func.count()).select_from(Asn))
                if code != EXIT_OK or held != rows + 1:
                    raise RuntimeError(f"{case}: exit code {code}, {held} ASN for {rows} rows")
                recorder.add(engine, figure, elapsed, "s", TARGET_SECONDS)
        finally:
            await app.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    add_common_arguments(parser)
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.rows = 2_000
    recorder = Recorder(NAME, arguments.json)
    with tempfile.TemporaryDirectory(prefix="asn-bench-roster-") as folder:
        roster = Path(folder) / "roster.csv"
        write_roster(roster, arguments.rows)
        for engine in engines(arguments):
            asyncio.run(measure(recorder, engine, arguments.rows, roster,
                                roster.stat().st_size, arguments.postgres_url))


if __name__ == "__main__":
    main()
