"""Bulk writes of the ASN roster and its units: the admin's CSV import and the demo data.

A roster file holds thousands to hundreds of thousands of rows, so rows go to the database in
batches with one dialect-specific `INSERT ... ON CONFLICT (nip) DO UPDATE` each (SQLite and
PostgreSQL spell it the same way through SQLAlchemy), and the rows that would not change are
left out, so that importing the same file twice writes nothing and moves no `updated_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, func, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import dialect_insert
from storage.models import Asn, Enrollment, Unit

# Well under SQLite's 32,766 and PostgreSQL's 32,767 bound parameters per statement.
LOOKUP_CHUNK = 1_000


@dataclass(frozen=True, slots=True)
class UnitRow:
    """A unit as stored: an OPD or a kecamatan."""

    id: int
    kind: str
    name: str
    code: str | None


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One ASN as the roster says they are; `kecamatan_id`/`position` may be left untouched."""

    nip: str
    name: str
    unit_id: int
    phone: str
    kecamatan_id: int | None = None
    position: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What one batch did: rows new to the roster, rows changed, rows already as given."""

    added: int
    updated: int
    unchanged: int


async def units(session: AsyncSession) -> list[UnitRow]:
    """Every unit; a roster has tens to a few thousand, so they fit in a dict."""
    rows = await session.execute(select(Unit.id, Unit.kind, Unit.name, Unit.code))
    return [UnitRow(*row) for row in rows]


async def ensure_units(
    session: AsyncSession, kind: str, names: Mapping[str, str | None]
) -> dict[str, int]:
    """Create the units of `kind` named in `names` (name -> code) that do not exist yet, keep
    the others as they are, and return the id of every one of them by its exact name."""
    if not names:
        return {}
    rows = [{"kind": kind, "name": name, "code": code} for name, code in names.items()]
    statement = dialect_insert(session, Unit.__table__).on_conflict_do_nothing(
        index_elements=["kind", "name"]
    )
    await session.execute(statement, rows)
    found: dict[str, int] = {}
    wanted = list(names)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start:start + LOOKUP_CHUNK]
        result = await session.execute(
            select(Unit.name, Unit.id).where(Unit.kind == kind, Unit.name.in_(chunk))
        )
        found.update({name: unit_id for name, unit_id in result})
    return found


async def asn_count(session: AsyncSession) -> int:
    """How many ASN the roster holds (zero on a fresh installation)."""
    return await session.scalar(select(func.count()).select_from(Asn)) or 0


def _with_nips(session: AsyncSession, query: Select[Any], nips: list[str]) -> Select[Any]:
    """`query` over `asn` kept to these NIPs.

    PostgreSQL: a join to unnest(ARRAY[...]) rather than `nip IN ($1, ... $1000)`. Within an
    import's one transaction the planner still believes the table as small as it was at its
    last ANALYZE (a fresh roster: one row) and scans it whole, and with bound parameters it
    compares every row with each of the thousand NIPs in turn: 100,000 rows took minutes.
    The join costs one hash of the table at worst, and the unique index when the statistics
    are right. SQLite looks an IN list up through the index as it is.
    """
    if session.get_bind().dialect.name != "postgresql":
        return query.where(Asn.nip.in_(nips))
    wanted = (func.unnest(literal(nips, postgresql.ARRAY(String)))
              .table_valued("nip").render_derived(name="wanted"))
    return query.join(wanted, wanted.c.nip == Asn.nip)


async def asn_ids(session: AsyncSession, nips: Sequence[str]) -> dict[str, int]:
    """The row id of each of these NIPs that is on the roster."""
    found: dict[str, int] = {}
    for start in range(0, len(nips), LOOKUP_CHUNK):
        chunk = list(nips[start:start + LOOKUP_CHUNK])
        result = await session.execute(_with_nips(session, select(Asn.nip, Asn.id), chunk))
        found.update({nip: asn_id for nip, asn_id in result})
    return found


async def upsert_asn(
    session: AsyncSession,
    rows: Sequence[RosterRow],
    now: datetime,
    *,
    with_kecamatan: bool = True,
    with_position: bool = True,
) -> UpsertCounts:
    """Insert new NIPs, update the changed ones, skip the identical ones, in one statement.

    `with_kecamatan`/`with_position` False means the file had no such column: new rows get
    NULL there, and the value already stored for a known NIP is neither compared nor touched.
    Call with batches of about a thousand rows with distinct NIPs.
    """
    if not rows:
        return UpsertCounts(0, 0, 0)
    columns = ["name", "unit_id", "phone"]
    if with_kecamatan:
        columns.append("kecamatan_id")
    if with_position:
        columns.append("position")
    stored: dict[str, tuple[Any, ...]] = {}
    nips = [row.nip for row in rows]
    for start in range(0, len(nips), LOOKUP_CHUNK):
        chunk = nips[start:start + LOOKUP_CHUNK]
        result = await session.execute(_with_nips(
            session, select(Asn.nip, *(getattr(Asn, column) for column in columns)), chunk))
        stored.update({nip: tuple(values) for nip, *values in result})
    added = updated = 0
    changed: list[dict[str, Any]] = []
    for row in rows:
        values = tuple(getattr(row, column) for column in columns)
        before = stored.get(row.nip)
        if before == values:
            continue
        if before is None:
            added += 1
        else:
            updated += 1
        changed.append({
            "nip": row.nip, "name": row.name, "unit_id": row.unit_id, "phone": row.phone,
            "kecamatan_id": row.kecamatan_id if with_kecamatan else None,
            "position": row.position if with_position else None,
            "updated_at": now,
        })
    if changed:
        statement = dialect_insert(session, Asn.__table__)
        statement = statement.on_conflict_do_update(
            index_elements=["nip"],
            set_={column: statement.excluded[column] for column in (*columns, "updated_at")},
        )
        await session.execute(statement, changed)
    return UpsertCounts(added=added, updated=updated, unchanged=len(rows) - len(changed))


async def set_enrollment_statuses(
    session: AsyncSession, statuses: Iterable[tuple[int, str, str | None]]
) -> None:
    """Move enrolments on to (status, KPJ number), as a coordinator and BPJS would have;
    used to seed demo data, where no coordinator has verified anything yet."""
    for enrollment_id, status, kpj_number in statuses:
        await session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .values(status=status, kpj_number=kpj_number)
        )
