"""How the admin's exports are written: XLSX (openpyxl) and CSV, atomically, with a progress
bar when the data is large.

- XLSX: openpyxl's write-only workbook (rows stream to the file, so 300,000 rows need little
  memory); optionally a few heading lines above the table (what it is, the period, the
  region); a bold, frozen header row with a filter over the rows; optionally a bold total row
  below them, outside the filter so that sorting leaves it last; column widths; numbers
  stored as numbers (rupiah with a thousands format, percentages as fractions with a 0.0%
  format), NIP and NIK as text so Excel never turns them into 1,98503E+17. Several tables
  can share a workbook (open_workbook), one sheet each.
- CSV: UTF-8 with a byte-order mark, because Excel reads a CSV without one as Windows-1252
  and breaks every non-ASCII name; separated by ";" because Excel takes its list separator
  from the Windows regional settings, and in Indonesian ones (id-ID) the decimal mark is ","
  and the list separator ";": a ";" file opens in columns there on a double click, a ","
  file opens as one column. Amounts are plain digits (no thousands mark), so they read as
  numbers in any locale; dates are DD-MM-YYYY, the order the Indonesian Excel expects.
- Atomic: the file is written under a temporary name in the same folder and renamed over
  the target at the end, so a reader (or a crash) never sees half a file. A file holding
  personal data in full is created with mode 0600 (owner only); the others get the usual
  mode (0666 less the umask).
- Text is never a formula: names and units come from rosters and chats, and a cell such as
  `=HYPERLINK("http://x","y")` would run when the file is opened (see `csv_text`,
  `xlsx_text`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

Kind = Literal["text", "int", "rupiah", "percent", "date", "month"]

CSV_DELIMITER = ";"
CSV_DATE = "%d-%m-%Y"
XLSX_FORMATS: dict[str, str] = {
    "int": "#,##0", "rupiah": "#,##0", "percent": "0.0%", "date": "DD-MM-YYYY",
    "month": "MM-YYYY", "text": "@",
}
PRIVATE_MODE = 0o600
PROGRESS_STEP = 1_000  # rows between two updates of the bar
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
# What makes Excel (and LibreOffice) read a cell as a formula: OWASP's CSV injection list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormatError(ValueError):
    """The output name ends in a suffix this export does not write."""


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    width: float
    kind: Kind = "text"


@dataclass(frozen=True, slots=True)
class Value:
    """One cell with its own kind, in a sheet whose rows mix kinds (the summary sheet)."""

    value: Any
    kind: Kind


@dataclass(frozen=True, slots=True)
class Sheet:
    """A small table written whole (the monthly report's sheets)."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]


def parse_month(text: str) -> date | None:
    """ "2025-09" gives 1 September 2025; anything else None."""
    found = _MONTH.match(text)
    if not found or not 1 <= int(found.group(2)) <= 12:
        return None
    return date(int(found.group(1)), int(found.group(2)), 1)


def output_format(path: Path, allowed: Sequence[str]) -> str:
    """ "xlsx" or "csv" from the file name; ExportFormatError for anything else."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise ExportFormatError(suffix)
    return suffix


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_file(path: Path, private: bool) -> Iterator[IO[bytes]]:
    """A binary stream whose content replaces `path` only when the block ends without error.

    mkstemp creates the temporary file with mode 0600 from the start, so private data is
    never readable by others, not even for a moment; a non-private file is opened up after.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=path.parent)
    try:
        os.fchmod(descriptor, PRIVATE_MODE if private else _default_mode())
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- text from the database is never a formula -----------------------------------------

def csv_text(text: str) -> str:
    """`text` as a CSV cell Excel shows as written, never runs.

    Excel takes a CSV cell that starts with = + - @ for a formula, and one that starts with
    a tab or carriage return may be trimmed into one: a roster name `=HYPERLINK(...)` would
    become a live link, `=cmd|...` a command. A leading apostrophe keeps it text (OWASP's
    advice); the apostrophe shows, the price of a name that really starts so. Only text
    goes through here: the numbers we write ourselves, negative ones too, stay numbers.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def xlsx_text(sheet: Any, text: str) -> str | Cell:
    """`text` as an XLSX cell that holds it literally: `text` itself when it is harmless.

    openpyxl turns a str starting with "=" into a formula and "#N/A" into an error value;
    this cell is a string whatever its text, and one that starts like a formula carries
    Excel's quote prefix, so that editing the cell in Excel does not turn it into one
    either. The text itself is unchanged: a reader of the file (bpjs import) gets it back.
    """
    if not text.startswith(FORMULA_STARTS) and text not in ERROR_CODES:
        return text
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    cell.quotePrefix = text.startswith(FORMULA_STARTS)
    return cell


class TableWriter(Protocol):
    def append(self, values: Sequence[Any]) -> None: ...

    def total(self, values: Sequence[Any]) -> None:
        """The table's last row, its sums: bold in an XLSX and outside its filter."""


