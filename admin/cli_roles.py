"""`asn-peduli role`: grant, revoke and list the roles of coordinators, camat and admins.

A coordinator is held for an OPD, a camat for a kecamatan ("Kecamatan Patebon" and
"patebon" both name it), an admin for no unit. Granting twice changes nothing and says so;
every change is audited, and the ASN is told in their chat when they have linked one.
Exit codes: 0 done (or already so), 1 the NIP or the unit does not match the data, 2 the
command itself is wrong (unknown role, a unit missing or not allowed, settings missing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from admin.cli_app import with_app
from admin.cli_output import say
from bot.app import App
from bot.notify import Notifier
from flows.events import Reply
from flows.roles import ROLE_UNIT_KIND
from storage.audit import SqlAuditRepository
from storage.roles import SqlRoleRepository, UnitRef

role_cli = typer.Typer(help="Peran: koordinator OPD, camat, admin.", no_args_is_help=True)

# The role names an operator may type, Indonesian or English.
ROLE_WORDS = {"coordinator": "coordinator", "koordinator": "coordinator", "camat": "camat",
              "admin": "admin"}
OK, DATA_MISMATCH, USAGE = 0, 1, 2

NipArgument = Annotated[str, typer.Argument(help="NIP ASN (18 angka).")]
RoleArgument = Annotated[str, typer.Argument(help="coordinator (koordinator), camat, admin.")]
UnitOption = Annotated[str | None, typer.Option(
    "--unit", help='OPD untuk koordinator, kecamatan untuk camat ("Kecamatan Patebon").')]


def _refuse(code: int, template: str, **context: object) -> typer.Exit:
    """Say why the command cannot be done; the exit to raise (it rolls back what began)."""
    say(template, **context)
    return typer.Exit(code)


def _role(typed: str) -> str:
    role = ROLE_WORDS.get(typed.strip().lower())
    if role is None:
        raise _refuse(USAGE, "role_unknown_role", role=typed, roles=sorted(ROLE_UNIT_KIND))
    return role


def _check_unit_given(role: str, unit: str | None, required: bool) -> None:
    kind = ROLE_UNIT_KIND[role]
    if kind is None and unit is not None:
        raise _refuse(USAGE, "role_unit_not_needed", role=role)
    if kind is not None and unit is None and required:
        raise _refuse(USAGE, "role_unit_needed", role=role, kind=kind)


async def _asn(roles: SqlRoleRepository, nip: str) -> tuple[int, str, str]:
    found = await roles.asn_by_nip(nip.strip())
    if found is None:
        raise _refuse(DATA_MISMATCH, "role_unknown_nip", nip=nip)
    return found


async def _unit(roles: SqlRoleRepository, name: str, kind: str) -> UnitRef:
    match = await roles.find_unit(name, kind)
    if match.unit is not None:
        return match.unit
    if match.other_kind is not None:
        raise _refuse(DATA_MISMATCH, "role_wrong_kind", name=match.other_kind.name,
                      found_kind=match.other_kind.kind, kind=kind)
    raise _refuse(DATA_MISMATCH, "role_unknown_unit", name=name, kind=kind,
                  suggestions=list(match.suggestions))


async def _announce(app: App, session: AsyncSession, change: str, asn_id: int, role: str,
                    unit_id: int | None, unit_name: str | None, now: datetime) -> bool:
    """Audit a role "granted" or "revoked" and tell the ASN in their chat; False when they
    have linked none."""
    await SqlAuditRepository(session).record(
        f"role.{change}", actor_asn_id=None, channel="cli", subject=f"asn:{asn_id}",
        details={"role": role, "unit_id": unit_id}, now=now,
    )
    return await Notifier(app.renderer, app.cipher).queue_to_asn(
        session, asn_id, Reply(f"roles/{change}", {"role": role, "unit_name": unit_name}),
        "news", now,
    )


@dataclass(frozen=True, slots=True)
class _Asked:
    """The ASN and the role a grant or revoke names, found in the data."""

    role: str
    kind: str | None  # the kind of unit the role is held for; None for admin
    asn_id: int
    name: str
    own_unit: str
    now: datetime


@asynccontextmanager
async def _role_change(app: App, nip: str, role: str, unit: str | None, *,
                       unit_required: bool
                       ) -> AsyncIterator[tuple[AsyncSession, SqlRoleRepository, _Asked]]:
    """What grant and revoke check first (the role, its unit, the NIP), then the one
    transaction the change runs in: a refusal raised inside it rolls everything back."""
    wanted = _role(role)
    _check_unit_given(wanted, unit, required=unit_required)
    await app.migrate()
    now = app.clock()
    async with app.sessions.begin() as session:
        roles = SqlRoleRepository(session)
        asn_id, name, own_unit = await _asn(roles, nip)
        yield session, roles, _Asked(wanted, ROLE_UNIT_KIND[wanted], asn_id, name, own_unit,
                                     now)


@role_cli.command("grant")
def grant(nip: NipArgument, role: RoleArgument, unit: UnitOption = None) -> None:
    """Beri peran kepada ASN (koordinator OPD, camat, atau admin)."""

    async def work(app: App) -> int:
        async with _role_change(app, nip, role, unit, unit_required=True) as (
                session, roles, asked):
            target = (await _unit(roles, unit, asked.kind) if asked.kind and unit else None)
            unit_id = target.id if target else None
            unit_name = target.name if target else None
            facts = {"nip": nip.strip(), "name": asked.name, "role": asked.role,
                     "unit": unit_name}
            if not await roles.grant(asked.asn_id, asked.role, unit_id, asked.now):
                say("role_already", **facts)
                return OK
            told = await _announce(app, session, "granted", asked.asn_id, asked.role, unit_id,
                                   unit_name, asked.now)
        say("role_granted", **facts, told=told,
            other_opd=(asked.own_unit if asked.role == "coordinator"
                       and asked.own_unit != unit_name else None))
        return OK

    raise typer.Exit(with_app(work))


@role_cli.command("revoke")
def revoke(nip: NipArgument, role: RoleArgument, unit: UnitOption = None) -> None:
    """Cabut peran ASN (tanpa --unit: untuk semua unitnya)."""

    async def work(app: App) -> int:
        async with _role_change(app, nip, role, unit, unit_required=False) as (
                session, roles, asked):
            held = [held for held in await roles.roles_of(asked.asn_id)
                    if held.role == asked.role]
            if asked.kind is not None and unit is not None:
                target = await _unit(roles, unit, asked.kind)
                held = [held for held in held if held.unit_id == target.id]
                names = [target.name]
            else:
                names = [held.unit_name for held in held if held.unit_name]
            facts = {"nip": nip.strip(), "name": asked.name, "role": asked.role,
                     "units": names}
            if not held:
                say("role_not_held", **facts)
                return OK
            told = False
            for item in held:
                await roles.revoke(asked.asn_id, asked.role, item.unit_id)
                told = await _announce(app, session, "revoked", asked.asn_id, asked.role,
                                       item.unit_id, item.unit_name, asked.now)
            facts["units"] = [item.unit_name for item in held if item.unit_name]
        say("role_revoked", **facts, told=told)
        return OK

    raise typer.Exit(with_app(work))


@role_cli.command("list")
def list_roles(
    unit: UnitOption = None,
    role: Annotated[str | None, typer.Option("--role", help="Hanya peran ini.")] = None,
) -> None:
    """Daftar pemegang peran (boleh disaring menurut unit atau peran)."""

    async def work(app: App) -> int:
        wanted = _role(role) if role is not None else None
        await app.migrate()
        async with app.sessions() as session:
            roles = SqlRoleRepository(session)
            unit_id = None
            if unit is not None:
                kind = ROLE_UNIT_KIND.get(wanted or "") or "opd"
                found = await roles.find_unit(unit, kind)
                target = found.unit or found.other_kind
                if target is None:
                    raise _refuse(DATA_MISMATCH, "role_unknown_unit", name=unit, kind=kind,
                                  suggestions=list(found.suggestions))
                unit_id = target.id
            holders = await roles.holders(wanted, unit_id)
        say("role_list", holders=holders)
        return OK

    raise typer.Exit(with_app(work))
