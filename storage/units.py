"""Renaming and merging units (OPD and kecamatan): the rules, what a merge moves, and doing it.

A roster typo ("Dinas Kesehtan") becomes a unit of its own on import, a 39th OPD with the
ASN who were typed so; a reorganisation renames an office. These functions are what the
command line calls today and the web console will call later: each refuses what must not
happen with a `UnitChangeRefused` naming the reason, and changes nothing then.

A merge moves everything that points at the unit it ends: ASN (their OPD, or where they
live), roles (a role the same person already holds for the unit merged into is dropped,
not doubled), linked group chats, and for a kecamatan also the workers' address and the
camat's broadcasts. Kept monthly reports (report_snapshots) are history and keep the old
name. Both kinds never mix: an OPD is not a kecamatan.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.roles import UnitKind
from storage.models import Asn, Broadcast, Chat, Role, Unit, Worker
from storage.roles import UnitRef

NAME_LIMIT = 200  # units.name
LISTED = 50  # ASN named one by one in a merge's listing; the rest are counted


class UnitChangeRefused(ValueError):
    """A rename or merge that must not be done; `reason` names the rule (a template key)."""

    def __init__(self, reason: str, **facts: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.facts = facts


@dataclass(frozen=True, slots=True)
class MovedRole:
    asn_id: int
    nip: str
    name: str
    role: str
    dropped: bool  # already held for the unit merged into


@dataclass(frozen=True, slots=True)
class MovedGroup:
    channel: str
    chat_id: str
    title: str | None


@dataclass(frozen=True, slots=True)
class MergePlan:
    """What merging `source` into `target` moves (a dry run shows it; the merge does it)."""

    source: UnitRef
    target: UnitRef
    asn_total: int
    asn: tuple[tuple[str, str], ...]  # (NIP, name) of the first LISTED
    roles: tuple[MovedRole, ...] = ()
    groups: tuple[MovedGroup, ...] = ()
    workers: int = 0  # workers whose address is in the kecamatan
    broadcasts: int = 0

    def summary(self) -> dict[str, object]:
        """The merge's figures, as the audit log keeps them."""
        return {"from_id": self.source.id, "from_name": self.source.name,
                "into_id": self.target.id, "into_name": self.target.name,
                "kind": self.source.kind, "asn": self.asn_total,
                "roles_moved": sum(not role.dropped for role in self.roles),
                "roles_dropped": sum(role.dropped for role in self.roles),
                "groups": len(self.groups), "workers": self.workers,
                "broadcasts": self.broadcasts}


def tidy_name(name: str) -> str:
    """The name as it is kept: spaces tidied; UnitChangeRefused when empty or too long."""
    tidy = " ".join(name.split())
    if not tidy or len(tidy) > NAME_LIMIT or not any(ch.isalpha() for ch in tidy):
        raise UnitChangeRefused("unit_bad_name", name=name, limit=NAME_LIMIT)
    return tidy


async def find_units(session: AsyncSession, name: str, kind: str | None = None
                     ) -> list[UnitRef]:
    """The units so named (case and spacing ignored; a kecamatan also with "Kecamatan" or
    "Kec." before it), of `kind` when given; UnitChangeRefused("unit_unknown") with the
    closest names when there is none."""
    wanted = " ".join(name.split()).casefold()
    query = select(Unit.id, Unit.kind, Unit.name)
    if kind is not None:
        query = query.where(Unit.kind == kind)
    units = [UnitRef(*row) for row in await session.execute(query)]
    bare = wanted
    for prefix in ("kecamatan ", "kec. ", "kec "):
        bare = bare.removeprefix(prefix)
    found = [unit for unit in units
             if unit.name.casefold() == wanted
             or (unit.kind == UnitKind.KECAMATAN and unit.name.casefold() == bare)]
    if not found:
        names = {unit.name.casefold(): unit.name for unit in units}
        close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
        raise UnitChangeRefused("unit_unknown", name=name, kind=kind,
                                suggestions=[names[key] for key in close])
    return found


async def one_unit(session: AsyncSession, name: str, kind: str | None = None) -> UnitRef:
    """The one unit `name` names; UnitChangeRefused when none, or when an OPD and a
    kecamatan share it and no kind was given."""
    found = await find_units(session, name, kind)
    if len(found) > 1:
        raise UnitChangeRefused("unit_ambiguous", name=name,
                                kinds=sorted(unit.kind for unit in found))
    return found[0]


