"""The benchmark suite (bench/, issue 5) runs and reports: `python -m bench --quick --only X`
prints the table with every figure of X, and the dataset it builds holds what it promises.

The figures themselves are not asserted (a loaded CI machine is no place for timings); the
full-size runs and their figures are in the README. PostgreSQL rows are expected when the
server is there (these tests skip without it, and fail under CI=true, like the others).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from admin.demo_data import demo_people
from bench.dataset import STATUS_WEIGHTS, build
from bot.app import create_app
from flows.nik import parse_nik
from storage.models import Asn, DeductionAgreement, Enrollment, Unit, Worker
from storage.reports import unit_progress_all
from tests.conftest import POSTGRES_URL, require_postgres

ROOT = Path(__file__).resolve().parent.parent

BOTH = ("sqlite", "postgresql")
FIGURES = {
    "dispatch": [("aiogram 3, MemoryStorage", "updates/s"),
                 ("sqlite, 1,000 ASN", "times aiogram's rate")] + [
        (f"{engine}, {size} ASN", figure) for engine in BOTH for size in ("1,000", "5,000")
        for figure in ("updates/s", "p99, 50 at once", "p99, one at a time", "CPU per update")
    ] + [(f"{engine}, 5,000 vs 1,000 ASN", "slower by") for engine in BOTH],
    "report": [(engine, figure) for engine in BOTH for figure in (
        "progress query (median)", "chart PNG (median)", "report + chart (median)")],
    "broadcast": [(engine, "queue broadcast (confirming update)") for engine in BOTH] + [
        (f"sqlite, {channel}", figure) for channel in ("telegram", "whatsapp")
        for figure in ("achieved rate", "deviation from limit")],
    "roster_import": [(engine, figure) for engine in BOTH for figure in (
        "import, all rows new", "import, nothing changed")],
    "memory": [("sqlite, asn-peduli run", figure) for figure in (
        "RSS after start", "peak RSS (ru_maxrss)", "peak RSS (VmHWM)")],
}


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_a_quick_run_prints_every_figure_in_the_table(name: str) -> None:
    require_postgres()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", name],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "BENCH_POSTGRES_URL": POSTGRES_URL},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout.split("benchmark ", 1)[-1]
    lines = [line.split() for line in table.splitlines()]
    for case, figure in FIGURES[name]:
        wanted = [name, *case.split(), *figure.split()]
        assert any(line[:len(wanted)] == wanted for line in lines), (
            f"no row {wanted} in\n{done.stdout[-3000:]}")
    assert "Machine:" in done.stdout and "SQLite: " in done.stdout


async def test_the_dataset_holds_the_demo_roster_and_enrolments_that_decrypt(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    built = await build(url, asn=400, enrolments=150, cache=False)
    app = create_app(built.settings())
    try:
        async with app.sessions() as session:
            stored = (await session.execute(
                select(Asn.id, Asn.nip, Asn.name, Asn.phone, Asn.position, Unit.name)
                .join(Unit, Unit.id == Asn.unit_id).order_by(Asn.id))).all()
            assert [tuple(row) for row in stored] == [
                (number + 1, person.nip, person.name, person.phone, person.position,
                 person.unit) for number, person in enumerate(demo_people(400))]
            workers = (await session.scalars(select(Worker))).all()
            assert len(workers) == 150
            for worker in workers:
                nik = app.cipher.decrypt(worker.nik_enc)
                parse_nik(nik)
                assert app.cipher.nik_hash(nik) == worker.nik_hash
            statuses = dict((await session.execute(
                select(Enrollment.status, func.count()).group_by(Enrollment.status))).all())
            assert set(statuses) <= set(STATUS_WEIGHTS) and sum(statuses.values()) == 150
            demo_asn_enrolments = await session.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.asn_id == 1))
            assert demo_asn_enrolments == 0
            agreed = await session.scalar(select(func.count()).select_from(DeductionAgreement))
            assert agreed == 150 - statuses.get("draft", 0)
            progress = await unit_progress_all(session, built.built_at)
        assert sum(unit.asn_total for unit in progress["opd"]) == 400
        assert sum(unit.asn_participating for unit in progress["opd"]) > 0
    finally:
        await app.close()
