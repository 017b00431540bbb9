"""What the admin's two imports share (`roster import`, `bpjs import`): a CSV read as Excel in
Indonesia saves it, headers matched whatever their spelling, the exit codes, the error that
stops an import before it changes anything, and what the admin is told of an unusable, empty
or partly refused file.

Excel writes UTF-8 (with or without a BOM), Windows-1252 or UTF-16 ("Unicode Text"), separated
by commas, semicolons (the list separator of Indonesian regional settings) or tabs.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from admin.cli_output import say

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2

DELIMITERS = (";", ",", "\t")
ENCODINGS = ("utf-8-sig", "cp1252")
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # Excel's "Unicode Text"
# What Excel makes of a long number in a General column: 1,98503E+17, its digits lost.
SCIENTIFIC = re.compile(r"\d[,.]?\d*[eE]\+?\d+")
_LONG_DIGITS = re.compile(r"\d{5,}")


class UnusableFile(Exception):
    """The file cannot be imported at all; carries the template that explains why."""

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.context = context

    def tell(self) -> None:
        """Say why to the admin (cli/<template>)."""
        say(self.template, **self.context)


ProblemT = TypeVar("ProblemT")


@dataclass(slots=True)
class ImportTotals(Generic[ProblemT]):
    """The counts both imports keep: the rows read and the rows refused (with their line)."""

    rows: int = 0
    problems: list[ProblemT] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.problems)

    @property
    def exit_code(self) -> int:
        """2 for a file without rows, 1 when any row was refused, else 0."""
        if self.rows == 0:
            return EXIT_UNUSABLE
        return EXIT_REFUSED if self.problems else EXIT_OK


TotalsT = TypeVar("TotalsT", bound=ImportTotals[Any])


async def import_and_tell(name: str, path: Path, run: Callable[[], Awaitable[TotalsT]]
                          ) -> tuple[int, TotalsT | None]:
    """Run an import and tell the admin what every import tells: why the file is unusable,
    that it is empty, or which rows were refused (cli/<name>_empty, cli/<name>_problems).
    The totals come back only when there is a summary still to say."""
    try:
        totals = await run()
    except UnusableFile as unusable:
        unusable.tell()
        return EXIT_UNUSABLE, None
    if totals.rows == 0:
        say(f"{name}_empty", path=str(path))
        return totals.exit_code, None
    if totals.problems:
        say(f"{name}_problems", problems=totals.problems)
    return totals.exit_code, totals


def header_key(name: object, aliases: Mapping[str, str]) -> str:
    """ "No. HP", "NO_HP", "no hp" all give no_hp; then the other spellings in `aliases`."""
    key = re.sub(r"[^0-9a-z]+", "_", str(name or "").strip().lower()).strip("_")
    return aliases.get(key, key)


def column_positions(header: Iterable[object], aliases: Mapping[str, str]) -> dict[str, int]:
    """Each column's position by its key; of two columns with the same key, the first."""
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        columns.setdefault(header_key(name, aliases), index)
    return columns


def shown_cell(text: str, limit: int) -> str:
    """A refused cell as the admin reads it: cut to `limit` characters, or "••••" when it
    holds a long number (someone's NIK or phone in the wrong column is not echoed)."""
    return "••••" if _LONG_DIGITS.search(text) else text[:limit]


def _detect_encoding(path: Path, unreadable: str) -> tuple[str, int]:
    """The first encoding that decodes the whole file, and its number of lines (for the
    progress bar); read in chunks so that a large file is never held twice in memory."""
    try:
        with path.open("rb") as stream:
            start = stream.read(2)
    except OSError:
        raise UnusableFile(unreadable, path=str(path), line=None) from None
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
            raise UnusableFile(unreadable, path=str(path), line=None) from None
        return encoding, lines
    raise UnusableFile(unreadable, path=str(path), line=None)


class CsvFile:
    """A CSV streamed record by record, its encoding and separator found from the file.

    Iterating gives (first line, last line, cells) for every record, the header included; a
    record spans several lines only when a quoted cell holds line breaks. Anything that makes
    the file unreadable raises UnusableFile(`unreadable`, path=..., line=...).
    """

    def __init__(self, path: Path, unreadable: str) -> None:
        self.path = path
        self._unreadable = unreadable
        self.encoding, self.lines = _detect_encoding(path, unreadable)
        self._stream = path.open(encoding=self.encoding, newline="")
        first_line = self._stream.readline()
        self._stream.seek(0)
        if "\x00" in first_line:  # UTF-16 without its BOM, or not text at all
            self.close()
            raise UnusableFile(unreadable, path=str(path), line=1)
        counts = {delimiter: first_line.count(delimiter) for delimiter in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
        self._reader = csv.reader(self._stream, delimiter=delimiter)

    def __iter__(self) -> Iterator[tuple[int, int, list[str]]]:
        line = self._reader.line_num + 1
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error:
                # A cell beyond the csv module's size limit: the rest cannot be trusted.
                raise UnusableFile(self._unreadable, path=str(self.path), line=line) from None
            last = self._reader.line_num
            yield line, last, cells
            line = last + 1

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
