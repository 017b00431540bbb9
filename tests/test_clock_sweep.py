"""The time-sensitive tests pass at other wall-clock instants, not only on the day they run.

Issue 10: main went red on a Monday morning because a benchmark took the scheduler's 09:00
reminder for its answer; on the Saturday before it had passed. Here the tests marked `clock`
(tests/conftest.py names them) run again in a child pytest whose clock, and its children's,
libfaketime moves to a working Monday just after 09:00 and to the last minute of a month.
`./dev test-clock` runs every instant of tests/support/clock_sweep.py over the whole suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import IN_CI
from tests.support.clock_sweep import INSTANTS, SWEEPING, faketime_command

IN_EVERY_RUN = ("monday-0905", "month-end-2359")


@pytest.mark.parametrize("name", IN_EVERY_RUN)
def test_the_time_sensitive_tests_pass_at(name: str) -> None:
    if os.environ.get(SWEEPING):
        pytest.skip("already inside a clock sweep")
    if shutil.which("faketime") is None:
        reason = "faketime is not installed (apt-get install -y faketime)"
        if IN_CI:
            pytest.fail(reason + "; under CI=true the clock sweep must run")
        pytest.skip(reason)
    command = faketime_command(INSTANTS[name], [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "clock"])
    done = subprocess.run(command, env={**os.environ, SWEEPING: name}, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, (done.stdout[-6000:] + done.stderr[-3000:])
    assert " passed" in done.stdout.splitlines()[-1]


def test_the_clock_moves_for_the_child_and_its_children() -> None:
    """The sweep's mechanism itself: a child sees the instant, and so does its child."""
    if shutil.which("faketime") is None:
        if IN_CI:
            pytest.fail("faketime is not installed; under CI=true it must be")
        pytest.skip("faketime is not installed (apt-get install -y faketime)")
    script = ("import subprocess, sys, datetime;"
              "print(datetime.datetime.now(datetime.UTC).date());"
              "print(subprocess.run([sys.executable, '-c', 'import datetime;"
              "print(datetime.datetime.now(datetime.UTC).date())'],"
              " capture_output=True, text=True).stdout.strip())")
    done = subprocess.run(faketime_command(INSTANTS["leap-day-2028"],
                                           [sys.executable, "-c", script]),
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["2028-02-29", "2028-02-29"]
