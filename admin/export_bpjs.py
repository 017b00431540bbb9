"""`asn-peduli export bpjs-batch`: verified enrolments for BPJS Ketenagakerjaan's BPU
registration, with the worker's NIK, birth date and phone IN FULL (BPJS cannot register a
participant without them). The file is therefore created with mode 0600 and the command says
so; it is meant to be sent to the BPJS branch and deleted.

The last three columns (no_kpj, status, alasan) are left empty for BPJS to fill in: the same
file, returned, is what `asn-peduli bpjs import` reads (by `referensi`, the enrolment id, or
by NIK).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from admin.cli_output import progress_bar
from admin.exports import PROGRESS_STEP, Column, open_table, output_format
from bot.app import App
from flows.nik import InvalidNik, parse_nik
from storage.audit import SqlAuditRepository
from storage.reports import BatchRow, batch_count, batch_rows

PROGRAM = "JKK+JKM"
COLUMNS = (
    Column("referensi", 11, "int"), Column("nik", 19), Column("nama_ktp", 30),
    Column("jenis_kelamin", 8), Column("tanggal_lahir", 13, "date"), Column("no_hp", 15),
    Column("alamat_desa", 24), Column("kecamatan", 20), Column("pekerjaan", 22),
    Column("program", 10), Column("iuran_per_bulan", 12, "rupiah"),
    Column("bulan_mulai", 10, "month"), Column("nip_pembayar", 21),
    Column("nama_pembayar", 30), Column("opd", 36), Column("no_kpj", 14),
    Column("status", 12), Column("alasan", 30),
)


@dataclass(frozen=True, slots=True)
class BatchExport:
    format: str
    rows: int


def _gender(nik: str) -> str:
    try:
        return "P" if parse_nik(nik).female else "L"
    except InvalidNik:
        return ""


def _local_phone(e164: str | None) -> str:
    """+6285712345678 as the 085712345678 that Indonesian forms ask for."""
    if not e164:
        return ""
    return "0" + e164[3:] if e164.startswith("+62") else e164


def batch_values(row: BatchRow, occupation: str) -> list[object]:
    return [
        row.enrollment_id, row.nik, row.name, _gender(row.nik), row.birth_date,
        _local_phone(row.phone), row.desa, row.kecamatan, occupation, PROGRAM,
        row.monthly_premium, row.first_month, row.asn_nip, row.asn_name, row.unit_name,
        None, None, None,
    ]


async def export_bpjs_batch(app: App, path: Path, progress_label: str) -> BatchExport:
    """Write every verified enrolment and audit the export (a count, never a NIK)."""
    fmt = output_format(path, ("xlsx", "csv"))
    now = app.clock()
    occupations: dict[str, str] = {}

    def occupation(code: str) -> str:
        if code not in occupations:
            key = f"occupation_{code}"
            occupations[code] = (app.renderer.label(key)
                                 if key in app.renderer.label_keys() else code)
        return occupations[code]

    rows = 0
    async with app.sessions.begin() as session:
        expected = await batch_count(session)
        with progress_bar() as bar, open_table(path, COLUMNS, private=True,
                                                sheet_title="Pendaftaran BPU") as table:
            task = bar.add_task(progress_label, total=expected)
            async for row in batch_rows(session, app.cipher):
                table.append(batch_values(row, occupation(row.occupation)))
                rows += 1
                if rows % PROGRESS_STEP == 0:
                    bar.update(task, completed=rows)
            bar.update(task, completed=rows, total=rows)
        await SqlAuditRepository(session).record(
            "export_bpjs_batch", actor_asn_id=None, channel="cli", subject=None,
            details={"count": rows, "format": fmt, "full_nik": True}, now=now,
        )
    return BatchExport(fmt, rows)
