"""Privacy scan (issue 5): after a realistic session, no full NIK anywhere but the BPJS batch.

The session runs on a SQLite file with every logger at DEBUG: Budi identifies (after one
wrong contact), enrols two workers with known NIK, birth dates and phones, agrees to the
deduction; Sri tries one of the same NIK; the admin makes Budi coordinator with the command
line and he approves one enrolment; the sender delivers everything through a recording
transport; the admin exports the report, the payroll list (XLSX and CSV) and the BPJS batch
(CSV and XLSX). Then every log line, every outbox row as stored, every exported file (an
XLSX unzipped too), what the transport received, and the database file with its -wal and
-shm are searched for each NIK, birth date and worker's phone in plain text.

The BPJS batch must hold them in full (BPJS cannot register a worker otherwise), in a file
only its owner reads; everything else must not. The ASN's own phone is roster data kept in
clear for the lookup by design (DESIGN §3 lists NIK, birth date and the worker's phone as
the protected data); where it appears is checked against the places that are expected.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import stat
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import cli
from storage.models import DeductionAgreement
from tests.chat import ChatClient, texts
from tests.cli_support import point_cli_at
from tests.conftest import BUDI, SRI, make_settings, migrated_app


@dataclass(frozen=True)
class WorkerData:
    name: str
    nik: str
    born_typed: str  # as the ASN types it
    born: tuple[str, ...]  # every way the date could be written out in full
    phone_typed: str
    phone: tuple[str, ...]  # E.164, local and bare national digits


# Not the NIK and phones the templates give as examples, so a find is a leak, not an example.
SITI = WorkerData("Siti Aminah", "3324056303850003", "23-03-1985",
                  ("1985-03-23", "23-03-1985", "23/03/1985", "23.03.1985", "23 Maret 1985",
                   "23/3/1985"),
                  "0857-2222-3333", ("+6285722223333", "085722223333", "85722223333"))
ANDI = WorkerData("Andi Saputra", "3324051107920004", "11 Juli 1992",
                  ("1992-07-11", "11-07-1992", "11/07/1992", "11.07.1992", "11 Juli 1992",
                   "11/7/1992"),
                  "0813 4444 5555", ("+6281344445555", "081344445555", "81344445555"))
WORKERS = (SITI, ANDI)
# The ASN's own phones: roster data (see the module's docstring).
ASN_PHONES = tuple(person.phone[3:] for person in (BUDI, SRI))


class Recorder(logging.Handler):
    """Every record as a log file would hold it: message, traceback, stack."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def every_logger_at_debug() -> Iterator[Recorder]:
    """Root at DEBUG and every logger already made set to pass DEBUG on (levels restored
    afterwards), all of it recorded."""
    recorder = Recorder()
    root = logging.getLogger()
    loggers = [logger for logger in logging.root.manager.loggerDict.values()
               if isinstance(logger, logging.Logger)]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    saved_root = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(recorder)
    for logger in loggers:
        logger.setLevel(logging.NOTSET)
        logger.disabled = False
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(saved_root)
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled


async def enrol(client: ChatClient, worker: WorkerData, kecamatan: str) -> None:
    await client.press("➕ Daftarkan pekerja")
    await client.press("Tetangga")
    await client.send(worker.nik[:15])  # one digit short first: a typo
    await client.send(worker.nik)
    await client.send(worker.name)
    await client.send(worker.born_typed)
    await client.press("Petani")
    await client.send(worker.phone_typed)
    await client.press(kecamatan)
    await client.send("Kumpulrejo")
    await client.press("✅ Pekerja setuju")
    await client.press("💾 Simpan")
    await client.press("✅ Saya setuju")
    assert (await client.state())[0] == "Menu:main", client.last.text


def cli_run(*args: str) -> str:
    """One `asn-peduli` command, as the admin types it; its output."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def file_texts(path: Path) -> dict[str, bytes]:
    """A file's bytes, and for a workbook each member of the zip as well."""
    found = {path.name: path.read_bytes()}
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as workbook:
            for member in workbook.namelist():
                found[f"{path.name}!{member}"] = workbook.read(member)
    return found


def outbox_rows(database: Path) -> list[str]:
    """Every outbox row, every column, as SQLite stores it."""
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    return [" | ".join(str(value) for value in row) for row in rows]


def database_files(database: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes()
            for path in sorted(database.parent.glob(database.name + "*"))}


def where(secret: str, sources: dict[str, bytes]) -> list[str]:
    """The names of the sources holding `secret` (UTF-8 or UTF-16, as SQLite may store)."""
    forms = (secret.encode(), secret.encode("utf-16-le"))
    return sorted(name for name, raw in sources.items() if any(form in raw for form in forms))


