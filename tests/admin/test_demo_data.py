"""Demo data: Kendal's units, fictional ASN that look real, 9.42% of them with a worker."""

from __future__ import annotations

import shlex
from datetime import date
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import func, select, text

from admin.demo_data import (
    COVERAGE,
    DEMO_ASN,
    DEMO_ROLE_HOLDERS,
    OPD_NAMES,
    demo_people,
    demo_workers,
    ensure_demo_data,
    write_demo_data,
)
from admin.kecamatan import read_kecamatan
from bot.console import ConsoleTransport
from flows.events import Attachment, OutgoingMessage
from flows.masking import mask_nik
from flows.nik import parse_nik
from flows.nip import parse_nip
from storage.models import (
    Asn,
    Base,
    Consent,
    DeductionAgreement,
    Enrollment,
    Unit,
    Worker,
)
from tests.conftest import make_settings, seed_roster
from tests.support.chat import ChatClient, texts
from tests.support.cli import prepare_database, query, run
from tests.support.processes import count


async def table_counts(app) -> dict[str, int]:
    return {model.__tablename__: await count(app, model)
            for model in (Unit, Asn, Worker, Enrollment, Consent, DeductionAgreement)}


def test_people_are_the_same_for_a_seed_and_do_not_depend_on_the_count():
    many = demo_people(300)

    assert demo_people(300) == many
    assert demo_people(50) == many[:50]
    assert demo_people(300, seed=1) != many
    assert demo_workers(many) == demo_workers(demo_people(300))
    assert demo_people(0) == many[:4]  # the demo ASN and the README's role holders


def test_people_have_valid_looking_nips_and_mobile_numbers():
    people = demo_people(1000)

    assert people[0].nip == DEMO_ASN.nip and people[0].name == DEMO_ASN.name
    assert people[0].phone == "+6281234567890" and people[0].unit == DEMO_ASN.unit
    assert len({person.nip for person in people}) == 1000
    assert len({person.phone for person in people}) == 1000
    for person in people:
        born = parse_nip(person.nip).birth_date
        assert 1965 <= born.year <= 2000
        appointed = date(int(person.nip[8:12]), int(person.nip[12:14]), 1)
        assert date(born.year + 18, born.month, 1) < appointed <= date(2024, 12, 1)
        assert person.nip[14] in "12" and 1 <= int(person.nip[15:]) <= 999
        number = phonenumbers.parse(person.phone)
        assert phonenumbers.is_valid_number(number) and person.phone.startswith("+628")
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        assert person.unit in OPD_NAMES
        assert person.name and person.kecamatan and person.position
    assert len(OPD_NAMES) == len(set(OPD_NAMES)) == 38
    assert len({person.unit for person in people}) > 30


def test_workers_have_structurally_valid_kendal_niks():
    people = demo_people(2000)
    workers = demo_workers(people)

    assert len(workers) == round(2000 * COVERAGE) == 188
    assert not {DEMO_ASN.nip, *(person.nip for person in DEMO_ROLE_HOLDERS)} & {
        worker.asn_nip for worker in workers}
    assert len({worker.asn_nip for worker in workers}) == len(workers)
    assert len({worker.nik for worker in workers}) == len(workers)
    codes = {item.nik_region for item in read_kecamatan()}
    for worker in workers:
        nik = parse_nik(worker.nik)
        assert nik.region in codes and nik.region.startswith("3324")
        assert (nik.day, nik.month, nik.year2) == (
            worker.birth_date.day, worker.birth_date.month, worker.birth_date.year % 100)
        assert worker.nik[12:] != "0000"
    assert {worker.status for worker in workers} == {"submitted", "verified", "active"}
    assert any(parse_nik(worker.nik).female for worker in workers)


async def test_demo_data_is_written_once_however_often_it_runs(app_any_db, capsys):
    await write_demo_data(app_any_db, asn_count=300)
    out = capsys.readouterr().out
    first = await table_counts(app_any_db)

    await write_demo_data(app_any_db, asn_count=300)

    again = capsys.readouterr().out
    assert "20 kecamatan, 38 OPD, 300 ASN fiktif (300 baru, 0 diperbarui)" in out
    assert "Pekerja rentan terlindungi: 28 (9,33% dari ASN)" in out
    assert "300 ASN fiktif (0 baru, 0 diperbarui)" in again and "0 baru ditulis" in again
    assert await table_counts(app_any_db) == first == {
        "units": 58, "asn": 300, "workers": 28, "enrollments": 28, "consents": 28,
        "deduction_agreements": 28,
    }
    assert await count(app_any_db, Unit, Unit.kind == "kecamatan", Unit.code.like("33.24.%")) == 20


async def test_about_one_asn_in_ten_protects_a_worker_and_the_demo_asn_none(app):
    await write_demo_data(app, asn_count=1000)

    async with app.sessions() as session:
        demo_id = await session.scalar(select(Asn.id).where(Asn.nip == DEMO_ASN.nip))
        statuses = dict((await session.execute(
            select(Enrollment.status, func.count()).group_by(Enrollment.status))).all())
        protecting = await session.scalar(select(func.count(func.distinct(Enrollment.asn_id))))
        active_without_kpj = await session.scalar(
            select(func.count()).select_from(Enrollment)
            .where(Enrollment.status == "active", Enrollment.kpj_number.is_(None)))
        agreements = (await session.scalars(select(DeductionAgreement))).all()
    assert protecting == 94  # 9.4% of 1,000, Kendal's 9.42% rounded
    assert await count(app, Enrollment, Enrollment.asn_id == demo_id) == 0
    assert set(statuses) == {"submitted", "verified", "active"}
    assert sum(statuses.values()) == 94
    assert active_without_kpj == 0
    assert all(agreement.monthly_total == 16_800 and "Rp16.800" in agreement.wording
               for agreement in agreements)


