"""`asn-peduli role`: grant, revoke and list the roles of coordinators, camat and admins."""

from __future__ import annotations

import typer

role_cli = typer.Typer(help="Peran: koordinator OPD, camat, admin.", no_args_is_help=True)
