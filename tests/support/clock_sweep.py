"""Run the tests at other wall-clock instants: the suite must pass whatever the clock says.

The scheduler speaks on working days from 09:00, never at night or on Sundays; reports are
about the month before; deductions start from a named month. A test that silently relies on
today's date passes on the day it was written and fails weeks later (issue 10: a benchmark
took the 09:00 coordinator reminder for its answer on a Monday). This sweep moves the clock
of pytest and of every process it starts (the bot run as `asn-peduli run|serve|worker`) with
libfaketime (Debian's `faketime`), by one constant offset, so each instant is where the run
starts and the clock then ticks on normally. PostgreSQL's server keeps the real time: the
code takes every moment from the application's clock, never from the server's `now()`.

    ./dev test-clock                       # every instant, the whole suite
    ./dev test-clock --clock-only          # every instant, the tests marked `clock`
    ./dev test-clock --at sunday-2200 -- -x tests/bot/test_reminders.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")

# Each instant in Jakarta time; chosen for what changes there.
INSTANTS: dict[str, datetime] = {
    # A working Monday just after the coordinators' 09:00 reminder fell due.
    "monday-0905": datetime(2026, 12, 7, 9, 5, tzinfo=JAKARTA),
    # A Sunday night: no reminder may go out at all.
    "sunday-2200": datetime(2026, 12, 13, 22, 0, tzinfo=JAKARTA),
    # The report day and hour (the 1st, 08:00): the monthly push falls due.
    "first-0800": datetime(2027, 3, 1, 8, 0, tzinfo=JAKARTA),
    # The last minute of a month: the run goes on into the next month.
    "month-end-2359": datetime(2027, 4, 30, 23, 59, tzinfo=JAKARTA),
    # The last minute of a year: months and years roll over during the run.
    "year-end-2359": datetime(2026, 12, 31, 23, 59, tzinfo=JAKARTA),
    # A leap day.
    "leap-day-2028": datetime(2028, 2, 29, 12, 0, tzinfo=JAKARTA),
}

# Set in the pytest run of a sweep, so the suite's own sweep test does not sweep again.
SWEEPING = "ASN_PEDULI_CLOCK_SWEEP"


class FaketimeMissing(RuntimeError):
    """libfaketime's `faketime` command is not installed."""


def faketime_command(instant: datetime, command: Sequence[str]) -> list[str]:
    """`command` run with the clock moved to start at `instant` (one offset for it and all
    its children, so a child process started later agrees with its parent)."""
    program = shutil.which("faketime")
    if program is None:
        raise FaketimeMissing("faketime is not installed: apt-get install -y faketime")
    offset = round(instant.timestamp() - time.time())
    return [program, "-f", f"{offset:+d}", *command]


def pytest_at(name: str, pytest_args: Sequence[str], clock_only: bool
              ) -> subprocess.CompletedProcess[bytes]:
    """pytest at the instant `name`, its output going straight to ours."""
    selection = ["-m", "clock"] if clock_only else []
    command = faketime_command(INSTANTS[name], [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *selection, *pytest_args])
    return subprocess.run(command, env={**os.environ, SWEEPING: name}, check=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", action="append", choices=sorted(INSTANTS),
                        help="an instant (repeatable; default: every one)")
    parser.add_argument("--clock-only", action="store_true",
                        help="only the tests marked `clock` (those that touch time)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    arguments = parser.parse_args(argv)
    names = arguments.at or list(INSTANTS)
    try:
        results = {}
        for name in names:
            print(f"=== {name}: {INSTANTS[name]:%A %Y-%m-%d %H:%M} WIB ===", flush=True)
            code = pytest_at(name, arguments.pytest_args, arguments.clock_only).returncode
            results[name] = "passed" if code == 0 else f"FAILED (exit {code})"
    except FaketimeMissing as problem:
        print(problem, file=sys.stderr)
        return 2
    print("\n".join(f"{name:>16}  {outcome}" for name, outcome in results.items()))
    return 0 if all(outcome == "passed" for outcome in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
