"""What the command line prints: templates under messages/templates/cli/, like every other
sentence a person reads. One function, used by the CLI and the admin tasks it runs."""

from __future__ import annotations

import typer

from messages.renderer import Renderer


def say(template: str, **context: object) -> None:
    """Print the rendered `cli/<template>` on standard output."""
    typer.echo(Renderer().text(f"cli/{template}", dict(context)))
