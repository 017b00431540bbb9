"""`asn-peduli bpjs import FILE`: BPJS Ketenagakerjaan's answer to a registration batch.

The file is the batch returned with its results (CSV or XLSX): each row names an enrolment by
`referensi` (the enrolment id the batch carries) or by `nik`, and gives a `status`
("terdaftar"/"registered" or "ditolak"/"rejected"), the `no_kpj` of a registered worker and,
optionally, the `alasan` of a rejection. Headers are matched ignoring case and spacing, with
the usual other spellings (No. KPJ, Nomor Peserta, Keterangan ...).

- A registered row moves a verified enrolment to "registered" with its KPJ number and time;
  a rejected row moves it to "rejected" with the reason. The ASN is told in their chat
  (news/bpjs_registered, news/bpjs_rejected) and each change is audited.
- Salary months already listed for the enrolment that paid for no cover become refunds
  (flows/payroll.py): all of them when BPJS refuses the worker, those before the first month
  deducted when BPJS registers one (lists made before the rule deducted from the agreement).
  The ASN's message names the months and the total to be given back; the next payroll list
  carries them to the treasurer; each refund is audited.
- A row without a status (BPJS has not answered yet) is left as it is and counted.
- Every other row is refused with its line and reason (a NIK only masked), and the good rows
  are still taken. The same file imported twice changes nothing the second time: an
  enrolment already in the state the row asks for is "unchanged" and nobody is told again.
- Everything happens in one transaction: a failure half-way leaves the database as it was.
- Exit code 0 when every row was taken, 1 when some were refused, 2 when the file is unusable.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy.ext.asyncio import AsyncSession

from admin.cli_output import progress_bar, say
from admin.imports import (
    SCIENTIFIC,
    CsvFile,
    ImportTotals,
    UnusableFile,
    column_positions,
    header_key,
    import_and_tell,
    shown_cell,
)
from bot.app import App
from bot.notify import Notifier
from flows.enrollment_status import COVERED_STATUSES, EnrollmentStatus
from flows.events import Reply
from flows.masking import mask_nik
from flows.nik import NIK_LENGTH, InvalidNik, parse_nik
from flows.payroll import REFUND_BEFORE_COVER, REFUND_REJECTED, first_deducted_month
from flows.time_zone import JAKARTA
from storage import reports as store
from storage.audit import SqlAuditRepository
from storage.refunds import record_refunds
from storage.reminders import Recipient, recipients

ALIASES = {
    "referensi": "referensi", "no_referensi": "referensi", "nomor_referensi": "referensi",
    "ref": "referensi", "reference": "referensi", "id_pendaftaran": "referensi",
    "enrollment_id": "referensi", "enrolment_id": "referensi", "id": "referensi",
    "nik": "nik", "no_nik": "nik", "nomor_nik": "nik", "nik_ktp": "nik",
    "no_kpj": "no_kpj", "kpj": "no_kpj", "nomor_kpj": "no_kpj", "kpj_number": "no_kpj",
    "no_peserta": "no_kpj", "nomor_peserta": "no_kpj",
    "status": "status", "hasil": "status", "status_pendaftaran": "status", "result": "status",
    "alasan": "alasan", "reason": "alasan", "keterangan": "alasan", "catatan": "alasan",
    "alasan_penolakan": "alasan",
}
REGISTERED_WORDS = {"terdaftar", "registered", "berhasil", "sukses", "success", "diterima",
                    "accepted", "aktif", "active", "ok"}
REJECTED_WORDS = {"ditolak", "rejected", "tolak", "gagal", "failed", "refused", "rejection"}
KPJ_DIGITS = (8, 20)
REASON_LIMIT = 500  # the width of enrollments.rejection_reason

_SEPARATORS = re.compile(r"[\s.\-]")


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    numeric: bool = False  # an XLSX number, or a CSV cell in Excel's scientific form


@dataclass(slots=True)
class Problem:
    line: int
    reason: dict[str, Any]


@dataclass(slots=True)
class Totals(ImportTotals[Problem]):
    """What one `bpjs import` did, for the summary the admin reads and the audit row."""

    registered: int = 0
    rejected: int = 0
    unchanged: int = 0
    pending: int = 0
    told: int = 0
    not_told: int = 0
    refunded: int = 0  # enrolments with months to give back
    refund_months: int = 0
    refund_total: int = 0


@dataclass(frozen=True, slots=True)
class Result:
    """A row that passed the checks of its own cells."""

    line: int
    outcome: str  # registered | rejected
    enrollment_id: int | None
    nik: str | None
    nik_numeric: bool
    kpj_number: str | None
    reason: str | None


def _cell(value: object) -> Cell:
    if value is None:
        return Cell("")
    if isinstance(value, bool):
        return Cell(str(value))
    if isinstance(value, int):
        return Cell(str(value), numeric=True)
    if isinstance(value, float):
        return Cell(str(int(value)) if value.is_integer() else repr(value), numeric=True)
    text = " ".join(str(value).split())
    return Cell(text, numeric=bool(SCIENTIFIC.fullmatch(text)))


# --- reading the file -----------------------------------------------------------------------

def _csv_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    """Each record with its last line; a NUL anywhere makes the file unusable (not text)."""
    with CsvFile(path, "bpjs_unreadable") as records:
        for _, last, values in records:
            if any("\x00" in value for value in values):
                raise UnusableFile("bpjs_unreadable", path=str(path))
            yield last, [_cell(value) for value in values]


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    """The first sheet whose header names a status column (BPJS may add sheets)."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise UnusableFile("bpjs_unreadable", path=str(path)) from None
    try:
        chosen = workbook.worksheets[0] if workbook.worksheets else None
        for sheet in workbook.worksheets:
            header = next(sheet.iter_rows(max_row=1, values_only=True), ())
            if "status" in {header_key(value, ALIASES) for value in header}:
                chosen = sheet
                break
        if chosen is None:
            return
        for line, values in enumerate(chosen.iter_rows(values_only=True), start=1):
            yield line, [_cell(value) for value in values]
    finally:
        workbook.close()


