"""What every command needs: the settings, read once, and an application disposed of after.

Kept apart from admin/cli.py so that the command groups in admin/cli_*.py can use it without
importing the module that registers them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import ValidationError

from admin.cli_output import say
from bot.app import App, create_app
from bot.logs import set_log_level
from bot.settings import Settings
from storage.key_checks import KeysChanged

T = TypeVar("T")


def load_settings() -> Settings:
    """The settings from the environment and .env, and the log level they name set: every
    command that reads them logs at LOG_LEVEL from then on (bot/logs.py)."""
    try:
        settings = Settings()  # type: ignore[call-arg]  # read from the environment and .env
    except ValidationError as error:
        say("settings_invalid", problems=setting_problems(error))
        raise typer.Exit(2) from None
    set_log_level(settings.log_level)
    return settings


def setting_problems(error: ValidationError) -> list[dict[str, object]]:
    """Each error as cli/settings_invalid words it: the setting, where inside it (a list's
    position, a row's field), the error's type and the limit or choice it names. Never the
    value given: it may be a key."""
    return [{"name": str(item["loc"][0]).upper(), "inside": list(item["loc"][1:]),
             "kind": item["type"], "limits": item.get("ctx", {})}
            for item in error.errors(include_url=False, include_input=False)]


def with_app(work: Callable[[App], Awaitable[T]], settings: Settings | None = None) -> T:
    """Build the application, run `work`, and always dispose of the engine. Keys that are
    not the ones the data was written with (found by `App.migrate`, which every command's
    work starts with) stop the command with a message naming them, exit code 2."""

    async def run() -> T:
        app = create_app(settings or load_settings())
        try:
            return await work(app)
        finally:
            await app.close()

    try:
        return asyncio.run(run())
    except KeysChanged as problem:
        say("keys_changed", settings=problem.settings)
        raise typer.Exit(2) from None


def with_migrated_app(work: Callable[[App], Awaitable[T]], settings: Settings | None = None
                      ) -> T:
    """`with_app` with the database brought up to date and the keys checked first
    (`App.migrate`), as nearly every command's work begins."""

    async def migrated(app: App) -> T:
        await app.migrate()
        return await work(app)

    return with_app(migrated, settings)
