"""Migration 0005 (report_snapshots) both ways on SQLite and PostgreSQL: upgraded, a month
can be kept; downgraded to 0004, both tables go and the rest of the data stays; upgraded
again, the tables are back, empty, and a month is kept anew."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from flows.time_zone import JAKARTA
from storage.models import ReportSnapshotUnit, Unit
from storage.report_snapshots import EXPORT, ensure_snapshot
from tests.conftest import make_settings, migrated_app
from tests.support.migrations import downgrade, tables_of
from tests.support.processes import count

TABLES = {"report_snapshots", "report_snapshot_units"}
NOW = datetime(2025, 9, 5, 10, 0, tzinfo=JAKARTA)


async def test_0005_keeps_snapshots_and_takes_them_away_again(database_url):
    async with migrated_app(make_settings(database_url)) as app:
        async with app.sessions.begin() as session:
            session.add(Unit(kind="opd", name="Dinas Kesehatan"))
        async with app.sessions.begin() as session:
            assert await ensure_snapshot(session, date(2025, 8, 1), NOW, 20.0, EXPORT)
        assert await tables_of(app) >= TABLES
        assert not TABLES & await downgrade(app, "0004")
        assert await count(app, Unit) == 1

        await app.migrate()

        async with app.sessions.begin() as session:
            assert await session.scalar(
                select(func.count()).select_from(ReportSnapshotUnit)) == 0
            assert await ensure_snapshot(session, date(2025, 8, 1), NOW, 20.0, EXPORT)
            assert await session.scalar(
                select(func.count()).select_from(ReportSnapshotUnit)) == 1
