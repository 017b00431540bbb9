"""The Alembic migration creates exactly the schema the models describe, on both engines."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.database import _alembic_config, current_revision
from storage.models import Base

# The one head of the migrations (several helpers add migrations: a second head is a bug).
[HEAD] = ScriptDirectory.from_config(_alembic_config()).get_heads()


async def test_migration_matches_models(app_any_db):
    async with app_any_db.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        revision = await current_revision(connection)
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert diff == []
    assert revision == HEAD
    assert {
        "units", "asn", "channel_identities", "workers", "enrollments", "deduction_agreements",
        "consents", "roles", "conversation_states", "processed_updates", "outbox", "audit_log",
        "chats", "broadcasts", "attachments", "reminder_log", "key_checks",
    } <= tables


async def test_upgrade_twice_is_harmless(app_any_db):
    await app_any_db.migrate()
    async with app_any_db.engine.connect() as connection:
        assert await current_revision(connection) == HEAD


async def test_sqlite_runs_in_wal_mode(app):
    async with app.engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    assert mode == "wal"
    assert foreign_keys == 1


async def test_0003_keeps_the_bodies_of_broadcasts_queued_before_it_both_ways(database_url):
    """A broadcast queued under 0002 (each row its own body) is sent whole after the
    upgrade; one queued under 0003 (one shared body) gets its copies back on a downgrade."""
    from alembic import command
    from sqlalchemy import text

    from storage.database import _alembic_config, create_engine, upgrade

    engine = create_engine(database_url)

    async def run(sql: str) -> list[tuple]:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []

    insert_broadcast = (
        "INSERT INTO units (id, kind, name) VALUES (1, 'kecamatan', 'Patebon');"
    )
    try:
        await upgrade(engine, "0002")
        await run(insert_broadcast)
        await run("INSERT INTO asn (id, nip, name, unit_id, phone, reminders_enabled, "
                  "updated_at) VALUES (1, '198503152010011001', 'Budi', 1, '+6281', true, "
                  "'2026-11-01 00:00:00')")
        await run("INSERT INTO broadcasts (id, asn_id, unit_id, audience, channel, status, "
                  "recipients, created_at) VALUES (1, 1, 1, 'all', 'telegram', 'sending', 1, "
                  "'2026-11-01 00:00:00')")
        await run("INSERT INTO outbox (channel, chat_id, body_enc, status, kind, broadcast_id, "
                  "attempts, next_attempt_at, created_at) VALUES ('telegram', '7', 'old-body', "
                  "'pending', 'broadcast', 1, 0, '2026-11-01 00:00:00', "
                  "'2026-11-01 00:00:00')")
        await upgrade(engine)
        await run("INSERT INTO broadcast_bodies (broadcast_id, channel, body_enc) "
                  "VALUES (1, 'whatsapp', 'shared-body')")
        await run("INSERT INTO outbox (channel, chat_id, body_enc, status, kind, broadcast_id, "
                  "attempts, next_attempt_at, created_at) VALUES ('whatsapp', '62812', NULL, "
                  "'pending', 'broadcast', 1, 0, '2026-11-01 00:00:00', "
                  "'2026-11-01 00:00:00')")
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.downgrade(_alembic_config(sync), "0002"))
        assert await run("SELECT channel, body_enc FROM outbox ORDER BY id") == [
            ("telegram", "old-body"), ("whatsapp", "shared-body")]
    finally:
        await engine.dispose()


async def test_0004_adds_the_key_checks_and_takes_them_away_again(database_url):
    """Upgraded, the first start writes its checks; downgraded to 0003, the table goes (the
    data is untouched); upgraded again, the next start writes them anew."""
    from storage.models import KeyCheck, Unit
    from tests.conftest import make_settings, migrated_app
    from tests.support.migrations import downgrade, tables_of
    from tests.support.processes import count

    settings = make_settings(database_url)
    async with migrated_app(settings) as app:
        async with app.sessions.begin() as session:
            session.add(Unit(kind="opd", name="Dinas Kesehatan"))
        assert "key_checks" in await tables_of(app)
        assert "key_checks" not in await downgrade(app, "0003")
        assert await count(app, Unit) == 1
        await app.migrate()
        assert await count(app, KeyCheck) == 2
