"""Privacy scan (issue 5): after a realistic session, no full NIK anywhere but the BPJS batch.

The session runs on a SQLite file with logging as `asn-peduli` sets it for LOG_LEVEL=DEBUG
(the settings read by admin/cli_app.load_settings, like every command): Budi identifies (after one
wrong contact), enrols two workers with known NIK, birth dates and phones, agrees to the
deduction; Sri tries one of the same NIK; the admin makes Sri coordinator of Budi's OPD with
the command line (nobody verifies their own enrolments) and she opens one enrolment, which
shows her its NIK and birth date in full, and approves it; the sender delivers everything
through a recording
transport; the admin exports the report, the payroll list (XLSX and CSV) and the BPJS batch
(CSV and XLSX). Then every log line, every outbox row as stored, every exported file (an
XLSX unzipped too), what the transport received, and the database file with its -wal and
-shm are searched for each NIK, birth date and worker's phone in plain text.

The BPJS batch must hold them in full (BPJS cannot register a worker otherwise), in a file
only its owner reads, and the coordinator's chat shows the NIK and birth date of the one
enrolment she opened (she checks them against the KTP); everything else must not. The
ASN's own phone is roster data kept in clear for the lookup by design (DESIGN §3 lists
NIK, birth date and the worker's phone as the protected data); where it appears is checked
against the places that are expected.

The same holds for the real `asn-peduli run` at LOG_LEVEL=DEBUG over Telegram: its whole log
holds no token, NIK, birth date or phone (python-telegram-bot logs every call's parameters
and answer at DEBUG, and httpx every URL, which holds the token, at INFO).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import stat
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from admin.cli_app import load_settings
from storage.models import DeductionAgreement
from tests.conftest import BUDI, SRI, make_settings, migrated_app
from tests.support.chat import ChatClient, texts
from tests.support.cli import point_cli_at, run
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import loopback_only
from tests.support.processes import cli_env, kill, start_cli
from tests.support.telegram_user import (
    FAST_CHAT_RATE,
    NIK,
    TelegramUser,
    enrol_from_name,
    enrol_until_nik,
    identify,
)


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
def recorded_logs() -> Iterator[Recorder]:
    """Every record that reaches the root logger's handlers, at the levels the command line
    set (the test's fixture puts them back afterwards)."""
    recorder = Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)


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
    code, out = run(*args)
    assert code == 0, out
    return out


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
    exports = tmp_path / "exports"
    exports.mkdir()
    point_cli_at(monkeypatch, make_settings(f"sqlite+aiosqlite:///{database}"), exports,
                 LOG_LEVEL="DEBUG")
    settings = load_settings()  # as every command reads them: logging is set from here on
    # Our own modules pass DEBUG records; the libraries' detail (request bodies, rows) is held
    # back (bot/logs.py). The session may well log nothing: what it logs is searched below.
    assert logging.getLogger("bot.dispatcher").isEnabledFor(logging.DEBUG)
    with recorded_logs() as logs:
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

            await asyncio.to_thread(cli_run, "role", "grant", SRI.nip, "coordinator",
                                    "--unit", BUDI.unit)
            await app.sender.drain()  # the news of the role
            await sri.send("/verifikasi")
            opened = await sri.press("🔎 1. SITI AMINAH")
            assert f"NIK: {SITI.nik}" in texts(opened)
            await sri.press("✅ Setujui")
            approved = await sri.press("✅ Ya, setujui")
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
        # Only the verified enrolment goes to BPJS; it carries the NIK in text cells. Its
        # coordinator saw it in her chat; the outbox row of that message is encrypted.
        assert where(worker.nik, sources) == (
            sorted(["bpjs.csv", "bpjs.xlsx!xl/worksheets/sheet1.xml", "messages sent"])
            if verified else [])
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


# A token of a real one's shape, for the fake's bot 123456: a find of it or its secret half
# in a log is a leak.
TOKEN = "123456:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
# What the Telegram enrolment (tests/e2e/test_telegram.py) types and shows, written out
# every way a log could hold it: the NIK, the worker's birth date (read from the NIK) and
# phone, Budi's phone as his shared contact carries it.
TELEGRAM_SECRETS = (
    TOKEN, TOKEN.split(":")[1], NIK, "SITI AMINAH", "Siti Aminah",
    "1980-08-17", "17-08-1980", "17/08/1980", "17.08.1980", "17 Agustus 1980",
    "+6285711112222", "085711112222", "0857-1111-2222", "85711112222",
    "6281234567890", "081234567890", "81234567890",
)


async def test_asn_peduli_run_at_debug_logs_no_token_or_personal_data(
        sqlite_url, tmp_path, monkeypatch):
    """`asn-peduli run` with LOG_LEVEL=DEBUG, polling the fake Bot API: Budi shares his
    contact and enrols a worker to the agreed deduction; then SIGTERM. Its log (stderr and
    stdout) shows our own modules at work and none of the token or the data typed."""
    loopback_only(monkeypatch)
    log = tmp_path / "bot.log"
    async with FakeTelegram(token=TOKEN) as fake:
        settings = make_settings(sqlite_url, telegram_bot_token=fake.token,
                                 telegram_api_base_url=fake.url,
                                 telegram_rate_private_chat=FAST_CHAT_RATE)
        env = cli_env(settings, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
                      TELEGRAM_RATE_PRIVATE_CHAT=str(FAST_CHAT_RATE), LOG_LEVEL="DEBUG")
        async with migrated_app(settings, roster=True) as app:
            child = await start_cli("run", env, tmp_path, log,
                                    lambda _: fake.wait_for_call("getUpdates", within=30))
            try:
                user = TelegramUser(fake, app)
                await identify(user)
                await enrol_until_nik(user)
                assert "sudah dikirim" in texts(await enrol_from_name(user))
                child.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(child.wait(), 15) == 0
            finally:
                kill(child)
                await child.wait()

    written = log.read_text(encoding="utf-8")
    assert " INFO bot.telegram: " in written, written
    assert "Traceback" not in written, written
    assert [secret for secret in TELEGRAM_SECRETS if secret in written] == []
