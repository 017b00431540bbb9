"""`python -m bench`: every benchmark of issue 5, one after the other, then one table.

Each benchmark runs in its own process (`python -m bench.<name> [--quick] --json FILE`), so
one's memory, event loop and imports never colour another's figures, and the peak RSS of the
memory benchmark's child is its own. The rows they append to FILE are printed as one table,
followed by the machine they ran on (for the README). Exit code: 0 when every benchmark ran,
even if a target was missed (this is a report, not a test); 1 when one crashed.

    ./dev bench                 # full sizes (1,000,000 ASN; the first run builds the dataset)
    ./dev bench --quick         # tiny sizes, to check that everything runs
    ./dev bench --only report   # one benchmark (may be given several times)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.results import machine, read_rows, table

BENCHMARKS = ("dispatch", "report", "broadcast", "roster_import", "memory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, about a minute")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, metavar="NAME",
                        help=f"run only this benchmark ({', '.join(BENCHMARKS)}); repeatable")
    arguments = parser.parse_args(argv)
    chosen = [name for name in BENCHMARKS if not arguments.only or name in arguments.only]
    crashed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="asn-bench-") as folder:
        rows_file = Path(folder) / "rows.jsonl"
        for name in chosen:
            command = [sys.executable, "-m", f"bench.{name}", "--json", str(rows_file)]
            if arguments.quick:
                command.append("--quick")
            print(f"\n== bench.{name} ==", flush=True)
            started = time.perf_counter()
            code = subprocess.run(command, check=False).returncode
            print(f"== bench.{name}: {time.perf_counter() - started:.1f} s"
                  f"{'' if code == 0 else f', exit code {code}'} ==", flush=True)
            if code != 0:
                crashed.append(name)
        rows = read_rows(rows_file)
    print("\n" + table(rows))
    print("\nMachine:")
    for key, value in machine().items():
        print(f"  {key}: {value}")
    missed = [row for row in rows if row["met"] is False]
    if missed:
        print(f"\n{len(missed)} target(s) missed.")
    if crashed:
        print(f"\nCrashed: {', '.join(crashed)}.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
