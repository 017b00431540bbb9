"""Roles beyond plain ASN (coordinator of an OPD, camat of a kecamatan, admin), where their
holders are reached, and the group chats linked to a unit.

The chat asks `holds` on every update of a role's conversation, so revoking a role stops it
at the very next message; the command line grants, revokes and lists.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows import roles
from storage.chats import SqlChats
from storage.interfaces import Address, RoleView
from storage.models import Asn, Chat, Role, Unit
from storage.reminders import recipients

# "Kecamatan Patebon", "Kec. Patebon" and "patebon" name the same kecamatan.
_KECAMATAN_PREFIX = re.compile(r"^\s*(kecamatan|kec\.?)\s+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit as the command line names it."""

    id: int
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class RoleHolder:
    """One row of `asn-peduli role list`."""

    nip: str
    name: str
    role: str
    unit_name: str | None
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class UnitMatch:
    """What a typed unit name found: the unit, or why not (and names close to it)."""

    unit: UnitRef | None
    other_kind: UnitRef | None = None  # the name is a unit of the other kind
    suggestions: tuple[str, ...] = ()


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


# Asked at every main menu: built once (see storage.statements).
_ROLES_OF = (select(Role.role, Role.unit_id, Unit.name)
             .outerjoin(Unit, Unit.id == Role.unit_id)
             .where(Role.asn_id == bindparam("asn_id"))
             .order_by(Role.role, Unit.name))


class SqlRoleRepository:
    """RoleRepository over one session; also what the command line needs."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- what the chat asks ------------------------------------------------------------

    async def roles_of(self, asn_id: int) -> list[RoleView]:
        rows = await self._session.execute(_ROLES_OF, {"asn_id": asn_id})
        return [RoleView(role, unit_id, unit_name) for role, unit_id, unit_name in rows]

    async def holds(self, asn_id: int, role: str, unit_id: int | None) -> bool:
        unit = Role.unit_id.is_(None) if unit_id is None else Role.unit_id == unit_id
        found = await self._session.scalar(
            select(Role.id).where(Role.asn_id == asn_id, Role.role == role, unit).limit(1)
        )
        return found is not None

    async def coordinator_addresses(self, unit_id: int) -> list[Address]:
        """The chats of the unit's coordinators (their latest linked account each)."""
        holders = (await self._session.scalars(
            select(Role.asn_id).where(Role.role == roles.Role.COORDINATOR, Role.unit_id == unit_id)
            .order_by(Role.asn_id)
        )).all()
        found = await recipients(self._session, holders)
        return [Address(found[asn_id].address.channel, found[asn_id].address.chat_id)
                for asn_id in holders if asn_id in found]

    async def address_of_asn(self, asn_id: int) -> Address | None:
        found = await SqlChats(self._session).address_of_asn(asn_id)
        return Address(found.channel, found.chat_id) if found else None

    async def link_group(
        self, channel: str, chat_id: str, unit_id: int, asn_id: int, now: datetime
    ) -> int | None:
        """Link a group chat to a unit (replacing an earlier link); the unit it was linked
        to before, if any. The group's title is kept as the transport gave it (none yet)."""
        previous = await self._session.scalar(
            select(Chat.unit_id).where(Chat.channel == channel, Chat.chat_id == chat_id)
        )
        await SqlChats(self._session).link_group(channel, chat_id, unit_id, asn_id, now)
        return previous

    # --- what the command line does ----------------------------------------------------

    async def asn_by_nip(self, nip: str) -> tuple[int, str, str] | None:
        """(id, name, OPD name) of the ASN with this NIP."""
        row = (await self._session.execute(
            select(Asn.id, Asn.name, Unit.name).join(Unit, Unit.id == Asn.unit_id)
            .where(Asn.nip == nip)
        )).first()
        return (row[0], row[1], row[2]) if row else None

    async def find_unit(self, name: str, kind: str) -> UnitMatch:
        """The unit of `kind` with this name (case and spacing ignored; a kecamatan also
        without its "Kecamatan" prefix), else the unit of another kind so named, else the
        closest names of the right kind."""
        wanted = _normalise(name)
        if kind == roles.UnitKind.KECAMATAN:
            wanted = _normalise(_KECAMATAN_PREFIX.sub("", name))
        rows = (await self._session.execute(select(Unit.id, Unit.kind, Unit.name))).all()
        units = [UnitRef(*row) for row in rows]
        for unit in units:
            if unit.kind == kind and _normalise(unit.name) == wanted:
                return UnitMatch(unit)
        bare = _normalise(_KECAMATAN_PREFIX.sub("", name))
        for unit in units:
            if unit.kind != kind and _normalise(unit.name) in {_normalise(name), bare}:
                return UnitMatch(None, other_kind=unit)
        names = {_normalise(unit.name): unit.name for unit in units if unit.kind == kind}
        close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
        if not close:  # a part of the name typed ("kesehatan"), not a misspelling
            close = [key for key in names if wanted and wanted in key][:3]
        return UnitMatch(None, suggestions=tuple(names[key] for key in close))

    async def grant(self, asn_id: int, role: str, unit_id: int | None, now: datetime) -> bool:
        """False when the ASN already holds this role for this unit (nothing changes)."""
        if await self.holds(asn_id, role, unit_id):
            return False
        self._session.add(Role(asn_id=asn_id, role=role, unit_id=unit_id, granted_at=now))
        await self._session.flush()
        return True

    async def revoke(self, asn_id: int, role: str, unit_id: int | None) -> bool:
        """False when there was nothing to revoke."""
        unit = Role.unit_id.is_(None) if unit_id is None else Role.unit_id == unit_id
        result = await self._session.execute(
            delete(Role).where(Role.asn_id == asn_id, Role.role == role, unit)
        )
        return bool(getattr(result, "rowcount", 0))

    async def holders(self, role: str | None = None, unit_id: int | None = None
                      ) -> list[RoleHolder]:
        query = (
            select(Asn.nip, Asn.name, Role.role, Unit.name, Role.granted_at)
            .join(Asn, Asn.id == Role.asn_id)
            .outerjoin(Unit, Unit.id == Role.unit_id)
            .order_by(Role.role, Unit.name, Asn.name)
        )
        if role is not None:
            query = query.where(Role.role == role)
        if unit_id is not None:
            query = query.where(Role.unit_id == unit_id)
        return [RoleHolder(*row) for row in await self._session.execute(query)]
