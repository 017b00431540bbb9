"""A test database moved along the Alembic history: the tables it holds, and a downgrade to
a revision that is checked to have landed there before the test looks at what is left."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, inspect

from bot.app import App
from storage.database import _alembic_config, current_revision


def table_names(sync: Connection) -> set[str]:
    """The tables of the database behind a synchronous connection."""
    return set(inspect(sync).get_table_names())


async def tables_of(app: App) -> set[str]:
    """The tables of `app`'s database now."""
    async with app.engine.connect() as connection:
        return await connection.run_sync(table_names)


async def downgrade(app: App, revision: str) -> set[str]:
    """Downgrade `app`'s database to `revision`; the tables left there."""
    async with app.engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.downgrade(_alembic_config(sync), revision))
    async with app.engine.connect() as connection:
        assert await current_revision(connection) == revision
        return await connection.run_sync(table_names)