class _XlsxTable:
    def __init__(self, sheet: Any, columns: Sequence[Column], header_row: int = 1) -> None:
        self._sheet = sheet
        self._formatted = [(index, XLSX_FORMATS[column.kind])
                           for index, column in enumerate(columns)
                           if column.kind in ("rupiah", "percent", "date", "month")]
        self._width = len(columns)
        self.header_row = header_row
        self.rows = 0

    def append(self, values: Sequence[Any]) -> None:
        self._sheet.append(self._cells(values))
        self.rows += 1

    def total(self, values: Sequence[Any]) -> None:
        cells = [cell if isinstance(cell, Cell) else WriteOnlyCell(self._sheet, cell)
                 for cell in self._cells(values)]
        for cell in cells:
            cell.font = Font(bold=True)
        self._sheet.append(cells)

    def filter_over_rows(self) -> None:
        """Excel's filter buttons on the header, over the rows (not a total below them)."""
        if self.rows:
            last = self.header_row + self.rows
            self._sheet.auto_filter.ref = (
                f"A{self.header_row}:{get_column_letter(self._width)}{last}")

    def _cells(self, values: Sequence[Any]) -> list[Any]:
        cells: list[Any] = [self._cell(value) if isinstance(value, Value)
                            else xlsx_text(self._sheet, value) if isinstance(value, str)
                            else value
                            for value in values]
        for index, number_format in self._formatted:
            if cells[index] is not None and not isinstance(cells[index], Cell):
                cell = WriteOnlyCell(self._sheet, cells[index])
                cell.number_format = number_format
                cells[index] = cell
        return cells

    def _cell(self, value: Value) -> Any:
        cell = WriteOnlyCell(self._sheet, value.value)
        cell.number_format = XLSX_FORMATS[value.kind]
        return cell


class _CsvTable:
    def __init__(self, stream: IO[str], columns: Sequence[Column]) -> None:
        self._writer = csv.writer(stream, delimiter=CSV_DELIMITER, lineterminator="\r\n")
        self._kinds = [column.kind for column in columns]
        self._writer.writerow([column.header for column in columns])
        self.rows = 0

    def append(self, values: Sequence[Any]) -> None:
        self._write(values)
        self.rows += 1

    def total(self, values: Sequence[Any]) -> None:
        self._write(values)

    def _write(self, values: Sequence[Any]) -> None:
        self._writer.writerow([_csv_cell(value, kind)
                               for value, kind in zip(values, self._kinds, strict=True)])


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "percent":
        return f"{value * 100:.1f}".replace(".", ",")  # a decimal comma, as id-ID reads it
    if kind == "month" and isinstance(value, date):
        return value.strftime("%m-%Y")
    if isinstance(value, date | datetime):
        return value.strftime(CSV_DATE)
    return csv_text(value) if isinstance(value, str) else str(value)


def _heading_cell(sheet: Any, text: str, bold: bool) -> Any:
    cell = xlsx_text(sheet, text)
    if not isinstance(cell, Cell):
        cell = WriteOnlyCell(sheet, cell)
    cell.font = Font(bold=bold)
    return cell


def _start_sheet(workbook: Workbook, title: str, columns: Sequence[Column],
                 heading: Sequence[str] = ()) -> Any:
    """A sheet with its column widths and a bold, frozen header row; above it the lines of
    `heading` (the first bold) and a blank row, when there are any."""
    sheet = workbook.create_sheet(title)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    header_row = len(heading) + 2 if heading else 1
    sheet.freeze_panes = f"A{header_row + 1}"
    for number, line in enumerate(heading):
        sheet.append([_heading_cell(sheet, line, bold=number == 0)])
    if heading:
        sheet.append([])
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, column.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    sheet.append(header)
    return sheet


class XlsxBook:
    """A workbook whose sheets are tables streamed one after the other."""

    def __init__(self) -> None:
        self._workbook = Workbook(write_only=True)
        self._tables: list[_XlsxTable] = []

    def table(self, title: str, columns: Sequence[Column], heading: Sequence[str] = ()
              ) -> TableWriter:
        sheet = _start_sheet(self._workbook, title, columns, heading)
        table = _XlsxTable(sheet, columns, header_row=len(heading) + 2 if heading else 1)
        self._tables.append(table)
        return table

    def save(self, stream: IO[bytes]) -> None:
        for table in self._tables:
            table.filter_over_rows()
        self._workbook.save(stream)


@contextmanager
def open_workbook(path: Path, private: bool) -> Iterator[XlsxBook]:
    """A workbook of streamed tables written atomically to `path` at the end."""
    output_format(path, ("xlsx",))
    with atomic_file(path, private) as stream:
        book = XlsxBook()
        yield book
        book.save(stream)


@contextmanager
def open_table(path: Path, columns: Sequence[Column], private: bool, sheet_title: str,
               heading: Sequence[str] = ()) -> Iterator[TableWriter]:
    """One table streamed to `path` (.xlsx or .csv), written atomically at the end.

    `heading` (a title, the period...) goes above the header of an XLSX only: a CSV's first
    line stays its header, which is what a program reading it expects."""
    fmt = output_format(path, ("xlsx", "csv"))
    if fmt == "xlsx":
        with open_workbook(path, private) as book:
            yield book.table(sheet_title, columns, heading)
        return
    with atomic_file(path, private) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        yield _CsvTable(text, columns)
        text.flush()
        text.detach()


def write_workbook(path: Path, sheets: Sequence[Sheet], private: bool = False) -> None:
    """A workbook of small tables, one sheet each, written atomically."""
    output_format(path, ("xlsx",))
    workbook = Workbook(write_only=True)
    for spec in sheets:
        sheet = _start_sheet(workbook, spec.title, spec.columns)
        table = _XlsxTable(sheet, spec.columns)
        for row in spec.rows:
            table.append(row)
    with atomic_file(path, private) as stream:
        workbook.save(stream)