def read_rows(path: Path) -> tuple[dict[str, int], list[tuple[int, dict[str, Cell]]]]:
    """The column positions and every non-blank row as {column: cell}, with its line."""
    try:
        with path.open("rb") as stream:
            start = stream.read(4)
    except OSError:
        raise UnusableFile("bpjs_unreadable", path=str(path)) from None
    # Read whole (results files are small), so the file is closed before any check.
    rows = list(_xlsx_rows(path) if start == b"PK\x03\x04" else _csv_rows(path))
    if not rows:
        raise UnusableFile("bpjs_empty", path=str(path))
    header = rows[0]
    columns = column_positions((cell.text for cell in header[1]), ALIASES)
    missing = []
    if "status" not in columns:
        missing.append("status")
    if "referensi" not in columns and "nik" not in columns:
        missing.append("referensi / nik")
    if missing:
        found = [cell.text for cell in header[1] if cell.text]
        raise UnusableFile("bpjs_missing_columns", path=str(path), missing=missing,
                           found=found)
    wanted = [(name, columns[name]) for name in ("referensi", "nik", "no_kpj", "status",
                                                 "alasan") if name in columns]
    body = []
    for line, cells in rows[1:]:
        if not any(cell.text for cell in cells):
            continue
        body.append((line, {name: cells[index] if index < len(cells) else Cell("")
                            for name, index in wanted}))
    return columns, body


# --- checking a row -------------------------------------------------------------------------

def _shown_nik(text: str) -> str:
    digits = _SEPARATORS.sub("", text)
    return mask_nik(digits) if len(digits) == NIK_LENGTH and digits.isdigit() else "••••"


def check_row(line: int, cells: dict[str, Cell]) -> Result | Problem | None:
    """A Result to apply, a Problem to list, or None for a row BPJS has not answered."""
    empty = Cell("")
    status_text = cells.get("status", empty).text.strip().lower()
    if not status_text:
        return None
    if status_text in REGISTERED_WORDS:
        outcome = EnrollmentStatus.REGISTERED
    elif status_text in REJECTED_WORDS:
        outcome = EnrollmentStatus.REJECTED
    else:
        return Problem(line, {"code": "status_unknown",
                              "value": shown_cell(cells["status"].text, 40)})
    enrollment_id = None
    reference = cells.get("referensi", empty)
    if reference.text:
        if not reference.text.isdigit():
            return Problem(line, {"code": "reference_invalid",
                                  "value": shown_cell(reference.text, 40)})
        enrollment_id = int(reference.text)
    nik = None
    nik_cell = cells.get("nik", empty)
    if nik_cell.text:
        if SCIENTIFIC.fullmatch(nik_cell.text):
            return Problem(line, {"code": "nik_scientific"})
        try:
            nik = parse_nik(nik_cell.text).value
        except InvalidNik:
            return Problem(line, {"code": "nik_invalid", "nik": _shown_nik(nik_cell.text)})
    if enrollment_id is None and nik is None:
        return Problem(line, {"code": "no_reference"})
    kpj = None
    kpj_cell = cells.get("no_kpj", empty)
    if outcome == EnrollmentStatus.REGISTERED:
        if not kpj_cell.text:
            return Problem(line, {"code": "kpj_missing"})
        if SCIENTIFIC.fullmatch(kpj_cell.text):
            return Problem(line, {"code": "kpj_scientific"})
        kpj = _SEPARATORS.sub("", kpj_cell.text)
        if not kpj.isdigit() or not KPJ_DIGITS[0] <= len(kpj) <= KPJ_DIGITS[1]:
            return Problem(line, {"code": "kpj_invalid", "value": shown_cell(kpj_cell.text, 40),
                                  "low": KPJ_DIGITS[0], "high": KPJ_DIGITS[1]})
    reason = " ".join(cells.get("alasan", empty).text.split())[:REASON_LIMIT] or None
    return Result(line, outcome, enrollment_id, nik, nik_cell.numeric, kpj,
                  reason if outcome == EnrollmentStatus.REJECTED else None)