async def test_no_full_nik_outside_the_bpjs_batch(tmp_path, monkeypatch):
    database = tmp_path / "asn.db"
    settings = make_settings(f"sqlite+aiosqlite:///{database}")
    exports = tmp_path / "exports"
    exports.mkdir()
    point_cli_at(monkeypatch, settings, exports)
    with every_logger_at_debug() as logs:
        # The real clock: the command line runs on it too, and the sender keeps a chat's
        # messages in order, so a row dated in the app's future would hold back the rest.
        async with migrated_app(settings, roster=True) as app:
            budi = ChatClient(app, user_id="1001")
            await budi.send("/mulai")
            await budi.send(BUDI.nip)
            await budi.share_contact(SRI.phone_local)  # a wrong phone first
            await budi.send(BUDI.nip)
            await budi.share_contact(BUDI.phone_local)
            await enrol(budi, SITI, "Patebon")
            await enrol(budi, ANDI, "Kendal")

            sri = ChatClient(app, user_id="2002")
            await sri.send("/mulai")
            await sri.send(SRI.nip)
            await sri.share_contact(SRI.phone_local)
            await sri.press("➕ Daftarkan pekerja")
            await sri.press("Keluarga")
            refused = await sri.send(SITI.nik)
            assert "sudah" in refused[0].text and "3324••••••••0003" in refused[0].text
            await sri.send("/batal")

            await asyncio.to_thread(cli_run, "role", "grant", BUDI.nip, "coordinator",
                                    "--unit", BUDI.unit)
            await app.sender.drain()  # the news of the role
            await budi.send("/verifikasi")
            approved = await budi.press("✅ Setujui no. 1")
            assert "Disetujui: SITI AMINAH (3324••••••••0003)" in texts(approved)
            await budi.send("/mulai")
            await budi.press("👥 Pekerja saya")
            await app.sender.drain()
            async with app.sessions() as session:
                first = await session.scalar(select(func.min(DeductionAgreement.first_month)))
            assert first is not None
            this_month, deducted = f"{date.today():%Y-%m}", f"{first:%Y-%m}"

            report = await asyncio.to_thread(
                cli_run, "export", "report", "--month", this_month, "--out", "laporan.xlsx")
            payroll = await asyncio.to_thread(
                cli_run, "export", "payroll", "--month", deducted, "--out", "gaji.xlsx")
            payroll_csv = await asyncio.to_thread(
                cli_run, "export", "payroll", "--month", deducted, "--out", "gaji.csv")
            batch_csv = await asyncio.to_thread(
                cli_run, "export", "bpjs-batch", "--out", "bpjs.csv")
            batch_xlsx = await asyncio.to_thread(
                cli_run, "export", "bpjs-batch", "--out", "bpjs.xlsx")

            live_database = database_files(database)
            sent = [shown.text for shown in app.transports["console"].shown]
            outbox = outbox_rows(database)
        after_close = database_files(database)

    sources: dict[str, bytes] = {
        "logs": "\n".join(logs.lines).encode(),
        "cli output": "\n".join([report, payroll, payroll_csv, batch_csv, batch_xlsx]).encode(),
        "messages sent": "\n".join(sent).encode(),
        **{f"outbox row {number}": row.encode() for number, row in enumerate(outbox, 1)},
        **{f"db {name} (open)": raw for name, raw in live_database.items()},
        **{f"db {name} (closed)": raw for name, raw in after_close.items()},
    }
    for path in sorted(exports.iterdir()):
        sources.update(file_texts(path))

    batch = {name for name in sources if name.startswith("bpjs.")}
    chat = {"messages sent"}
    for worker, verified in ((SITI, True), (ANDI, False)):
        # Only the verified enrolment goes to BPJS; it carries the NIK in text cells.
        assert where(worker.nik, sources) == (
            sorted(["bpjs.csv", "bpjs.xlsx!xl/worksheets/sheet1.xml"]) if verified else [])
        for phone in worker.phone:
            assert set(where(phone, sources)) <= batch, phone
        # The birth date is shown in full to the ASN who typed it (the prompt offering the
        # NIK's date, the summary to check): the chat may hold it, nothing else but the batch.
        for born in worker.born:
            assert set(where(born, sources)) <= batch | chat, born
        if verified:  # the workbook holds the date as a date cell, the CSV as text
            assert "bpjs.csv" in where(worker.phone[1], sources)
            assert any("bpjs.csv" in where(born, sources) for born in worker.born)
    # The ASN's phones: in the roster only (the chat is left out: Budi's phone is the
    # example number the worker's phone question gives).
    for phone in ASN_PHONES:
        places = where(phone, {name: raw for name, raw in sources.items() if name not in chat})
        assert places and all(place.startswith("db asn.db") for place in places), (
            phone, places)
    for path in (exports / "bpjs.csv", exports / "bpjs.xlsx"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for worker in WORKERS:
        assert worker.nik[:4] + "••••••••" + worker.nik[-4:] in sources["messages sent"].decode()
    assert len(logs.lines) > 1000 and any(" DEBUG sqlalchemy" in line for line in logs.lines)
