"""`asn-peduli roster import FILE.csv`: the ASN roster from the personnel office's spreadsheet.

The file is what Excel writes in Indonesia: UTF-8 (with or without a BOM), Windows-1252 or
UTF-16 ("Unicode Text"), separated by commas, semicolons or tabs, headers in any case. Columns
nip, nama, unit, no_hp are required; kecamatan and jabatan are optional, and when a column is
absent the value already stored for a known NIP is left as it is (an empty cell clears it).

The import is an upsert by NIP that can be run again and again: the same file twice changes
nothing. Each row is checked before it is written; a refused row is listed with its line number
and the reasons, with no personal data in full, and the good rows are still written. The exit
code tells a script what happened: 0 every row taken, 1 some refused, 2 the file could not be
used at all. All rows go in one transaction, so a failure half-way leaves the roster as it was.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.cli_output import say
from flows.nip import NIP_LENGTH, InvalidNip, normalise_nip, parse_nip
from flows.phone import InvalidPhone, to_e164
from storage import roster_import as store
from storage.masking import mask_phone

REQUIRED = ("nip", "nama", "unit", "no_hp")
OPTIONAL = ("kecamatan", "jabatan")
# Other spellings of the headers that personnel offices use.
ALIASES = {
    "nomor_hp": "no_hp", "no_handphone": "no_hp", "hp": "no_hp", "no_telp": "no_hp",
    "nomor_telepon": "no_hp", "nama_lengkap": "nama", "unit_kerja": "unit", "opd": "unit",
}
DELIMITERS = (";", ",", "\t")
ENCODINGS = ("utf-8-sig", "cp1252")
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # Excel's "Unicode Text"
BATCH_SIZE = 1_000
NAME_LIMIT = 200  # the width of the name columns in storage/models.py
NEW_UNITS_SHOWN = 20

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2

_KECAMATAN_PREFIX = re.compile(r"^(kecamatan|kec\.?)\s+")
_DIGIT_RUN = re.compile(r"\d{5,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What Excel makes of an 18-digit number in a General column: 1,98503E+17.
_SCIENTIFIC = re.compile(r"\d[,]?\d*[eE]\+?\d+")


class UnusableFile(Exception):
    """The file cannot be imported at all; carries the template that explains why."""

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.context = context


@dataclass(slots=True)
class Problem:
    """A refused row: its line in the file and every reason found, as template data."""

    line: int
    reasons: list[dict[str, Any]]


@dataclass(slots=True)
class Checked:
    """A row that passed every check, its unit still a name (it may not exist yet)."""

    nip: str
    name: str
    unit: str
    phone: str
    kecamatan_id: int | None
    position: str | None


@dataclass(slots=True)
class Totals:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    kecamatan_known: int = 0

    @property
    def refused(self) -> int:
        return len(self.problems)

    @property
    def taken(self) -> int:
        return self.added + self.updated + self.unchanged


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


def header_key(name: str) -> str:
    """ "No. HP", "NO_HP", "no hp" all name the column no_hp."""
    key = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return ALIASES.get(key, key)


def _detect_encoding(path: Path) -> tuple[str, int]:
    """The first encoding that decodes the whole file, and its number of lines (for the
    progress bar); read in chunks so that a large file is never held twice in memory."""
    try:
        with path.open("rb") as stream:
            start = stream.read(2)
    except OSError:
        raise UnusableFile("roster_unreadable", path=str(path), line=None) from None
    for encoding in ("utf-16",) if start in UTF16_BOMS else ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 0
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    lines += decoder.decode(chunk).count("\n")
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        except OSError:
            raise UnusableFile("roster_unreadable", path=str(path), line=None) from None
        return encoding, lines
    raise UnusableFile("roster_unreadable", path=str(path), line=None)


class RosterFile:
    """The CSV as rows of cells, its header mapped to our column names."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.encoding, self.lines = _detect_encoding(path)
        self._stream = path.open(encoding=self.encoding, newline="")
        header_line = self._stream.readline()
        self._stream.seek(0)
        if "\x00" in header_line:  # UTF-16 without its BOM, or not text at all
            self.close()
            raise UnusableFile("roster_unreadable", path=str(path), line=1)
        counts = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
        self._reader = csv.reader(self._stream, delimiter=delimiter)
        try:
            header = next(self._reader, [])
        except csv.Error:
            self.close()
            raise UnusableFile("roster_unreadable", path=str(path), line=1) from None
        self.columns: dict[str, int] = {}
        for index, name in enumerate(header):
            self.columns.setdefault(header_key(name), index)
        missing = [name for name in REQUIRED if name not in self.columns]
        if missing:
            self.close()
            found = [clean(name) for name in header if clean(name)]
            raise UnusableFile("roster_missing_columns", path=str(path), missing=missing,
                               found=found)

    def __iter__(self) -> Iterator[tuple[int, int, dict[str, str]]]:
        """(first line, last line, {column: cell}) for every row that is not blank; a row
        spans several lines only when a quoted cell holds line breaks."""
        wanted = [name for name in (*REQUIRED, *OPTIONAL) if name in self.columns]
        positions = [(name, self.columns[name]) for name in wanted]
        line = self._reader.line_num + 1
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error:
                # A cell beyond the csv module's size limit: the rest cannot be trusted.
                raise UnusableFile("roster_unreadable", path=str(self.path), line=line
                                   ) from None
            last = self._reader.line_num
            if any(cell.strip() for cell in cells):
                yield line, last, {
                    name: cells[index] if index < len(cells) else "" for name, index in positions
                }
            line = last + 1

    def close(self) -> None:
        self._stream.close()


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
            if _SCIENTIFIC.fullmatch(value):
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
            # A cell holding a long number is someone's data in the wrong column: not echoed.
            shown = "••••" if _DIGIT_RUN.search(name) else name[:60]
            reasons.append({"code": "kecamatan_unknown", "name": shown})
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
                self._session, store.OPD, {name: None for name in new.values()}
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



def _progress() -> Progress:
    """A bar on the terminal's stderr; nothing when output goes to a file or a pipe."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=not console.is_terminal,
    )


async def import_roster(app: App, path: Path) -> tuple[int, Totals]:
    """Import the file; the exit code and what happened, for the caller to report."""
    roster = RosterFile(path)
    totals = Totals()
    try:
        has_kecamatan = "kecamatan" in roster.columns
        has_position = "jabatan" in roster.columns
        async with app.sessions.begin() as session:
            opd: dict[str, int] = {}
            kecamatan: dict[str, int] = {}
            for unit in await store.units(session):
                if unit.kind == store.OPD:
                    opd.setdefault(unit_key(unit.name), unit.id)
                elif unit.kind == store.KECAMATAN:
                    kecamatan.setdefault(kecamatan_key(unit.name), unit.id)
            totals.kecamatan_known = len(kecamatan)
            checker = RowChecker(kecamatan, has_kecamatan)
            writer = RosterWriter(session, app, opd, has_kecamatan, has_position, totals)
            with _progress() as progress:
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
    if totals.rows == 0:
        return EXIT_UNUSABLE, totals
    return (EXIT_REFUSED if totals.problems else EXIT_OK), totals


async def import_roster_file(app: App, path: Path) -> int:
    """`asn-peduli roster import`: import, tell the admin everything, return the exit code."""
    try:
        code, totals = await import_roster(app, path)
    except UnusableFile as unusable:
        say(unusable.template, **unusable.context)
        return EXIT_UNUSABLE
    if totals.rows == 0:
        say("roster_empty", path=str(path))
        return code
    if totals.problems:
        say("roster_problems", problems=totals.problems)
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
