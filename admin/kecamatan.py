"""The region's kecamatan list: the enrolment offers it as buttons, the roster import and
the reports match ASN to it. Kendal's ships with the package; another region loads its own
with `asn-peduli roster kecamatan FILE.csv` (columns kode, nama)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import storage
from bot.app import App
from flows.roles import UnitKind
from storage import roster_import as store

KECAMATAN_CSV = Path(storage.__file__).parent / "data" / "kendal_kecamatan.csv"


@dataclass(frozen=True, slots=True)
class Kecamatan:
    """One kecamatan of the region as Kemendagri lists it: its code and its name."""

    code: str
    name: str

    @property
    def nik_region(self) -> str:
        """33.24.14 gives 332414, the first six digits of a NIK issued there."""
        return self.code.replace(".", "")


def read_kecamatan(path: Path = KECAMATAN_CSV) -> list[Kecamatan]:
    """A Kemendagri list: `kode` (33.24.14) and `nama` (Patebon)."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return [Kecamatan(row["kode"].strip(), row["nama"].strip())
                for row in csv.DictReader(stream) if row.get("nama", "").strip()]


async def load_kecamatan(app: App, path: Path = KECAMATAN_CSV) -> tuple[int, int]:
    """Add the kecamatan of the file that are missing; (in the file, newly added)."""
    items = read_kecamatan(path)
    async with app.sessions.begin() as session:
        before = {unit.name for unit in await store.units(session)
                  if unit.kind == UnitKind.KECAMATAN}
        await store.ensure_units(session, UnitKind.KECAMATAN, {k.name: k.code for k in items})
    return len(items), len({k.name for k in items} - before)