async def rename_unit(session: AsyncSession, unit: UnitRef, new_name: str) -> UnitRef:
    """Give `unit` a new name (another unit of its kind may not hold it: merge them
    instead). A kecamatan's new name is also written into its workers' addresses."""
    name = tidy_name(new_name)
    if name == unit.name:
        raise UnitChangeRefused("unit_same_name", name=name)
    taken = await session.scalar(
        select(Unit.name).where(Unit.kind == unit.kind, Unit.id != unit.id,
                                func.lower(Unit.name) == name.lower()))
    if taken is not None:
        raise UnitChangeRefused("unit_name_taken", name=taken, kind=unit.kind,
                                source=unit.name)
    await session.execute(update(Unit).where(Unit.id == unit.id).values(name=name))
    if unit.kind == UnitKind.KECAMATAN:
        await session.execute(update(Worker).where(Worker.kecamatan_id == unit.id)
                              .values(kecamatan_name=name))
    return UnitRef(unit.id, unit.kind, name)


async def merge_plan(session: AsyncSession, source: UnitRef, target: UnitRef) -> MergePlan:
    """What a merge of `source` into `target` would move; UnitChangeRefused when the two
    are one unit or of different kinds."""
    if source.id == target.id:
        raise UnitChangeRefused("unit_merge_same", name=source.name)
    if source.kind != target.kind:
        raise UnitChangeRefused("unit_kinds_differ", source=source.name,
                                source_kind=source.kind, target=target.name,
                                target_kind=target.kind)
    column = Asn.unit_id if source.kind == UnitKind.OPD else Asn.kecamatan_id
    asn_total = await session.scalar(
        select(func.count()).select_from(Asn).where(column == source.id)) or 0
    asn = tuple((nip, name) for nip, name in await session.execute(
        select(Asn.nip, Asn.name).where(column == source.id).order_by(Asn.name, Asn.nip)
        .limit(LISTED)))
    held = set((await session.execute(
        select(Role.asn_id, Role.role).where(Role.unit_id == target.id))).all())
    roles = tuple(
        MovedRole(asn_id, nip, name, role, (asn_id, role) in held)
        for asn_id, nip, name, role in await session.execute(
            select(Role.asn_id, Asn.nip, Asn.name, Role.role).join(Asn, Asn.id == Role.asn_id)
            .where(Role.unit_id == source.id).order_by(Role.role, Asn.name)))
    groups = tuple(MovedGroup(*row) for row in await session.execute(
        select(Chat.channel, Chat.chat_id, Chat.title).where(Chat.unit_id == source.id)
        .order_by(Chat.channel, Chat.chat_id)))
    workers = broadcasts = 0
    if source.kind == UnitKind.KECAMATAN:
        workers = await session.scalar(select(func.count()).select_from(Worker)
                                       .where(Worker.kecamatan_id == source.id)) or 0
        broadcasts = await session.scalar(select(func.count()).select_from(Broadcast)
                                          .where(Broadcast.unit_id == source.id)) or 0
    return MergePlan(source, target, asn_total, asn, roles, groups, workers, broadcasts)


async def merge_units(session: AsyncSession, source: UnitRef, target: UnitRef) -> MergePlan:
    """Move everything of `source` to `target` and remove `source`, in the caller's
    transaction; the plan that was carried out."""
    plan = await merge_plan(session, source, target)
    if source.kind == UnitKind.OPD:
        await session.execute(update(Asn).where(Asn.unit_id == source.id)
                              .values(unit_id=target.id))
    else:
        await session.execute(update(Asn).where(Asn.kecamatan_id == source.id)
                              .values(kecamatan_id=target.id))
        await session.execute(update(Worker).where(Worker.kecamatan_id == source.id)
                              .values(kecamatan_id=target.id, kecamatan_name=target.name))
        await session.execute(update(Broadcast).where(Broadcast.unit_id == source.id)
                              .values(unit_id=target.id))
    for moved in plan.roles:
        if moved.dropped:  # the same person already holds it for the target: not twice
            await session.execute(delete(Role).where(
                Role.unit_id == source.id, Role.role == moved.role,
                Role.asn_id == moved.asn_id))
    await session.execute(update(Role).where(Role.unit_id == source.id)
                          .values(unit_id=target.id))
    await session.execute(update(Chat).where(Chat.unit_id == source.id)
                          .values(unit_id=target.id))
    await session.execute(delete(Unit).where(Unit.id == source.id))
    return plan


async def unit_list(session: AsyncSession, kind: str | None = None
                    ) -> list[tuple[UnitRef, int]]:
    """Every unit (of `kind`) with its number of ASN, by kind then name: where a typo shows
    as a near-twin with a handful of ASN."""
    counts: dict[int, int] = {}
    for column in (Asn.unit_id, Asn.kecamatan_id):
        counts.update({unit_id: count for unit_id, count in await session.execute(
            select(column, func.count()).where(column.is_not(None)).group_by(column))})
    query = select(Unit.id, Unit.kind, Unit.name).order_by(Unit.kind, Unit.name)
    if kind is not None:
        query = query.where(Unit.kind == kind)
    return [(UnitRef(*row), counts.get(row[0], 0)) for row in await session.execute(query)]
