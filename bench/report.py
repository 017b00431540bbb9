"""Monthly report benchmark: the progress of every OPD and kecamatan and the chart's PNG.

Issue 5: for 1,000,000 ASN and 300,000 enrolments, the monthly report and its chart take at
most 2 s. This runs what the scheduler's `_report_material` runs — `unit_progress_all` for the
month before the dataset's build moment, then `bot.charts.report_chart` of the OPD —
on SQLite and PostgreSQL, three times each, and reports the medians.

    .venv/bin/python -m bench.report [--asn 1000000] [--enrolments 300000] [--quick]

matplotlib is imported before the clock starts: the bot pays that once per process, not per
report (bot/scheduler.py imports it in the drawing thread on the first report).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import bot.charts
from bench.dataset import dataset
from bench.results import Recorder, add_common_arguments, engines
from bot.app import create_app
from storage.report_snapshots import MonthlyReport, month_end
from storage.reports import month_before, region_totals, unit_progress_all

TARGET_SECONDS = 2.0
NAME = "report"


async def measure(recorder: Recorder, engine: str, asn: int, enrolments: int, repeat: int,
                  postgres_url: str) -> None:
    async with dataset(engine, asn, enrolments, postgres_url) as built:
        app = create_app(built.settings())
        try:
            settings = app.settings
            month = month_before(built.built_at).date().replace(day=1)
            at = month_end(month)
            recorder.inputs(engine, asn=asn, enrolments=enrolments, repeat=repeat,
                            report_at=at.isoformat(timespec="minutes"))
            queries: list[float] = []
            charts: list[float] = []
            totals: list[float] = []
            png = b""
            for _ in range(repeat):
                started = time.perf_counter()
                async with app.sessions() as session:
                    progress = await unit_progress_all(session, at)
                counted = time.perf_counter()
                report = MonthlyReport(month, at, progress["opd"], progress["kecamatan"],
                                       settings.coverage_target_percent, live=False)
                png = bot.charts.report_chart(report, "opd", settings.region_name)
                drawn = time.perf_counter()
                queries.append(counted - started)
                charts.append(drawn - counted)
                totals.append(drawn - started)
            region = region_totals(progress["opd"], settings.coverage_target_percent)
            recorder.inputs(engine, participating=region.asn_participating,
                            protected=region.workers_protected,
                            opd=len(progress["opd"]), kecamatan=len(progress["kecamatan"]),
                            png_bytes=len(png))
            recorder.add(engine, "progress query (median)", statistics.median(queries), "s")
            recorder.add(engine, "chart PNG (median)", statistics.median(charts), "s")
            recorder.add(engine, "report + chart (median)", statistics.median(totals), "s",
                         TARGET_SECONDS)
        finally:
            await app.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asn", type=int, default=1_000_000)
    parser.add_argument("--enrolments", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_common_arguments(parser)
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.asn, arguments.enrolments = 2_000, 600
    recorder = Recorder(NAME, arguments.json)
    for engine in engines(arguments):
        asyncio.run(measure(recorder, engine, arguments.asn, arguments.enrolments,
                            arguments.repeat, arguments.postgres_url))


if __name__ == "__main__":
    main()
