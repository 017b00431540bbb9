"""`asn-peduli unit`: list, rename and merge units (OPD and kecamatan).

The rules are storage/units.py's, the same the web console will call. `merge --dry-run`
lists what would move and changes nothing; every rename and merge is audited. Exit codes:
0 done (or listed), 1 the names do not match the data (unknown unit, a name already taken,
units of different kinds), 2 the command itself is wrong (a bad kind or name).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from admin.cli_app import with_migrated_app
from admin.cli_output import say
from bot.app import App
from storage.audit import SqlAuditRepository
from storage.units import (
    LISTED,
    UnitChangeRefused,
    merge_plan,
    merge_units,
    one_unit,
    rename_unit,
    unit_list,
)

unit_cli = typer.Typer(help="Unit: OPD dan kecamatan (daftar, ganti nama, gabung).",
                       no_args_is_help=True)

KINDS = {"opd": "opd", "kecamatan": "kecamatan", "kec": "kecamatan"}
OK, DATA_MISMATCH, USAGE = 0, 1, 2
# Refusals that are about the data, not the command's words.
_MISMATCH = {"unit_unknown", "unit_ambiguous", "unit_name_taken", "unit_kinds_differ",
             "unit_merge_same", "unit_same_name"}

KindOption = Annotated[str | None, typer.Option(
    "--kind", help="opd atau kecamatan (bila sebuah OPD dan kecamatan bernama sama).")]


def _kind(typed: str | None) -> str | None:
    if typed is None:
        return None
    kind = KINDS.get(typed.strip().lower())
    if kind is None:
        say("unit_bad_kind", kind=typed)
        raise typer.Exit(USAGE)
    return kind


def _refused(refusal: UnitChangeRefused) -> typer.Exit:
    say(refusal.reason, **refusal.facts)
    return typer.Exit(DATA_MISMATCH if refusal.reason in _MISMATCH else USAGE)


@asynccontextmanager
async def _unit_change(app: App) -> AsyncIterator[AsyncSession]:
    """The one transaction of a rename or merge; a refusal by the rules is said, ends the
    command with its exit code and writes nothing."""
    async with app.sessions.begin() as session:
        try:
            yield session
        except UnitChangeRefused as refusal:
            raise _refused(refusal) from None


async def _audit(app: App, session: AsyncSession, action: str, unit_id: int,
                 details: dict[str, Any]) -> None:
    await SqlAuditRepository(session).record(
        action, actor_asn_id=None, channel="cli", subject=f"unit:{unit_id}", details=details,
        now=app.clock())


@unit_cli.command("list")
def list_units(kind: KindOption = None) -> None:
    """Daftar OPD dan kecamatan dengan jumlah ASN-nya."""
    wanted = _kind(kind)

    async def work(app: App) -> None:
        async with app.sessions() as session:
            units = await unit_list(session, wanted)
        say("unit_list", units=[{"name": unit.name, "kind": unit.kind, "asn": count}
                                for unit, count in units])

    with_migrated_app(work)


@unit_cli.command("rename")
def rename(
    name: Annotated[str, typer.Argument(help="Nama unit sekarang.")],
    new_name: Annotated[str, typer.Argument(help="Nama baru.")],
    kind: KindOption = None,
) -> None:
    """Ganti nama OPD atau kecamatan (mis. salah ketik di data ASN)."""
    wanted = _kind(kind)

    async def work(app: App) -> None:
        async with _unit_change(app) as session:
            unit = await one_unit(session, name, wanted)
            renamed = await rename_unit(session, unit, new_name)
            await _audit(app, session, "unit.renamed", unit.id,
                         {"kind": unit.kind, "from": unit.name, "to": renamed.name})
        say("unit_renamed", kind=unit.kind, old=unit.name, new=renamed.name)

    with_migrated_app(work)


@unit_cli.command("merge")
def merge(
    source: Annotated[str, typer.Argument(metavar="FROM", help="Unit yang dihapus.")],
    target: Annotated[str, typer.Argument(metavar="INTO", help="Unit yang menerima.")],
    kind: KindOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Hanya tampilkan yang akan dipindahkan; tidak mengubah apa pun.")
    ] = False,
) -> None:
    """Gabungkan satu unit ke unit lain yang sejenis: ASN, peran, dan grup ikut pindah."""
    wanted = _kind(kind)

    async def work(app: App) -> None:
        async with _unit_change(app) as session:
            found = await one_unit(session, source, wanted)
            into = await one_unit(session, target, wanted)
            plan = await (merge_plan if dry_run else merge_units)(session, found, into)
            if not dry_run:
                await _audit(app, session, "unit.merged", into.id, plan.summary())
        say("unit_merge", plan=plan, dry_run=dry_run, listed=LISTED)

    with_migrated_app(work)
