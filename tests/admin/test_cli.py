"""The real `asn-peduli` command line, in a fresh directory with no settings in the
environment, the way a newcomer runs it from the README."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage.crypto import generate_key
from tests.support.cli import SETTING_NAMES, clear_settings, query, run

DATA = Path(__file__).parents[1] / "data" / "roster"
EXECUTABLE = Path(sys.executable).with_name("asn-peduli")


@pytest.fixture
def fresh_dir(tmp_path, monkeypatch) -> Path:
    """An empty working directory and an environment that sets none of our settings."""
    clear_settings(monkeypatch, tmp_path)
    return tmp_path


def clean_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key.upper() not in SETTING_NAMES}


def env_values(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line and not line.startswith("#"))
    return dict(pairs)


def test_init_env_writes_fresh_keys_and_keeps_an_existing_file(fresh_dir):
    code, out = run("init-env")

    env_file = fresh_dir / ".env"
    assert code == 0 and ".env dibuat dengan kunci enkripsi baru" in out
    values = env_values(env_file)
    Fernet(values["DATA_ENCRYPTION_KEYS"].encode())
    Fernet(values["NIK_HASH_KEY"].encode())
    assert values["DATA_ENCRYPTION_KEYS"] != values["NIK_HASH_KEY"]
    assert env_file.stat().st_mode & 0o777 == 0o600
    written = env_file.read_text()

    code, out = run("init-env")
    assert code == 0 and "sudah ada dan tidak diubah" in out and "--force" in out
    assert env_file.read_text() == written

    code, out = run("init-env", "--force")
    assert code == 0
    assert env_values(env_file)["DATA_ENCRYPTION_KEYS"] != values["DATA_ENCRYPTION_KEYS"]


def test_commands_without_settings_say_what_is_missing(fresh_dir):
    code, out = run("db", "upgrade")

    assert code == 2
    assert "DATA_ENCRYPTION_KEYS" in out and "NIK_HASH_KEY" in out
    assert "asn-peduli init-env" in out
    assert not (fresh_dir / "var").exists()


def test_db_upgrade_creates_the_default_database(fresh_dir):
    run("init-env")

    code, out = run("db", "upgrade")

    assert code == 0 and "Basis data sudah pada versi terbaru." in out
    database = fresh_dir / "var" / "asn_peduli.db"
    tables = {name for (name,) in query(database, "SELECT name FROM sqlite_master")}
    assert {"asn", "units", "workers", "enrollments", "alembic_version"} <= tables


def test_demo_data_and_roster_import_from_the_command_line(fresh_dir):
    run("init-env")
    database = fresh_dir / "var" / "asn_peduli.db"

    code, out = run("demo-data", "--asn", "50")
    assert code == 0 and "50 ASN fiktif (50 baru, 0 diperbarui)" in out
    code, out = run("demo-data", "--asn", "50")
    assert code == 0 and "50 ASN fiktif (0 baru, 0 diperbarui)" in out
    assert query(database, "SELECT count(*) FROM asn") == [(50,)]
    assert query(database, "SELECT count(*) FROM units") == [(58,)]

    code, out = run("roster", "import", str(DATA / "good.csv"))
    assert code == 0 and "Semua baris diterima." in out and "OPD baru" not in out
    assert query(database, "SELECT count(*) FROM asn") == [(56,)]
    assert query(database, "SELECT phone FROM asn WHERE nip = '199112302019031003'") == [
        ("+6281311112003",)]

    code, out = run("roster", "import", str(DATA / "problems.csv"))
    assert code == 1 and "5 baris ditolak" in out and "impor ini TIDAK lengkap" in out

    code, out = run("roster", "import", str(DATA / "missing_column.csv"))
    assert code == 2 and "kolom wajib no_hp tidak ditemukan" in out

    code, out = run("roster", "import", str(fresh_dir / "no-such-file.csv"))
    assert code == 2
    assert query(database, "SELECT count(*) FROM asn") == [(56,)]


# Every command that opens the database (`run` with a token, which it asks for first).
DATABASE_COMMANDS = [
    ("db", "upgrade"), ("run",), ("serve",), ("worker",), ("chat",), ("demo",),
    ("demo-data", "--asn", "5"), ("roster", "kecamatan"), ("role", "list"),
    ("export", "bpjs-batch", "--out", "batch.csv"),
]


@pytest.mark.parametrize("setting", ["NIK_HASH_KEY", "DATA_ENCRYPTION_KEYS"])
@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_a_key_the_data_was_not_written_with_stops_every_command(
        fresh_dir, monkeypatch, setting, command):
    """Another NIK_HASH_KEY would let the same NIK be enrolled twice; other encryption keys
    read nothing stored: each command refuses, names the setting, and writes nothing."""
    run("init-env")
    assert run("db", "upgrade")[0] == 0
    monkeypatch.setenv(setting, generate_key())  # the environment wins over .env
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")

    code, out = run(*command)

    assert code == 2, out
    assert f"{setting} " in out and "saat data di basis data ini ditulis" in out, out
    assert "Pasang lagi kunci yang lama" in out and "Traceback" not in out
    database = fresh_dir / "var" / "asn_peduli.db"
    assert query(database, "SELECT count(*) FROM units") == [(0,)]
    assert not (fresh_dir / "batch.csv").exists()


KEY = generate_key()
# (setting, bad value, what the message says is wrong): each stops every command before it
# does anything. A number of 0 or below that means nothing (an interval of 0 spins, a claim
# of 0 never sends), a database the bot does not run on, a key that is not a Fernet key.
BAD_SETTINGS = [
    ("DATABASE_URL", "foo://", 'memakai "foo"'),
    ("DATABASE_URL", "sqlite:///var/asn_peduli.db", 'memakai "sqlite"'),
    ("DATABASE_URL", "postgresql://postgres@127.0.0.1/asn", 'memakai "postgresql"'),
    ("DATABASE_URL", "bukan alamat sama sekali", "tidak terbaca sebagai alamat basis data"),
    ("DATABASE_URL", "postgresql+asyncpg://u@h:port/db", "tidak terbaca sebagai alamat"),
    ("DATABASE_URL", "sqlite+aiosqlite://", "harus menyebut berkas SQLite"),
    ("DATABASE_URL", "sqlite+aiosqlite:///:memory:", "harus menyebut berkas SQLite"),
    ("DATA_ENCRYPTION_KEYS", "bukan-kunci", "kunci ke-1 bukan kunci Fernet"),
    ("DATA_ENCRYPTION_KEYS", f"{KEY},{KEY[:-2]}", "kunci ke-2 bukan kunci Fernet"),
    ("DATA_ENCRYPTION_KEYS", " , ", "tidak memuat satu kunci pun"),
    ("NIK_HASH_KEY", "   ", "belum diisi"),
    ("PREMIUM_SCHEDULE", "[{effective_from: 2022-01-01}]", "bukan JSON yang sah"),
    ("PREMIUM_SCHEDULE", "[]", "paling sedikit satu baris tarif"),
    ("PREMIUM_SCHEDULE", '[{"effective_from":"2022-01-01","jkk":-10000,"jkm":6800}]',
     "(isi ke-1, jkk): paling kecil 0"),
    ("REMINDER_UNFINISHED_DAYS", "1,3", "bukan JSON yang sah"),
    ("REMINDER_UNFINISHED_DAYS", "[1,-3]", "(isi ke-2): paling kecil 1"),
    ("LOG_LEVEL", "VERBOSE", "harus salah satu dari DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("SCHEDULER_INTERVAL_SECONDS", "0", "paling kecil 1"),
    ("SCHEDULER_INTERVAL_SECONDS", "sebentar", "harus bilangan bulat"),
    ("SENDER_CLAIM_SECONDS", "0", "paling kecil 1"),
    ("SENDER_BATCH_SIZE", "-50", "paling kecil 1"),
    ("SENDER_MAX_ATTEMPTS", "0", "paling kecil 1"),
    ("LOGIN_MAX_FAILURES", "0", "paling kecil 1"),
    ("LOGIN_WINDOW_MINUTES", "-60", "paling kecil 1"),
    ("ENROLMENT_MAX_AGE", "0", "paling kecil 1"),
    ("ENROLMENT_MIN_AGE", "-1", "paling kecil 0"),
    ("ENROLMENT_MIN_AGE", "70", "harus lebih kecil dari ENROLMENT_MAX_AGE (65)"),
    ("TELEGRAM_RATE_OVERALL", "0", "harus lebih besar dari 0"),
    ("TELEGRAM_RATE_PRIVATE_CHAT", "-1", "harus lebih besar dari 0"),
    ("TELEGRAM_RATE_GROUP_PER_MINUTE", "0", "harus lebih besar dari 0"),
    ("WHATSAPP_RATE_OVERALL", "0", "harus lebih besar dari 0"),
    ("WEB_PORT", "0", "paling kecil 1"),
    ("WEB_PORT", "70000", "paling besar 65535"),
    ("WEB_MAX_BODY_BYTES", "0", "paling kecil 1"),
]


@pytest.mark.parametrize(("name", "value", "wrong"), BAD_SETTINGS,
                         ids=[f"{name}={value}" for name, value, _ in BAD_SETTINGS])
def test_a_bad_setting_is_named_with_what_is_wrong(fresh_dir, monkeypatch, name, value, wrong):
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", KEY)
    monkeypatch.setenv("NIK_HASH_KEY", generate_key())
    monkeypatch.setenv(name, value)

    code, out = run("db", "upgrade")

    assert code == 2, out
    assert f"- {name}" in out and wrong in out, out
    assert out.startswith("Pengaturan belum lengkap atau tidak valid:")
    assert "(lihat .env.example)" in out and "Traceback" not in out
    assert KEY not in out
    assert list(fresh_dir.iterdir()) == []  # no database made


@pytest.mark.parametrize("bad", [
    "LOG_LEVEL=VERBOSE", "PREMIUM_SCHEDULE=[{", "DATABASE_URL=foo://",
    "DATA_ENCRYPTION_KEYS=bukan-kunci"])
def test_the_installed_command_names_a_bad_setting_without_a_traceback(tmp_path, bad):
    """`asn-peduli` as installed, the keys in .env and the bad value in the environment
    (which wins): each of these ended in a traceback (an unknown LOG_LEVEL before the
    command even started)."""
    assert EXECUTABLE.exists(), f"{EXECUTABLE} missing: install the package (pip install -e .)"
    (tmp_path / ".env").write_text(f"DATA_ENCRYPTION_KEYS={KEY}\nNIK_HASH_KEY={KEY}\n")
    name, value = bad.split("=", 1)

    done = subprocess.run([str(EXECUTABLE), "db", "upgrade"], cwd=tmp_path,
                          env=clean_environment() | {name: value}, capture_output=True,
                          text=True, timeout=60, check=False)

    assert done.returncode == 2, done.stderr
    assert done.stderr == ""
    assert f"- {name}:" in done.stdout
    assert not (tmp_path / "var").exists()


def demo(directory: Path, typed: str) -> subprocess.CompletedProcess[str]:
    """`asn-peduli demo` as a person would run it, the conversation typed on stdin."""
    assert EXECUTABLE.exists(), f"{EXECUTABLE} missing: install the package (pip install -e .)"
    return subprocess.run(
        [str(EXECUTABLE), "demo"], cwd=directory, env=clean_environment(), input=typed,
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_demo_on_a_fresh_directory_reaches_the_main_menu(tmp_path):
    typed = "/mulai\n198503152010011001\n1\n081234567890\n"

    first = demo(tmp_path, typed)

    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    out = first.stdout
    assert "1.000 ASN fiktif" in out
    assert "Masuk sebagai ASN demo: NIP 198503152010011001, nomor HP 081234567890" in out
    assert "Terima kasih, Budi Santoso (Dinas Kesehatan)" in out
    assert "Menu utama" in out and "Anda belum melindungi pekerja" in out
    assert (tmp_path / ".env").exists() and (tmp_path / "var" / "asn_peduli.db").exists()
    keys = env_values(tmp_path / ".env")["DATA_ENCRYPTION_KEYS"]

    # Again in the same directory: the data, the keys and the linked account are kept.
    second = demo(tmp_path, "/mulai\n")

    assert second.returncode == 0, second.stderr
    assert "data demo tidak ditulis" in second.stdout
    assert "Menu utama" in second.stdout and "ketik NIP" not in second.stdout
    assert env_values(tmp_path / ".env")["DATA_ENCRYPTION_KEYS"] == keys


def test_a_fresh_installation_loads_its_kecamatan_list_then_the_roster(fresh_dir):
    """Without demo data nothing lists the kecamatan; `roster kecamatan` does, once."""
    run("init-env")
    database = fresh_dir / "var" / "asn_peduli.db"
    roster = fresh_dir / "asn.csv"
    roster.write_text("nip,nama,unit,no_hp,kecamatan\n"
                      "198503152010011001,Budi Santoso,Dinas Kesehatan,081234567890,Patebon\n")

    code, out = run("roster", "kecamatan")
    assert code == 0 and "20 di berkas, 20 baru ditambahkan" in out
    code, out = run("roster", "kecamatan")
    assert code == 0 and "0 baru ditambahkan (yang lain sudah ada)" in out
    own = fresh_dir / "kecamatan.csv"
    own.write_text("kode,nama\n33.74.01,Mijen\n33.24.14,Patebon\n")
    code, out = run("roster", "kecamatan", str(own))
    assert code == 0 and "2 di berkas, 1 baru ditambahkan" in out

    code, _ = run("roster", "import", str(roster))
    assert code == 0
    assert query(database, "SELECT count(*) FROM units WHERE kind = 'kecamatan'") == [(21,)]
    assert query(database, "SELECT u.name FROM asn JOIN units u ON u.id = asn.kecamatan_id"
                 ) == [("Patebon",)]
