"""The command line in tests, as an operator runs it: settings from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest

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
