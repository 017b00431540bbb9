"""Migration 0005 (report_snapshots) both ways on SQLite and PostgreSQL: upgraded, a month
can be kept; downgraded to 0004, both tables go and the rest of the data stays; upgraded
again, the tables are back, empty, and a month is kept anew."""

from __future__ import annotations

from datetime import date, datetime

from alembic import command
from sqlalchemy import func, inspect, select

from flows.time_zone import JAKARTA
from storage.database import _alembic_config, current_revision
from storage.models import ReportSnapshotUnit, Unit
from storage.report_snapshots import EXPORT, ensure_snapshot
from tests.conftest import make_settings, migrated_app

TABLES = {"report_snapshots", "report_snapshot_units"}
NOW = datetime(2025, 9, 5, 10, 0, tzinfo=JAKARTA)


def tables(sync) -> set[str]:
    return set(inspect(sync).get_table_names())


async def test_0005_keeps_snapshots_and_takes_them_away_again(database_url):
    async with migrated_app(make_settings(database_url)) as app:
        async with app.sessions.begin() as session:
            session.add(Unit(kind="opd", name="Dinas Kesehatan"))
        async with app.sessions.begin() as session:
            assert await ensure_snapshot(session, date(2025, 8, 1), NOW, 20.0, EXPORT)
        async with app.engine.begin() as connection:
            assert await connection.run_sync(tables) >= TABLES
            await connection.run_sync(
                lambda sync: command.downgrade(_alembic_config(sync), "0004"))
        async with app.engine.connect() as connection:
            assert await current_revision(connection) == "0004"
            assert not TABLES & await connection.run_sync(tables)
            assert (await connection.execute(select(func.count()).select_from(Unit))
                    ).scalar() == 1

        await app.migrate()

        async with app.sessions.begin() as session:
            assert await session.scalar(
                select(func.count()).select_from(ReportSnapshotUnit)) == 0
            assert await ensure_snapshot(session, date(2025, 8, 1), NOW, 20.0, EXPORT)
            assert await session.scalar(
                select(func.count()).select_from(ReportSnapshotUnit)) == 1