# --- applying the results -------------------------------------------------------------------

class ResultApplier:
    """Moves enrolments on, tells each ASN, audits each change: in the caller's session."""

    def __init__(self, session: AsyncSession, app: App, totals: Totals) -> None:
        self._session = session
        self._app = app
        self._notifier = Notifier(app.renderer, app.cipher)
        self._audit = SqlAuditRepository(session)
        self._now = app.clock()
        self._totals = totals
        self._seen: dict[int, int] = {}
        self._addresses: dict[int, Recipient] = {}  # by ASN id, filled by resolve

    async def resolve(self, results: list[Result]
                      ) -> list[tuple[Result, store.ResultTarget | Problem]]:
        """Each result with the enrolment it names, looked up in batches."""
        by_id = await store.targets_by_id(
            self._session, [r.enrollment_id for r in results if r.enrollment_id is not None])
        hashes = {r.nik: self._app.cipher.nik_hash(r.nik) for r in results if r.nik}
        by_hash = await store.targets_by_nik_hash(self._session, hashes.values())
        self._addresses = await recipients(self._session, sorted(
            {target.asn_id for target in (*by_id.values(), *by_hash.values())}))
        resolved: list[tuple[Result, store.ResultTarget | Problem]] = []
        for result in results:
            resolved.append((result, self._target(result, by_id, by_hash, hashes)))
        return resolved

    @staticmethod
    def _target(result: Result, by_id: dict[int, store.ResultTarget],
                by_hash: dict[str, store.ResultTarget], hashes: dict[str, str]
                ) -> store.ResultTarget | Problem:
        masked = mask_nik(result.nik) if result.nik else None
        if result.enrollment_id is not None:
            target = by_id.get(result.enrollment_id)
            if target is None:
                return Problem(result.line, {"code": "reference_unknown",
                                             "value": result.enrollment_id})
            if result.nik is not None and hashes[result.nik] != target.nik_hash:
                return Problem(result.line, {"code": "nik_mismatch", "nik": masked,
                                             "value": result.enrollment_id})
            return target
        assert result.nik is not None
        target = by_hash.get(hashes[result.nik])
        if target is None:
            return Problem(result.line, {"code": "nik_unknown", "nik": masked,
                                         "numeric": result.nik_numeric})
        return target

    async def apply(self, result: Result, target: store.ResultTarget) -> Problem | None:
        first = self._seen.setdefault(target.enrollment_id, result.line)
        if first != result.line:
            return Problem(result.line, {"code": "duplicate", "first_line": first,
                                         "nik": target.nik_masked})
        if result.outcome == EnrollmentStatus.REGISTERED:
            return await self._registered(result, target)
        return await self._rejected(result, target)

    async def _registered(self, result: Result, target: store.ResultTarget) -> Problem | None:
        assert result.kpj_number is not None
        if target.status in COVERED_STATUSES:
            if target.kpj_number == result.kpj_number:
                self._totals.unchanged += 1
                return None
            return Problem(result.line, {"code": "kpj_differs", "nik": target.nik_masked})
        if target.status != EnrollmentStatus.VERIFIED:
            return self._wrong_status(result, target)
        await store.mark_registered(self._session, target.enrollment_id, result.kpj_number,
                                    self._now)
        await self._audit.record(
            "bpjs_registered", actor_asn_id=None, channel="cli",
            subject=f"enrollment:{target.enrollment_id}",
            details={"nik": target.nik_masked, "kpj_number": result.kpj_number},
            now=self._now,
        )
        assert target.first_month is not None  # a verified enrolment has its agreement
        first = first_deducted_month(target.first_month,
                                     self._now.astimezone(JAKARTA).date())
        refund = await self._refund(target, REFUND_BEFORE_COVER, before=first)
        await self._tell(target, Reply("news/bpjs_registered", {
            "worker": target.worker_name, "nik": target.nik_masked,
            "kpj_number": result.kpj_number, "deduction_from": first, "refund": refund}))
        self._totals.registered += 1
        return None

    async def _rejected(self, result: Result, target: store.ResultTarget) -> Problem | None:
        if target.status == EnrollmentStatus.REJECTED:
            self._totals.unchanged += 1
            return None
        if target.status != EnrollmentStatus.VERIFIED:
            return self._wrong_status(result, target)
        await store.mark_rejected(self._session, target.enrollment_id, result.reason,
                                  self._now)
        await self._audit.record(
            "bpjs_rejected", actor_asn_id=None, channel="cli",
            subject=f"enrollment:{target.enrollment_id}",
            details={"nik": target.nik_masked, "reason": result.reason}, now=self._now,
        )
        refund = await self._refund(target, REFUND_REJECTED)
        await self._tell(target, Reply("news/bpjs_rejected", {
            "worker": target.worker_name, "nik": target.nik_masked,
            "bpjs_reason": result.reason, "refund": refund}))
        self._totals.rejected += 1
        return None

    async def _refund(self, target: store.ResultTarget, reason: str,
                      before: date | None = None) -> dict[str, Any] | None:
        """Record the listed months to give back, audit them; what the ASN's message says
        of them (None: nothing was taken)."""
        months = await record_refunds(self._session, target.enrollment_id, reason,
                                      self._now, before=before)
        if not months:
            return None
        total = sum(month.amount for month in months)
        await self._audit.record(
            "deduction_refund_recorded", actor_asn_id=None, channel="cli",
            subject=f"enrollment:{target.enrollment_id}",
            details={"reason": reason, "months": [f"{m.month:%Y-%m}" for m in months],
                     "total": total, "asn_id": target.asn_id},
            now=self._now,
        )
        self._totals.refunded += 1
        self._totals.refund_months += len(months)
        self._totals.refund_total += total
        taken = [month.month for month in months]
        return {"months": taken, "total": total, "consecutive": _consecutive(taken)}

    @staticmethod
    def _wrong_status(result: Result, target: store.ResultTarget) -> Problem:
        return Problem(result.line, {"code": "wrong_status", "outcome": result.outcome,
                                     "status": target.status, "nik": target.nik_masked})

    async def _tell(self, target: store.ResultTarget, reply: Reply) -> None:
        """Queue the news to the ASN's latest chat; counted as not told when they never
        linked one."""
        recipient = self._addresses.get(target.asn_id)
        if recipient is None:
            self._totals.not_told += 1
            return
        await self._notifier.queue(self._session, recipient.address, reply, "news", self._now)
        self._totals.told += 1


