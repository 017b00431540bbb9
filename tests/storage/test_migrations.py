"""The Alembic migration creates exactly the schema the models describe, on both engines."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage.database import current_revision
from storage.models import Base


async def test_migration_matches_models(app_any_db):
    async with app_any_db.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        revision = await current_revision(connection)
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert diff == []
    assert revision == "0002"
    assert {
        "units", "asn", "channel_identities", "workers", "enrollments", "deduction_agreements",
        "consents", "roles", "conversation_states", "processed_updates", "outbox", "audit_log",
        "chats", "broadcasts", "attachments", "reminder_log",
    } <= tables


async def test_upgrade_twice_is_harmless(app_any_db):
    await app_any_db.migrate()
    async with app_any_db.engine.connect() as connection:
        assert await current_revision(connection) == "0002"


async def test_sqlite_runs_in_wal_mode(app):
    async with app.engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    assert mode == "wal"
    assert foreign_keys == 1
