"""What the command line prints: templates under messages/templates/cli/, like every other
sentence a person reads, and the progress bar of the admin's long tasks (imports, exports).
Used by the CLI and the admin tasks it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from messages.renderer import Renderer

if TYPE_CHECKING:
    from rich.progress import Progress

    from bot.settings import NotConfigured


def say(template: str, **context: object) -> None:
    """Print the rendered `cli/<template>` on standard output."""
    typer.echo(Renderer().text(f"cli/{template}", dict(context)))


def not_configured(problem: NotConfigured, command: str) -> typer.Exit:
    """Name the settings a serving command misses (or finds malformed); the exit to raise."""
    say("not_configured", command=command, names=problem.names, problem=problem.problem)
    return typer.Exit(2)


def progress_bar() -> Progress:
    """A bar on the terminal's stderr; nothing when output goes to a file or a pipe.
    Imported here, not at the top: only the commands that show a bar need rich's progress."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=not console.is_terminal,
    )
