"""`asn-peduli role grant | revoke | list` through the real command line, on a seeded SQLite
file: units by name (a kecamatan with or without "Kecamatan"), clear refusals with their exit
codes, idempotent grants, every change audited, the ASN told in their chat."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import BUDI, SRI, make_settings, seed_roster
from tests.support.cli import prepare_database, query
from tests.support.cli import run as run_cli

UNKNOWN_NIP = "197001012000011999"


@pytest.fixture
def database(tmp_path, monkeypatch) -> Path:
    """A migrated, seeded SQLite file; the settings reach the command through the
    environment, as they do for an operator."""
    path = tmp_path / "asn.db"
    prepare_database(monkeypatch, make_settings(f"sqlite+aiosqlite:///{path}"), tmp_path,
                     seed_roster)
    return path


def run(*args: str) -> tuple[int, str]:
    """One `asn-peduli role` command: its exit code and output."""
    return run_cli("role", *args)


def roles(path: Path) -> list[tuple]:
    return query(path, "SELECT a.nip, r.role, u.name FROM roles r JOIN asn a ON a.id = r.asn_id"
                       " LEFT JOIN units u ON u.id = r.unit_id ORDER BY r.id")


def audit(path: Path) -> list[tuple]:
    return query(path, "SELECT action, actor_asn_id, channel, subject, details FROM audit_log"
                       " ORDER BY id")


def test_grant_a_coordinator_of_an_opd(database):
    code, out = run("grant", BUDI.nip, "coordinator", "--unit", "dinas  KESEHATAN")
    assert code == 0
    assert (f"Peran diberikan: Budi Santoso (NIP {BUDI.nip}) sekarang koordinator "
            "Dinas Kesehatan.") in out
    assert "belum pernah chat dengan bot" in out
    assert roles(database) == [(BUDI.nip, "coordinator", "Dinas Kesehatan")]
    (action, actor, channel, subject, details), = audit(database)
    assert (action, actor, channel, subject) == ("role.granted", None, "cli", "asn:1")
    assert '"role": "coordinator"' in details


@pytest.mark.parametrize("typed", ["Kecamatan Patebon", "patebon", "Kec. Patebon",
                                   "KECAMATAN  PATEBON"])
def test_grant_a_camat_names_the_kecamatan_with_or_without_its_prefix(database, typed):
    code, out = run("grant", SRI.nip, "camat", "--unit", typed)
    assert code == 0 and "sekarang camat Patebon." in out
    assert roles(database) == [(SRI.nip, "camat", "Patebon")]


def test_grant_an_admin_and_the_indonesian_role_word(database):
    assert run("grant", BUDI.nip, "admin")[0] == 0
    assert run("grant", SRI.nip, "Koordinator", "--unit", SRI.unit)[0] == 0
    assert roles(database) == [(BUDI.nip, "admin", None), (SRI.nip, "coordinator", SRI.unit)]


def test_granting_twice_changes_nothing_and_says_so(database):
    run("grant", BUDI.nip, "coordinator", "--unit", BUDI.unit)
    code, out = run("grant", BUDI.nip, "coordinator", "--unit", BUDI.unit)
    assert code == 0 and "Tidak ada yang diubah" in out and "sudah koordinator" in out
    run("grant", BUDI.nip, "admin")
    code, out = run("grant", BUDI.nip, "admin")
    assert code == 0 and "Tidak ada yang diubah" in out
    assert len(roles(database)) == 2
    assert [row[0] for row in audit(database)] == ["role.granted", "role.granted"]


@pytest.mark.parametrize(("args", "says"), [
    (["grant", BUDI.nip, "bupati", "--unit", "Patebon"], 'Peran "bupati" tidak dikenal'),
    (["grant", BUDI.nip, "coordinator"], 'perlu unitnya: tambahkan --unit "Dinas Kesehatan"'),
    (["grant", BUDI.nip, "camat"], '--unit "Kecamatan Patebon"'),
    (["grant", BUDI.nip, "admin", "--unit", "Patebon"], "tanpa unit: hapus --unit"),
    (["revoke", BUDI.nip, "admin", "--unit", "Patebon"], "tanpa unit: hapus --unit"),
    (["list", "--role", "lurah"], 'Peran "lurah" tidak dikenal'),
])
def test_a_wrong_command_exits_2_and_says_how(database, args, says):
    code, out = run(*args)
    assert code == 2 and says in out
    assert roles(database) == [] and audit(database) == []


@pytest.mark.parametrize(("args", "says"), [
    (["grant", UNKNOWN_NIP, "admin"], f"NIP {UNKNOWN_NIP} tidak ada di data ASN"),
    (["grant", BUDI.nip, "coordinator", "--unit", "Dinas Keshatan"],
     'OPD "Dinas Keshatan" tidak ditemukan.\nMungkin maksud Anda: Dinas Kesehatan'),
    (["grant", BUDI.nip, "coordinator", "--unit", "pendidikan"],
     "Mungkin maksud Anda: Dinas Pendidikan dan Kebudayaan"),
    (["grant", BUDI.nip, "camat", "--unit", "Patebonn"],
     'Kecamatan "Patebonn" tidak ditemukan.\nMungkin maksud Anda: Patebon'),
    (["grant", BUDI.nip, "camat", "--unit", "Mars"], "Periksa ejaannya"),
    (["grant", BUDI.nip, "coordinator", "--unit", "Kecamatan Patebon"],
     '"Patebon" adalah kecamatan, sedangkan peran ini perlu OPD'),
    (["grant", BUDI.nip, "camat", "--unit", "Dinas Kesehatan"],
     '"Dinas Kesehatan" adalah sebuah OPD, sedangkan peran ini perlu kecamatan'),
    (["revoke", UNKNOWN_NIP, "camat"], "tidak ada di data ASN"),
])
def test_data_that_does_not_match_exits_1_and_changes_nothing(database, args, says):
    code, out = run(*args)
    assert code == 1 and says in out
    assert roles(database) == [] and audit(database) == []


def test_revoke_one_unit_or_every_unit_of_a_role(database):
    run("grant", BUDI.nip, "coordinator", "--unit", BUDI.unit)
    run("grant", BUDI.nip, "coordinator", "--unit", SRI.unit)
    run("grant", BUDI.nip, "camat", "--unit", "Patebon")
    code, out = run("revoke", BUDI.nip, "coordinator", "--unit", SRI.unit)
    assert code == 0
    assert f"Peran dicabut: Budi Santoso (NIP {BUDI.nip}) bukan lagi koordinator {SRI.unit}" in out
    assert roles(database) == [(BUDI.nip, "coordinator", BUDI.unit),
                               (BUDI.nip, "camat", "Patebon")]
    code, out = run("revoke", BUDI.nip, "coordinator")
    assert code == 0 and f"bukan lagi koordinator {BUDI.unit}" in out
    assert roles(database) == [(BUDI.nip, "camat", "Patebon")]
    assert [row[0] for row in audit(database)] == ["role.granted"] * 3 + ["role.revoked"] * 2


def test_revoking_a_role_not_held_changes_nothing_and_says_so(database):
    code, out = run("revoke", BUDI.nip, "camat", "--unit", "Patebon")
    assert code == 0 and "tidak memegang peran camat Patebon" in out
    code, out = run("revoke", BUDI.nip, "admin")
    assert code == 0 and "tidak memegang peran admin" in out
    assert audit(database) == []


def test_list_with_filters(database):
    run("grant", BUDI.nip, "coordinator", "--unit", BUDI.unit)
    run("grant", SRI.nip, "camat", "--unit", "Patebon")
    run("grant", SRI.nip, "admin")
    code, out = run("list")
    assert code == 0 and "3 pemegang peran." in out
    lines = out.splitlines()
    assert lines[0].split() == ["NIP", "Nama", "Peran", "Unit", "Sejak"]
    assert any(BUDI.nip in line and "koordinator" in line and BUDI.unit in line
               for line in lines)
    code, out = run("list", "--role", "camat")
    assert "1 pemegang peran." in out and "Sri Lestari" in out and "Budi" not in out
    code, out = run("list", "--unit", "Kecamatan Patebon")
    assert "1 pemegang peran." in out and "camat" in out
    code, out = run("list", "--unit", BUDI.unit)
    assert "1 pemegang peran." in out and "Budi Santoso" in out
    code, out = run("list", "--role", "coordinator", "--unit", "Patebon")
    assert code == 0 and "Belum ada pemegang peran yang cocok" in out
    code, out = run("list", "--unit", "Atlantis")
    assert code == 1 and "tidak ditemukan" in out


def test_a_linked_asn_is_told_in_their_chat_and_other_opd_noted(database):
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(
            "INSERT INTO channel_identities (channel, external_id, chat_id, asn_id, linked_at)"
            " VALUES ('telegram', '777', '777', 1, ?)",
            (datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),))
    code, out = run("grant", BUDI.nip, "coordinator", "--unit", SRI.unit)
    assert code == 0 and "Budi Santoso sudah dikabari lewat chat." in out
    assert f"Catatan: menurut data ASN, Budi Santoso bekerja di {BUDI.unit}." in out
    code, out = run("revoke", BUDI.nip, "coordinator")
    assert code == 0 and "sudah dikabari" in out
    assert query(database, "SELECT channel, chat_id, kind, status FROM outbox ORDER BY id") == [
        ("telegram", "777", "news", "pending"), ("telegram", "777", "news", "pending")]
