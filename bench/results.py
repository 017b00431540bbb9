"""Result rows, the printed table and the machine description shared by the benchmarks.

Issue 5 wants each benchmark to print its inputs and figures, and `python -m bench` to print
one combined table: every benchmark appends its rows to the file named by `--json` (one JSON
object per line, so several processes can append in turn) and `bench/__main__.py` reads them
back. Most targets in the issue are upper bounds (seconds, percent, megabytes): `met` is
value <= target; a rate is a lower bound (`at_least`): value >= target. A row without a
target is a figure shown for context (None, None).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.dataset import POSTGRES_ADMIN_URL


@dataclass(frozen=True, slots=True)
class Result:
    """One figure of one benchmark case, e.g. ("report", "sqlite", "total", 0.8, "s", 2.0)."""

    benchmark: str
    case: str
    figure: str
    value: float
    unit: str
    target: float | None = None
    at_least: bool = False  # the target is a floor (a rate), not a ceiling

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


class Recorder:
    """Prints each figure as it is measured and appends it to the `--json` file, if any."""

    def __init__(self, benchmark: str, json_path: Path | None) -> None:
        self.benchmark = benchmark
        self.results: list[Result] = []
        self._json_path = json_path

    def inputs(self, case: str, **values: Any) -> None:
        """Print what a case measures with, before its figures."""
        shown = ", ".join(f"{name}={_plain(value)}" for name, value in values.items())
        print(f"[{self.benchmark}/{case}] inputs: {shown}", flush=True)

    def add(self, case: str, figure: str, value: float, unit: str,
            target: float | None = None, at_least: bool = False) -> Result:
        result = Result(self.benchmark, case, figure, value, unit, target, at_least)
        self.results.append(result)
        verdict = {None: "", True: "  (met)", False: "  (MISSED)"}[result.met]
        bound = "" if target is None else f"  target {_bound(result)}"
        print(f"[{self.benchmark}/{case}] {figure}: {_plain(value)} {unit}{bound}{verdict}",
              flush=True)
        if self._json_path is not None:
            with self._json_path.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(result.row()) + "\n")
        return result


def _bound(result: Result) -> str:
    sign = ">=" if result.at_least else "<="
    return f"{sign} {_plain(result.target)} {result.unit}"


def row_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A row read back as Result's fields (rows written before `at_least` lack it)."""
    return {name: row.get(name, False if name == "at_least" else None)
            for name in Result.__dataclass_fields__}


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def table(rows: Iterable[dict[str, Any]]) -> str:
    """The combined table: benchmark, case, figure, value, target, met."""
    header = ("benchmark", "case", "figure", "value", "target", "met")
    lines = [header]
    for row in rows:
        unit = row["unit"]
        target = "" if row["target"] is None else _bound(Result(**row_fields(row)))
        met = {None: "", True: "yes", False: "NO"}[row["met"]]
        lines.append((row["benchmark"], row["case"], row["figure"],
                      f"{_plain(row['value'])} {unit}", target, met))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    rendered = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                .rstrip() for line in lines]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


async def _postgres_version(url: str) -> str | None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        connection = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432,
                                           user=parsed.username, password=parsed.password,
                                           database=parsed.database, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


def machine(postgres_url: str = POSTGRES_ADMIN_URL) -> dict[str, str]:
    """What the figures were measured on, for the README next to them."""
    memory = _memory_gb()
    return {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": f"{memory:.1f} GB" if memory is not None else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": asyncio.run(_postgres_version(postgres_url)) or "not reachable",
    }


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--quick, --json PATH, --postgres-url, --no-postgres: the same for every benchmark."""
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, a few seconds: checks that the benchmark runs")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="append the result rows to PATH (one JSON object per line)")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL,
                        help="server where fresh benchmark databases are created")
    parser.add_argument("--no-postgres", action="store_true",
                        help="measure SQLite only")


def engines(arguments: argparse.Namespace, wanted: Sequence[str] = ("sqlite", "postgresql")
            ) -> list[str]:
    """The engines to measure: PostgreSQL unless --no-postgres or the server is unreachable
    (said on the output, so a missing row is explained)."""
    chosen = [engine for engine in wanted if engine == "sqlite" or not arguments.no_postgres]
    if "postgresql" in chosen and asyncio.run(_postgres_version(arguments.postgres_url)) is None:
        print(f"PostgreSQL at {arguments.postgres_url} not reachable: SQLite only", flush=True)
        chosen.remove("postgresql")
    return chosen
