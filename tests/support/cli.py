"""The command line in tests, as an operator runs it: settings from the environment only,
a migrated SQLite file to run against, and the file read back with plain sqlite3."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from admin.cli import cli
from bot.app import App, create_app
from bot.settings import Settings

SETTING_NAMES = [name.upper() for name in Settings.model_fields]


def clear_settings(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """No setting in the environment, and `folder` (without a .env) as the working folder."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(folder)


def point_cli_at(monkeypatch: pytest.MonkeyPatch, settings: Settings, folder: Path,
                 **extra: str) -> None:
    """The command line reads the database and keys of `settings` (and `extra`, by setting
    name) from the environment, and nothing else."""
    clear_settings(monkeypatch, folder)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", settings.data_encryption_keys.get_secret_value())
    monkeypatch.setenv("NIK_HASH_KEY", settings.nik_hash_key.get_secret_value())
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """One `asn-peduli` command: its exit code and output. An exception other than the exit
    is raised, so a crash fails the test with its own traceback instead of an exit code."""
    result = CliRunner().invoke(cli, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def prepare_database(monkeypatch: pytest.MonkeyPatch, settings: Settings, folder: Path,
                     seed: Callable[[App], Awaitable[Any]]) -> None:
    """Migrate the database of `settings`, `seed` it, and point the command line at it from
    `folder`: the state an operator's terminal is in before the command under test."""

    async def prepare() -> None:
        app = create_app(settings)
        try:
            await app.migrate()
            await seed(app)
        finally:
            await app.close()

    asyncio.run(prepare())
    point_cli_at(monkeypatch, settings, folder)


def query(path: Path, sql: str) -> list[tuple]:
    """`sql` on the SQLite file at `path`, outside the application."""
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()
