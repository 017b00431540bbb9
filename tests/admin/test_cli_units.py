"""`asn-peduli unit list | rename | merge`: a roster typo that became a 39th OPD is merged
back (ASN, roles and linked groups move, a role held twice is not doubled), a dry run lists
what would move and changes nothing, units of different kinds are never merged, a rename
may not take a name in use; every change audited. The rules themselves (storage/units.py)
are checked on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import App
from storage.models import Asn, Broadcast, Chat, Role, Unit, Worker
from storage.reports import unit_progress
from storage.units import UnitChangeRefused, merge_units, one_unit, rename_unit
from tests.conftest import make_settings
from tests.support.cli import prepare_database, query, run
from tests.support.processes import count

NOW = datetime(2025, 8, 21, 3, 0, tzinfo=UTC)


async def seed(app: App) -> dict[str, int]:
    """Dinas Kesehatan (Budi, coordinator) and its typo "Dinas Kesehtan" (Ani and Eko; Ani
    coordinates the typo, Budi coordinates both), a group linked to the typo; kecamatan
    Patebon and its typo "Patebn" (Eko lives there, a worker's address, a broadcast)."""
    async with app.sessions.begin() as session:
        units = {name: Unit(kind=kind, name=name) for kind, name in (
            ("opd", "Dinas Kesehatan"), ("opd", "Dinas Kesehtan"), ("opd", "Dinas Sosial"),
            ("kecamatan", "Patebon"), ("kecamatan", "Patebn"), ("kecamatan", "Kendal"))}
        session.add_all(units.values())
        await session.flush()
        ids = {name: unit.id for name, unit in units.items()}
        people = {}
        for index, (name, opd, home) in enumerate((
                ("Budi Santoso", "Dinas Kesehatan", "Patebon"),
                ("Ani Lestari", "Dinas Kesehtan", "Patebon"),
                ("Eko Wibowo", "Dinas Kesehtan", "Patebn"))):
            asn = Asn(nip=f"19850315201001100{index + 1}", name=name, unit_id=ids[opd],
                      kecamatan_id=ids[home], phone=f"+6281200000{index:03d}", updated_at=NOW)
            session.add(asn)
            await session.flush()
            people[name] = asn.id
        for person, unit, role in (("Budi Santoso", "Dinas Kesehatan", "coordinator"),
                                   ("Budi Santoso", "Dinas Kesehtan", "coordinator"),
                                   ("Ani Lestari", "Dinas Kesehtan", "coordinator"),
                                   ("Eko Wibowo", "Patebn", "camat")):
            session.add(Role(asn_id=people[person], role=role, unit_id=ids[unit],
                             granted_at=NOW))
        session.add(Chat(channel="telegram", chat_id="-1001", chat_type="group",
                         title="Grup Dinkes", unit_id=ids["Dinas Kesehtan"]))
        session.add(Worker(nik_hash="h", nik_enc="x", nik_masked="3324••••••••0001",
                           name="SITI", birth_date_enc="x", occupation="petani",
                           desa="Kumpulrejo", kecamatan_id=ids["Patebn"],
                           kecamatan_name="Patebn", updated_at=NOW))
        session.add(Broadcast(asn_id=people["Eko Wibowo"], unit_id=ids["Patebn"],
                              audience="all", channel="telegram", status="done",
                              recipients=0, created_at=NOW))
    return ids


@pytest.fixture
def database(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "asn.db"
    prepare_database(monkeypatch, make_settings(f"sqlite+aiosqlite:///{path}"), tmp_path, seed)
    return path


def snapshot(path: Path) -> list[list[tuple]]:
    return [query(path, f"SELECT * FROM {table} ORDER BY 1")
            for table in ("units", "asn", "roles", "chats", "workers", "broadcasts")]


def test_the_list_shows_the_typo_as_a_near_twin(database):
    code, out = run("unit", "list", "--kind", "opd")
    assert code == 0
    assert out.splitlines() == ["OPD\tDinas Kesehatan\t1 ASN", "OPD\tDinas Kesehtan\t2 ASN",
                                "OPD\tDinas Sosial\t0 ASN"]


def test_a_dry_run_lists_what_moves_and_changes_nothing(database):
    before = snapshot(database)

    code, out = run("unit", "merge", "Dinas Kesehtan", "Dinas Kesehatan", "--dry-run")

    assert code == 0, out
    assert out.startswith('Uji coba (tidak ada yang diubah): bila OPD "Dinas Kesehtan" '
                          'digabung ke "Dinas Kesehatan", yang pindah:')
    assert "• ASN: 2\n    198503152010011002  Ani Lestari\n" in out
    assert "198503152010011002  Ani Lestari" in out and "198503152010011003  Eko Wibowo" in out
    assert "• Peran: 2" in out
    assert ('198503152010011001  Budi Santoso: koordinator (sudah memegang peran ini di '
            '"Dinas Kesehatan": tidak digandakan)') in out
    assert "198503152010011002  Ani Lestari: koordinator\n" in out
    assert "• Grup yang ditautkan: 1\n    telegram -1001 (Grup Dinkes)" in out
    assert "Jalankan lagi tanpa --dry-run" in out
    assert snapshot(database) == before
    assert query(database, "SELECT count(*) FROM audit_log") == [(0,)]


def test_the_typo_is_merged_back_with_its_asn_roles_and_groups(database):
    [(kesehatan,)] = query(database, "SELECT id FROM units WHERE name = 'Dinas Kesehatan'")

    code, out = run("unit", "merge", "dinas  kesehtan", "Dinas Kesehatan")

    assert code == 0, out
    assert 'OPD "Dinas Kesehtan" sudah digabung ke "Dinas Kesehatan" dan dihapus.' in out
    assert query(database, "SELECT name FROM units WHERE kind = 'opd' ORDER BY name") == [
        ("Dinas Kesehatan",), ("Dinas Sosial",)]
    assert query(database, "SELECT DISTINCT unit_id FROM asn") == [(kesehatan,)]
    assert query(database, "SELECT a.name, r.role FROM roles r JOIN asn a ON a.id = r.asn_id "
                           f"WHERE r.unit_id = {kesehatan} ORDER BY a.name") == [
        ("Ani Lestari", "coordinator"), ("Budi Santoso", "coordinator")]  # Budi once
    assert query(database, "SELECT unit_id FROM chats") == [(kesehatan,)]
    [(action, subject, details)] = query(
        database, "SELECT action, subject, details FROM audit_log")
    assert (action, subject) == ("unit.merged", f"unit:{kesehatan}")
    assert json.loads(details) | {"from_id": 0} == {
        "from_id": 0, "from_name": "Dinas Kesehtan", "into_id": kesehatan,
        "into_name": "Dinas Kesehatan", "kind": "opd", "asn": 2, "roles_moved": 1,
        "roles_dropped": 1, "groups": 1, "workers": 0, "broadcasts": 0}


def test_units_of_different_kinds_are_never_merged(database):
    before = snapshot(database)

    code, out = run("unit", "merge", "Dinas Kesehtan", "Kecamatan Patebon")

    assert code == 1
    assert ('"Dinas Kesehtan" adalah sebuah OPD, sedangkan "Patebon" kecamatan: OPD hanya '
            "dapat digabung dengan OPD, kecamatan dengan kecamatan. Tidak ada yang diubah.") in (
        out)
    assert snapshot(database) == before


@pytest.mark.parametrize(("args", "code", "says"), [
    (("merge", "Dinas Kesehatan", "Dinas Kesehatan"), 1, "tidak dapat digabung ke dirinya"),
    (("merge", "Dinas Keshatan", "Dinas Sosial"), 1,
     "Mungkin maksud Anda: Dinas Kesehatan, Dinas Kesehtan"),
    (("rename", "Dinas Kesehtan", "Dinas Kesehatan"), 1,
     'asn-peduli unit merge "Dinas Kesehtan" "Dinas Kesehatan"'),
    (("rename", "Dinas Sosial", "   "), 2, "tulis nama unit dengan huruf"),
    (("rename", "Dinas Sosial", "Dinas Sosial"), 1, 'sudah bernama "Dinas Sosial"'),
    (("merge", "Patebn", "Patebon", "--kind", "desa"), 2, "--kind opd atau --kind kecamatan"),
])
def test_what_must_not_be_done_is_refused_and_changes_nothing(database, args, code, says):
    before = snapshot(database)

    got, out = run("unit", *args)

    assert (got, says in out) == (code, True), out
    assert snapshot(database) == before


def test_a_kecamatan_renamed_carries_the_workers_addresses_along(database):
    code, out = run("unit", "rename", "Kec. Patebn", "Pegandon", "--kind", "kecamatan")

    assert code == 0, out
    assert 'Kecamatan "Patebn" sekarang bernama "Pegandon".' in out
    assert query(database, "SELECT kecamatan_name FROM workers") == [("Pegandon",)]
    [(action, details)] = query(database, "SELECT action, details FROM audit_log")
    assert action == "unit.renamed"
    assert json.loads(details) == {"kind": "kecamatan", "from": "Patebn", "to": "Pegandon"}


def test_an_opd_and_a_kecamatan_of_one_name_need_the_kind(database):
    query_sql = "INSERT INTO units (kind, name) VALUES ('opd', 'Kendal')"
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(query_sql)

    code, out = run("unit", "rename", "Kendal", "Kendal Kota")
    assert code == 1 and "Tambahkan --kind opd atau --kind kecamatan" in out

    code, out = run("unit", "rename", "Kendal", "Kendal Kota", "--kind", "opd")
    assert code == 0, out
    assert query(database, "SELECT kind, name FROM units WHERE name LIKE 'Kendal%' "
                           "ORDER BY kind") == [("kecamatan", "Kendal"), ("opd", "Kendal Kota")]


# --- the rules on both engines ------------------------------------------------------------

async def test_a_kecamatan_merge_moves_people_addresses_broadcasts_and_the_camat(app_any_db):
    ids = await seed(app_any_db)
    async with app_any_db.sessions.begin() as session:
        typo = await one_unit(session, "Patebn")
        patebon = await one_unit(session, "kecamatan patebon")
        plan = await merge_units(session, typo, patebon)

    assert (plan.asn_total, plan.workers, plan.broadcasts, len(plan.roles)) == (1, 1, 1, 1)
    assert await count(app_any_db, Unit, Unit.id == ids["Patebn"]) == 0
    assert await count(app_any_db, Asn, Asn.kecamatan_id == ids["Patebon"]) == 3
    assert await count(app_any_db, Worker, Worker.kecamatan_id == ids["Patebon"],
                       Worker.kecamatan_name == "Patebon") == 1
    assert await count(app_any_db, Broadcast, Broadcast.unit_id == ids["Patebon"]) == 1
    assert await count(app_any_db, Role, Role.role == "camat",
                       Role.unit_id == ids["Patebon"]) == 1
    async with app_any_db.sessions() as session:
        ranking = await unit_progress(session, "kecamatan", NOW)
    assert [(unit.unit_name, unit.asn_total) for unit in ranking] == [
        ("Patebon", 3), ("Kendal", 0)]


async def test_the_rules_refuse_on_both_engines(app_any_db):
    await seed(app_any_db)
    async with app_any_db.sessions.begin() as session:
        opd = await one_unit(session, "Dinas Sosial")
        kecamatan = await one_unit(session, "Kendal")
        with pytest.raises(UnitChangeRefused) as kinds:
            await merge_units(session, opd, kecamatan)
        with pytest.raises(UnitChangeRefused) as taken:
            await rename_unit(session, opd, "dinas kesehatan")
    assert (kinds.value.reason, taken.value.reason) == ("unit_kinds_differ", "unit_name_taken")
    assert await count(app_any_db, Chat) == 1