def _consecutive(months: list[date]) -> bool:
    """The months, oldest first, follow each other with no gap (one span to name)."""
    index = [month.year * 12 + month.month for month in months]
    return index == list(range(index[0], index[0] + len(index)))


async def import_results(app: App, path: Path) -> Totals:
    """Import the file in one transaction; what happened (its exit code among it)."""
    _, rows = read_rows(path)
    totals = Totals(rows=len(rows))
    if not rows:
        return totals
    results: list[Result] = []
    for line, cells in rows:
        checked = check_row(line, cells)
        if checked is None:
            totals.pending += 1
        elif isinstance(checked, Problem):
            totals.problems.append(checked)
        else:
            results.append(checked)
    async with app.sessions.begin() as session:
        applier = ResultApplier(session, app, totals)
        resolved = await applier.resolve(results)
        with progress_bar() as bar:
            task = bar.add_task(app.renderer.text("cli/bpjs_progress", {}),
                                total=len(resolved))
            for result, target in resolved:
                problem = (target if isinstance(target, Problem)
                           else await applier.apply(result, target))
                if problem is not None:
                    totals.problems.append(problem)
                bar.advance(task)
        await SqlAuditRepository(session).record(
            "bpjs_import", actor_asn_id=None, channel="cli", subject=None,
            details={"count": totals.rows, "registered": totals.registered,
                     "rejected": totals.rejected, "unchanged": totals.unchanged,
                     "pending": totals.pending, "refused": totals.refused,
                     "refund_months": totals.refund_months,
                     "refund_total": totals.refund_total},
            now=app.clock(),
        )
    totals.problems.sort(key=lambda problem: problem.line)
    return totals


async def import_results_file(app: App, path: Path) -> int:
    """`asn-peduli bpjs import`: import, tell the admin everything, return the exit code."""
    code, totals = await import_and_tell("bpjs", path, lambda: import_results(app, path))
    if totals is None:
        return code
    say("bpjs_summary", path=str(path), rows=totals.rows, registered=totals.registered,
        rejected=totals.rejected, unchanged=totals.unchanged, pending=totals.pending,
        refused=totals.refused, told=totals.told, not_told=totals.not_told,
        refunded=totals.refunded, refund_months=totals.refund_months,
        refund_total=totals.refund_total)
    return code