async def test_the_demo_asn_logs_in_through_the_chat(app):
    await write_demo_data(app, asn_count=100)
    client = ChatClient(app, user_id="2001")

    await client.send("/mulai")
    await client.send(DEMO_ASN.nip)
    shown = await client.share_contact(DEMO_ASN.phone_local)

    seen = texts(shown)
    assert f"{DEMO_ASN.name} ({DEMO_ASN.unit})" in seen
    assert "Menu utama" in seen and "Anda belum melindungi pekerja" in seen


async def test_no_nik_phone_or_birth_date_of_a_worker_is_stored_in_clear(app):
    await write_demo_data(app, asn_count=500)

    async with app.sessions() as session:
        workers = (await session.scalars(select(Worker))).all()
        dump = []
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(text(f"SELECT * FROM {table.name}")):
                dump.extend(str(value) for value in row if value is not None)
    everything = "\n".join(dump)
    secrets = []
    for worker in workers:
        nik = app.cipher.decrypt(worker.nik_enc)
        parse_nik(nik)
        assert worker.nik_hash == app.cipher.nik_hash(nik)
        assert worker.nik_masked == mask_nik(nik)
        secrets.append(nik)
        secrets.append(app.cipher.decrypt(worker.birth_date_enc))
        if worker.phone_enc:
            phone = app.cipher.decrypt(worker.phone_enc)
            secrets.extend([phone, "0" + phone[3:]])
    assert len(workers) == 47 and len(secrets) > 2 * 47
    leaked = [secret for secret in secrets if secret in everything]
    assert leaked == []


async def test_ensure_demo_data_fills_an_empty_roster_only(app, capsys):
    await ensure_demo_data(app)
    assert await count(app, Asn) == 1000
    capsys.readouterr()

    await ensure_demo_data(app)

    assert "Basis data sudah berisi 1.000 ASN; data demo tidak ditulis." in capsys.readouterr().out
    assert await count(app, Asn) == 1000


async def test_ensure_demo_data_leaves_a_real_roster_alone(app, capsys):
    await seed_roster(app)

    await ensure_demo_data(app)

    assert "data demo tidak ditulis" in capsys.readouterr().out
    assert await count(app, Asn) == 2 and await count(app, Worker) == 0


# --- the README's role commands and a second terminal user ---------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def demo_database(tmp_path, monkeypatch) -> Path:
    """A demo roster of 100 ASN in a SQLite file the command line is pointed at."""
    folder = tmp_path / "work"
    folder.mkdir()
    prepare_database(monkeypatch, make_settings(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"),
                     folder, lambda app: write_demo_data(app, asn_count=100))
    return tmp_path / "demo.db"


def test_every_role_command_of_the_readme_works_on_the_demo_roster(demo_database):
    commands = [shlex.split(line.split("asn-peduli", 1)[1])
                for line in README.read_text(encoding="utf-8").splitlines()
                if "asn-peduli role grant" in line and "NIP ROLE" not in line]
    assert len(commands) == 3
    for command in commands:
        code, out = run(*command)
        assert code == 0, (command, out)
    for person in DEMO_ROLE_HOLDERS:
        unit = {"coordinator": ["--unit", person.unit],
                "camat": ["--unit", f"Kecamatan {person.kecamatan}"], "admin": []}[person.role]
        code, out = run("role", "grant", person.nip, str(person.role), *unit)
        assert code == 0, (person, out)
    code, out = run("role", "list")
    assert "197001011995031002" in out and "Patebon" in out


def test_a_second_person_chats_as_another_console_user(demo_database):
    camat = DEMO_ROLE_HOLDERS[1]
    code, out = run("chat", "--user", "2",
                        stdin=f"{camat.nip}\n1\n{camat.phone_local}\n")

    assert code == 0, out
    assert f"Terima kasih, {camat.name} ({camat.unit}). Akun Anda sudah terhubung." in out
    states = dict(query(demo_database, "SELECT user_id, state FROM conversation_states"))
    assert states == {2: "Menu:main"}


async def test_a_message_for_another_console_user_says_whose_it_is(app):
    seen: list[str] = []
    console = ConsoleTransport(app.renderer, write=seen.append, own_chat="1")

    await console.send("1", OutgoingMessage("Untuk saya"))
    await console.send("2", OutgoingMessage("Ada pendaftaran baru", attachment=Attachment(
        filename="undangan.png", content_type="image/png", data=b"png")))

    assert seen[0] == "\nUntuk saya"
    assert seen[1].splitlines()[1:] == [
        "── Pesan untuk pengguna konsol 2 (bukan Anda) ──",
        "[Gambar terlampir: undangan.png]", "Ada pendaftaran baru"]
