"""The files the office's tools read and write, as a person would open them: a CSV BPJS
returns, the CSV and XLSX exports read back cell by cell, and month values the way the
command line takes them and openpyxl returns them."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook


def month(text: str) -> date:
    """The first day of a month written "YYYY-MM", as the command line takes it."""
    year, number = text.split("-")
    return datetime(int(year), int(number), 1).date()


def sep(month_number: int) -> datetime:
    """A month cell of 2025 as openpyxl reads it back."""
    return datetime(2025, month_number, 1)


def write_csv(path: Path, lines: list[str]) -> Path:
    """A UTF-8 CSV file of `lines`, as an office writes one by hand."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_rows(path: Path) -> list[list[str]]:
    """An exported CSV's rows, after checking it opens in Excel (a BOM, CRLF line ends)."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    assert b"\r\n" in raw
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def sheet_rows(path: Path, title: str) -> list[tuple]:
    """The values of one sheet of a workbook, row by row."""
    workbook = load_workbook(path)
    try:
        return [tuple(row) for row in workbook[title].iter_rows(values_only=True)]
    finally:
        workbook.close()


def payroll_table(path: Path, title: str) -> tuple[list[str], tuple, list[tuple], tuple]:
    """An XLSX list's sheet as its parts: the heading lines, the header, the rows, the TOTAL
    row (the last)."""
    rows = sheet_rows(path, title)
    start = next(index for index, row in enumerate(rows) if row[0] == "NIP")
    heading = [row[0] for row in rows[:start] if row[0] is not None]
    return heading, rows[start], rows[start + 1:-1], rows[-1]
