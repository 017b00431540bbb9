"""`asn-peduli roster import FILE.csv`: the ASN roster from the personnel office's spreadsheet.

The file is what Excel writes in Indonesia (read by admin/imports.py), headers in any case. Columns
nip, nama, unit, no_hp are required; kecamatan and jabatan are optional, and when a column is
absent the value already stored for a known NIP is left as it is (an empty cell clears it).

The import is an upsert by NIP that can be run again and again: the same file twice changes
nothing. Each row is checked before it is written; a refused row is listed with its line number
and the reasons, with no personal data in full, and the good rows are still written. The exit
code tells a script what happened: 0 every row taken, 1 some refused, 2 the file could not be
used at all. All rows go in one transaction, so a failure half-way leaves the roster as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from admin.cli_output import progress_bar, say
from admin.imports import (
    SCIENTIFIC,
    CsvFile,
    ImportTotals,
    UnusableFile,
    column_positions,
    import_and_tell,
    shown_cell,
)
from bot.app import App
from flows.masking import mask_phone
from flows.nip import NIP_LENGTH, InvalidNip, normalise_nip, parse_nip
from flows.phone import InvalidPhone, to_e164
from flows.roles import UnitKind
from storage import roster_import as store

REQUIRED = ("nip", "nama", "unit", "no_hp")
OPTIONAL = ("kecamatan", "jabatan")
# Other spellings of the headers that personnel offices use.
ALIASES = {
    "nomor_hp": "no_hp", "no_handphone": "no_hp", "hp": "no_hp", "no_telp": "no_hp",
    "nomor_telepon": "no_hp", "nama_lengkap": "nama", "unit_kerja": "unit", "opd": "unit",
}
BATCH_SIZE = 1_000
NAME_LIMIT = 200  # the width of the name columns in storage/models.py
NEW_UNITS_SHOWN = 20

_KECAMATAN_PREFIX = re.compile(r"^(kecamatan|kec\.?)\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(slots=True)
class Problem:
    """A refused row: its line in the file and every reason found, as template data."""

    line: int
    reasons: list[dict[str, Any]]


@dataclass(slots=True)
class Totals(ImportTotals[Problem]):
    """What one `roster import` did, for the summary the admin reads."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    new_units: list[str] = field(default_factory=list)
    kecamatan_known: int = 0

    @property
    def taken(self) -> int:
        return self.added + self.updated + self.unchanged


@dataclass(slots=True)
class Checked:
    """A row that passed every check, its unit still a name (it may not exist yet)."""

    nip: str
    name: str
    unit: str
    phone: str
    kecamatan_id: int | None
    position: str | None


def clean(text: str) -> str:
    """Trim and collapse the spaces that spreadsheets accumulate inside cells."""
    return " ".join(text.split())


def unit_key(name: str) -> str:
    """Units are matched ignoring case and spacing: "DINAS  Kesehatan" is Dinas Kesehatan."""
    return clean(name).casefold()


def kecamatan_key(name: str) -> str:
    """Kecamatan match with or without the word: "Kec. Patebon", "KECAMATAN PATEBON"."""
    return _KECAMATAN_PREFIX.sub("", unit_key(name))


def masked_phone(text: str) -> str:
    """A phone that failed the check, masked like a valid one (+62812••••1234): the admin
    recognises the row, the output does not carry the number."""
    digits = "".join(char for char in text if char.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return mask_phone(f"+{digits}")


class RosterFile:
    """The CSV as rows of cells, its header mapped to our column names."""

    def __init__(self, path: Path) -> None:
        self._csv = CsvFile(path, "roster_unreadable")
        self.lines = self._csv.lines
        self._records = iter(self._csv)
        try:
            header = next(self._records, (1, 1, []))[2]
        except UnusableFile:
            self.close()
            raise
        self.columns = column_positions(header, ALIASES)
        missing = [name for name in REQUIRED if name not in self.columns]
        if missing:
            self.close()
            found = [clean(name) for name in header if clean(name)]
            raise UnusableFile("roster_missing_columns", path=str(path), missing=missing,
                               found=found)

    def __iter__(self) -> Iterator[tuple[int, int, dict[str, str]]]:
        """(first line, last line, {column: cell}) for every row that is not blank."""
        wanted = [name for name in (*REQUIRED, *OPTIONAL) if name in self.columns]
        positions = [(name, self.columns[name]) for name in wanted]
        for line, last, cells in self._records:
            if any(cell.strip() for cell in cells):
                yield line, last, {
                    name: cells[index] if index < len(cells) else "" for name, index in positions
                }

    def close(self) -> None:
        self._csv.close()


class RowChecker:
    """The per-row rules: NIP, phone, name, unit, kecamatan, a NIP twice in the file."""

    def __init__(self, kecamatan: dict[str, int], has_kecamatan: bool) -> None:
        self._kecamatan = kecamatan
        self._has_kecamatan = has_kecamatan
        self._first_line: dict[str, int] = {}

    def check(self, line: int, last_line: int, cells: dict[str, str]) -> Checked | Problem:
        reasons: list[dict[str, Any]] = []
        if last_line > line:
            # An unclosed quote swallows the lines after it into one cell: say so, loudly.
            reasons.append({"code": "multiline", "last_line": last_line})
            return Problem(line, reasons)
        if _CONTROL.search("".join(cells.values())):
            broken = [name for name, cell in cells.items() if _CONTROL.search(cell)]
            reasons.append({"code": "control_characters", "columns": broken})
            return Problem(line, reasons)
        nip = self._nip(line, cells["nip"], reasons)
        name = clean(cells["nama"])
        if not name:
            reasons.append({"code": "name_missing"})
        elif len(name) > NAME_LIMIT:
            reasons.append({"code": "name_too_long", "limit": NAME_LIMIT})
        unit = clean(cells["unit"])
        if not unit:
            reasons.append({"code": "unit_missing"})
        elif len(unit) > NAME_LIMIT:
            reasons.append({"code": "unit_too_long", "limit": NAME_LIMIT})
        phone = self._phone(cells["no_hp"], reasons)
        kecamatan_id = self._kecamatan_id(cells.get("kecamatan", ""), reasons)
        position = clean(cells.get("jabatan", "")) or None
        if position is not None and len(position) > NAME_LIMIT:
            reasons.append({"code": "position_too_long", "limit": NAME_LIMIT})
        if reasons or nip is None or phone is None:
            return Problem(line, reasons)
        return Checked(nip, name, unit, phone, kecamatan_id, position)

    def _nip(self, line: int, raw: str, reasons: list[dict[str, Any]]) -> str | None:
        if not raw.strip():
            reasons.append({"code": "nip_missing"})
            return None
        try:
            nip = parse_nip(raw).value
        except InvalidNip:
            value = normalise_nip(raw)
            digits = sum(char.isdigit() for char in value)
            if SCIENTIFIC.fullmatch(value):
                reasons.append({"code": "nip_scientific"})
            elif len(value) == NIP_LENGTH and digits == NIP_LENGTH:
                reasons.append({"code": "nip_birth_date"})
            else:
                reasons.append({"code": "nip_length", "digits": digits,
                                "other": digits != len(value)})
            return None
        first = self._first_line.setdefault(nip, line)
        if first != line:
            reasons.append({"code": "nip_duplicate", "first_line": first})
        return nip

    @staticmethod
    def _phone(raw: str, reasons: list[dict[str, Any]]) -> str | None:
        text = raw.strip()
        if not text:
            reasons.append({"code": "phone_missing"})
            return None
        try:
            return to_e164(text)
        except InvalidPhone:
            reasons.append({"code": "phone_invalid", "masked": masked_phone(text)})
            return None

    def _kecamatan_id(self, raw: str, reasons: list[dict[str, Any]]) -> int | None:
        name = clean(raw)
        if not self._has_kecamatan or not name:
            return None
        found = self._kecamatan.get(kecamatan_key(name))
        if found is None:
            reasons.append({"code": "kecamatan_unknown", "name": shown_cell(name, 60)})
        return found


class RosterWriter:
    """Writes checked rows in batches, creating the OPD they name when needed."""

    def __init__(self, session: AsyncSession, app: App, opd: dict[str, int],
                 has_kecamatan: bool, has_position: bool, totals: Totals) -> None:
        self._session = session
        self._now = app.clock()
        self._opd = opd
        self._has_kecamatan = has_kecamatan
        self._has_position = has_position
        self._totals = totals

    async def write(self, batch: list[Checked]) -> None:
        """Upsert one batch of checked rows, counting what changed."""
        if not batch:
            return
        new: dict[str, str] = {}
        for row in batch:
            key = unit_key(row.unit)
            if key not in self._opd:
                new.setdefault(key, row.unit)
        if new:
            created = await store.ensure_units(
                self._session, UnitKind.OPD, {name: None for name in new.values()}
            )
            for key, name in new.items():
                self._opd[key] = created[name]
            self._totals.new_units.extend(new.values())
        counts = await store.upsert_asn(
            self._session,
            [
                store.RosterRow(
                    nip=row.nip, name=row.name, unit_id=self._opd[unit_key(row.unit)],
                    phone=row.phone, kecamatan_id=row.kecamatan_id, position=row.position,
                )
                for row in batch
            ],
            self._now,
            with_kecamatan=self._has_kecamatan,
            with_position=self._has_position,
        )
        self._totals.added += counts.added
        self._totals.updated += counts.updated
        self._totals.unchanged += counts.unchanged


async def import_roster(app: App, path: Path) -> Totals:
    """Import the file; what happened (its exit code among it), for the caller to report."""
    roster = RosterFile(path)
    totals = Totals()
    try:
        has_kecamatan = "kecamatan" in roster.columns
        has_position = "jabatan" in roster.columns
        async with app.sessions.begin() as session:
            opd: dict[str, int] = {}
            kecamatan: dict[str, int] = {}
            for unit in await store.units(session):
                if unit.kind == UnitKind.OPD:
                    opd.setdefault(unit_key(unit.name), unit.id)
                elif unit.kind == UnitKind.KECAMATAN:
                    kecamatan.setdefault(kecamatan_key(unit.name), unit.id)
            totals.kecamatan_known = len(kecamatan)
            checker = RowChecker(kecamatan, has_kecamatan)
            writer = RosterWriter(session, app, opd, has_kecamatan, has_position, totals)
            with progress_bar() as progress:
                description = app.renderer.text("cli/roster_progress", {})
                task = progress.add_task(description, total=max(roster.lines - 1, 0))
                batch: list[Checked] = []
                since_advance = 0
                for line, last_line, cells in roster:
                    totals.rows += 1
                    since_advance += 1
                    outcome = checker.check(line, last_line, cells)
                    if isinstance(outcome, Problem):
                        totals.problems.append(outcome)
                        continue
                    batch.append(outcome)
                    if len(batch) >= BATCH_SIZE:
                        await writer.write(batch)
                        batch = []
                        progress.advance(task, since_advance)
                        since_advance = 0
                await writer.write(batch)
                progress.update(task, completed=totals.rows, total=totals.rows)
    finally:
        roster.close()
    return totals


async def import_roster_file(app: App, path: Path) -> int:
    """`asn-peduli roster import`: import, tell the admin everything, return the exit code."""
    code, totals = await import_and_tell("roster", path, lambda: import_roster(app, path))
    if totals is None:
        return code
    if not totals.kecamatan_known and any(
        reason["code"] == "kecamatan_unknown"
        for problem in totals.problems for reason in problem.reasons
    ):
        say("roster_no_kecamatan")
    if totals.new_units:
        say("roster_new_units", names=totals.new_units, limit=NEW_UNITS_SHOWN)
    say("roster_summary", path=str(path), rows=totals.rows, taken=totals.taken,
          added=totals.added, updated=totals.updated, unchanged=totals.unchanged,
          refused=totals.refused)
    return code
