"""Enrol a worker: every step, its bad inputs, the summary's "Ubah", and one holder per NIK."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, select

from storage.models import Consent, Enrollment, Unit, Worker
from tests.support.chat import ChatClient, texts
from tests.support.route import NIK_ANDI, NIK_SITI, enrol, reach, stop_first

HELD = "pendaftarannya sedang diproses"  # submitted or a draft: not protected yet
# A woman born 21 August 1980 (day 61 = 21 + 40): typed dates of that day agree with her NIK.
NIK_21_AUGUST = "3324016108800003"


async def rows(client: ChatClient, model) -> list:
    async with client.app.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def count(client: ChatClient, model) -> int:
    async with client.app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def refused(client: ChatClient, answer: str, phrase: str) -> None:
    """`answer` gets one message holding `phrase`, and the conversation does not move."""
    before = await client.state()
    shown = await client.send(answer)
    assert len(shown) == 1 and phrase in shown[0].text, [m.text for m in shown]
    assert await client.state() == before


# --- relationship ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("answer", "stored"),
    [("Keluarga/saudara", "keluarga"), ("Asisten rumah tangga", "art"),
     ("Tetangga", "tetangga"), ("Lainnya", "lainnya")],
)
async def test_relationship_by_button(at, answer, stored):
    chat = await at("Enrollment:relationship")
    shown = await chat.press(answer)
    assert "NIK" in shown[-1].text
    assert await chat.state() == ("Enrollment:nik", {"relationship": stored})


@pytest.mark.parametrize(("typed", "stored"), [("2", "art"), ("saudara", "keluarga"),
                                               ("  TETANGGA ", "tetangga")])
async def test_relationship_typed(at, typed, stored):
    chat = await at("Enrollment:relationship")
    await chat.send(typed)
    assert await chat.state() == ("Enrollment:nik", {"relationship": stored})


async def test_relationship_typed_outside_the_list_asks_for_a_button(at):
    chat = await at("Enrollment:relationship")
    await refused(chat, "sepupu jauh", "pilih salah satu tombol")
    await refused(chat, "5", "pilih salah satu tombol")


# --- NIK ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "nik",
    [
        "332401570880001",  # 15 digits
        "33240157088000012",  # 17 digits
        "33240157O8800001",  # a letter O for a zero
        "3324013208800001",  # day 32
        "3324017208800001",  # day 72 (a woman's day 32)
        "3324010008800001",  # day 0
        "3324011513800001",  # month 13
        "3324011500800001",  # month 0
        "0024011508800001",  # no province 00
        "3300011508800001",  # no regency 00
        "3324011508800000",  # serial 0000
        "NIK 3324015708800001",
    ],
)
async def test_a_malformed_nik_is_explained(at, nik):
    chat = await at("Enrollment:nik")
    await refused(chat, nik, "NIK belum sesuai")


@pytest.mark.parametrize(
    ("typed", "nik", "suggested"),
    [
        ("3324015708800001", "3324015708800001", "1980-08-17"),  # a woman: day 57 = 17 + 40
        ("3324011205900002", "3324011205900002", "1990-05-12"),  # a man
        ("3374014107010003", "3374014107010003", "2001-07-01"),  # Kota Semarang, not Kendal
        ("3171010101990004", "3171010101990004", "1999-01-01"),  # Jakarta
        ("3324 0157 0880 0001", "3324015708800001", "1980-08-17"),  # spaces
        ("3324.0157.0880.0001", "3324015708800001", "1980-08-17"),  # dots
    ],
)
async def test_a_well_formed_nik_from_anywhere_is_taken(at, typed, nik, suggested):
    chat = await at("Enrollment:nik")
    shown = await chat.send(typed)
    assert "nama lengkap" in shown[-1].text
    state, data = await chat.state()
    assert state == "Enrollment:name"
    assert (data["nik"], data["nik_birth_date"]) == (nik, suggested)


async def test_the_birth_date_is_offered_from_the_nik_and_may_differ(at):
    chat = await at("Enrollment:birth_date")
    assert "17 Agustus 1980" in chat.last.text
    assert chat.last.labels == ["✅ Ya, 17 Agustus 1980"]
    await chat.send("01-01-1981")  # the KTP says otherwise: asked once, then the typed date wins
    await chat.press("✅ Ya")
    assert (await chat.state())[1]["birth_date"] == "1981-01-01"


async def at_birth_date_of(at, nik: str) -> ChatClient:
    """The birth date step of a worker with this NIK."""
    chat = await at("Enrollment:nik")
    await chat.send(nik)
    await chat.send("Siti Aminah")
    assert (await chat.state())[0] == "Enrollment:birth_date", chat.last.text
    return chat


async def test_a_nik_whose_date_does_not_exist_asks_for_the_date_without_an_offer(at):
    chat = await at("Enrollment:nik")
    await chat.send("3324012902810001")  # 29 February 1981 never happened
    shown = await chat.send("Siti Aminah")
    assert "Ketik tanggal lahir" in shown[-1].text and shown[-1].buttons == []
    await chat.send("28-02-1981")
    assert (await chat.state())[0] == "Enrollment:occupation"


# --- name -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name",
    ["<b>Siti</b>", "Siti Aminah 2", "Siti_Aminah", "😀😀😀", "Siti 😀", "S", "12345",
     "Siti; DROP TABLE workers", "Siti\u200bAminah"],
)
async def test_a_name_that_is_not_a_name_is_explained(at, name):
    chat = await at("Enrollment:name")
    await refused(chat, name, "Nama hanya boleh")


async def test_a_very_long_name_is_explained(at):
    chat = await at("Enrollment:name")
    await refused(chat, "Siti " * 1000, "lebih dari 100 huruf")
    await refused(chat, "A" * 101, "lebih dari 100 huruf")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("Siti Aminah", "SITI AMINAH"), ("  siti   aminah ", "SITI AMINAH"),
     ("Muh. Ali", "MUH. ALI"), ("Ni Luh Putu Ayu", "NI LUH PUTU AYU"),
     ("Ma'ruf", "MA'RUF"), ("Siti-Aminah", "SITI-AMINAH"),
     ("Dwi Hartono, S.Pd.", "DWI HARTONO, S.PD.")],
)
async def test_names_as_on_a_ktp_are_taken_in_capitals(at, typed, stored):
    chat = await at("Enrollment:name")
    await chat.send(typed)
    state, data = await chat.state()
    assert (state, data["name"]) == ("Enrollment:birth_date", stored)


# --- birth date -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "typed",
    ["21-08-1980", "21/08/1980", "21/8/1980", "21.08.1980", "21 Agustus 1980",
     "21 agustus 1980", "21 Agt 1980", "21 agu. 1980", " 21 - 08 - 1980 "],
)
async def test_birth_date_typed_the_indonesian_way(at, typed):
    chat = await at_birth_date_of(at, NIK_21_AUGUST)
    shown = await chat.send(typed)
    assert "pekerjaan" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["birth_date"]) == ("Enrollment:occupation", "1980-08-21")


# "21-08-80" and "21081980" are read now (tests/flows/test_typed_answers.py).
@pytest.mark.parametrize("typed", ["1980-08-21", "kemarin", "31-02-1980",
                                   "21 Augustus 1980", "00-08-1980"])
async def test_a_date_that_cannot_be_read_is_explained(at, typed):
    chat = await at("Enrollment:birth_date")
    await refused(chat, typed, "Tanggal belum terbaca")


async def test_a_birth_date_after_today_is_refused(at):
    chat = await at("Enrollment:birth_date")  # today is 21 August 2025
    await refused(chat, "22-08-2025", "tidak boleh setelah hari ini")


@pytest.mark.parametrize(
    ("typed", "taken"),
    [("20-08-1959", False),  # 66 years old
     ("22-08-1959", True),  # still 65: the birthday is tomorrow
     ("21-08-1960", True),  # 65 today
     ("22-08-2010", False),  # 14
     ("21-08-2010", True)],  # 15 today
)
async def test_the_age_limits_at_registration(at, typed, taken):
    chat = await at("Enrollment:birth_date")
    shown = await chat.send(typed)
    if taken:  # taken, then asked about once: the NIK says 17 August 1980
        assert (await chat.state())[0] == "Enrollment:birth_date_check"
    else:
        assert (await chat.state())[0] == "Enrollment:birth_date"
        assert len(shown) == 1
        assert ("66 tahun" in shown[0].text and "paling tinggi 65 tahun" in shown[0].text) or (
            "14 tahun" in shown[0].text and "paling rendah 15 tahun" in shown[0].text)


async def test_the_maximum_age_is_a_setting(make_app):
    chat = ChatClient(await make_app(enrolment_max_age=60), user_id="1001")
    await reach(chat, "Enrollment:birth_date")
    await refused(chat, "20-08-1964", "paling tinggi 60 tahun")  # 61
    await chat.send("22-08-1964")  # 60
    assert (await chat.state())[0] == "Enrollment:birth_date_check"


async def test_pressing_the_nik_date_is_checked_too(at):
    chat = await at("Enrollment:nik")
    await chat.send("3324011205500003")  # 12 May 1950: 75 years old, so not offered
    await chat.send("Siti Aminah")
    shown = await chat.press_payload("dob:nik", "✅ Ya, 12 Mei 1950")  # an old button
    assert len(shown) == 1 and "75 tahun" in shown[0].text
    assert (await chat.state())[0] == "Enrollment:birth_date"


# --- occupation -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("do", "stored"),
    [(("press", "Nelayan"), "nelayan"), (("press", "Ojek/pengemudi"), "ojek"),
     (("send", "nelayan"), "nelayan"), (("send", "1"), "petani"),
     (("send", "Asisten Rumah Tangga"), "art"), (("send", "pengemudi"), "ojek")],
)
async def test_occupation_by_button_or_typed(at, do, stored):
    chat = await at("Enrollment:occupation")
    how, value = do
    await (chat.press(value) if how == "press" else chat.send(value))
    state, data = await chat.state()
    assert (state, data["occupation"]) == ("Enrollment:phone", stored)


async def test_an_occupation_outside_the_list_asks_for_a_button(at):
    chat = await at("Enrollment:occupation")
    await refused(chat, "astronot", "pilih salah satu tombol")
    assert "Lainnya" in chat.last.labels


# --- the worker's phone ---------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["0857-1111-2222", "085711112222", "+62 857 1111 2222",
                                   "6285711112222", "(0857) 1111 2222"])
async def test_the_worker_phone_is_stored_in_e164(at, typed):
    chat = await at("Enrollment:phone")
    await chat.send(typed)
    state, data = await chat.state()
    assert (state, data["phone"]) == ("Enrollment:kecamatan", "+6285711112222")


@pytest.mark.parametrize("typed", ["12345", "0857", "0857111122223333", "nomor HP",
                                   "+1 555"])
async def test_an_invalid_phone_is_explained(at, typed):
    chat = await at("Enrollment:phone")
    await refused(chat, typed, "Nomor HP belum sesuai")
    assert chat.last.labels == ["Lewati"]


@pytest.mark.parametrize("how", ["button", "lewati", "tidak ada", "-"])
async def test_the_worker_phone_can_be_skipped(at, how):
    chat = await at("Enrollment:phone")
    await (chat.press("Lewati") if how == "button" else chat.send(how))
    state, data = await chat.state()
    assert (state, data["phone"]) == ("Enrollment:kecamatan", None)


# --- kecamatan and desa ---------------------------------------------------------------------

async def test_kecamatan_list_of_the_region_with_an_outside_choice(at):
    chat = await at("Enrollment:kecamatan")
    assert chat.last.labels == ["Kaliwungu", "Patebon", "Kendal", "Di luar Kabupaten Kendal"]


@pytest.mark.parametrize(("do", "name"), [(("press", "Patebon"), "Patebon"),
                                          (("send", "kaliwungu"), "Kaliwungu"),
                                          (("send", "KENDAL"), "Kendal")])
async def test_kecamatan_by_button_or_typed_name(at, do, name):
    chat = await at("Enrollment:kecamatan")
    how, value = do
    shown = await (chat.press(value) if how == "press" else chat.send(value))
    assert f"(Kecamatan {name})" in shown[-1].text
    state, data = await chat.state()
    async with chat.app.sessions() as session:
        unit = await session.scalar(
            select(Unit).where(Unit.name == name, Unit.kind == "kecamatan"))
    assert (state, data["kecamatan"], data["kecamatan_id"]) == ("Enrollment:desa", name, unit.id)


async def test_a_kecamatan_not_on_the_list_points_to_the_outside_button(at):
    chat = await at("Enrollment:kecamatan")
    await refused(chat, "Tugu", "tidak ada di daftar Kabupaten Kendal")
    assert 'tekan "Di luar Kabupaten Kendal"' in chat.last.text
    assert chat.last.labels == ["Kaliwungu", "Patebon", "Kendal", "Di luar Kabupaten Kendal"]


@pytest.mark.parametrize("how", ["button", "lainnya", "luar"])
async def test_outside_the_region_the_kecamatan_is_typed(at, how):
    chat = await at("Enrollment:kecamatan")
    shown = await (chat.press("Di luar") if how == "button" else chat.send(how))
    assert "di luar Kabupaten Kendal" in shown[-1].text
    assert (await chat.state())[0] == "Enrollment:kecamatan_other"
    await refused(chat, "<b>Tugu</b>", "Nama tempat belum sesuai")
    await refused(chat, "123", "Nama tempat belum sesuai")
    await chat.send("Kecamatan Tugu, Kota Semarang")
    state, data = await chat.state()
    assert state == "Enrollment:desa"
    assert (data["kecamatan"], data["kecamatan_id"]) == ("Kecamatan Tugu, Kota Semarang", None)


async def test_outside_the_region_the_summary_shows_the_place_as_typed(at):
    chat = await at("Enrollment:kecamatan_other")
    await chat.send("Kecamatan Tugu, Kota Semarang")
    assert "Kecamatan Kecamatan" not in chat.last.text
    await chat.send("Mangkang Kulon")
    await chat.press("✅ Pekerja setuju")
    assert "Alamat: Mangkang Kulon, Kecamatan Tugu, Kota Semarang" in chat.last.text
    assert "Kecamatan Kecamatan" not in chat.last.text


async def test_without_a_kecamatan_list_the_kecamatan_is_typed(chat):
    async with chat.app.sessions.begin() as session:
        await session.execute(delete(Unit).where(Unit.kind == "kecamatan"))
    await reach(chat, "Enrollment:kecamatan")
    assert "Ketik kecamatan dan kabupaten/kota" in chat.last.text and chat.last.buttons == []
    await chat.send("Tugu, Kota Semarang")
    state, data = await chat.state()
    assert (state, data["kecamatan"], data["kecamatan_id"]) == (
        "Enrollment:desa", "Tugu, Kota Semarang", None)


@pytest.mark.parametrize("desa", ["<b>Desa</b>", "12", "😀", "Desa; rm -rf", "#1"])
async def test_a_desa_that_is_not_a_place_name_is_explained(at, desa):
    chat = await at("Enrollment:desa")
    await refused(chat, desa, "Nama tempat belum sesuai")


@pytest.mark.parametrize("desa", ["Kumpulrejo", "Kel. Bandengan", "Desa Sukorejo (RT 02/RW 03)",
                                  "Ngilir-Kulon"])
async def test_desa_names_are_taken(at, desa):
    chat = await at("Enrollment:desa")
    shown = await chat.send(desa)
    assert "Persetujuan pekerja" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["desa"]) == ("Enrollment:consent", desa)


# --- consent --------------------------------------------------------------------------------

async def test_the_consent_wording_names_the_worker_not_its_version(at):
    """The ASN reads the words aloud to the worker: a version code is nothing to read."""
    chat = await at("Enrollment:consent")
    assert "Saya, SITI AMINAH, setuju data diri saya" in chat.last.text
    assert "persetujuan-data" not in chat.last.text and "Versi" not in chat.last.text
    assert chat.last.labels == ["✅ Pekerja setuju", "❌ Pekerja tidak setuju"]


@pytest.mark.parametrize("how", ["button", "tidak"])
async def test_refused_consent_saves_nothing_and_clears_the_form(at, how):
    chat = await at("Enrollment:consent")
    shown = await (chat.press("❌ Pekerja tidak setuju") if how == "button" else chat.send(how))
    assert "tidak dilanjutkan" in shown[0].text and "Menu utama" in shown[-1].text
    assert await chat.state() == ("Menu:main", {})
    for model in (Worker, Enrollment, Consent):
        assert await count(chat, model) == 0


async def test_given_consent_is_stored_with_wording_version_time_and_channel(at, clock):
    chat = await at("Enrollment:summary")
    await chat.press("💾 Simpan")
    consent = (await rows(chat, Consent))[0]
    assert consent.wording_version == "persetujuan-data-v2"  # recorded, not read aloud
    assert consent.wording == chat.app.renderer.text(
        "enrollment/consent_wording", {"worker": "SITI AMINAH", "phone": True}
    )
    read = [m.text for m in chat.history if "Persetujuan pekerja" in m.text][-1]
    assert consent.wording in read, "the words stored are the words read"
    assert (consent.given_at, consent.channel) == (clock.now, "console")


# --- summary --------------------------------------------------------------------------------

async def test_the_summary_shows_every_field_with_personal_data_masked(at):
    chat = await at("Enrollment:summary")
    summary = chat.last.text
    for line in ["Hubungan: Asisten rumah tangga", "NIK: 3324••••••••0001",
                 "Nama: SITI AMINAH", "Tanggal lahir: 17 Agustus 1980",
                 "Pekerjaan: Pedagang kecil", "No. HP: +62857••••2222",
                 "Alamat: Kumpulrejo, Kecamatan Patebon"]:
        assert line in summary, line
    assert NIK_SITI not in summary and "85711112222" not in summary
    assert chat.last.labels == ["💾 Simpan", "✏️ Ubah", "Batal"]


# Each field: the button under "Ubah", how to answer, the summary line, and where it is kept.
EDITS = {
    "relationship": ("Hubungan", [("press", "Tetangga")], "Hubungan: Tetangga"),
    # Both disagree with the birth date or the NIK kept: asked once, and kept ("✅ Ya").
    "nik": ("NIK", [("send", NIK_ANDI), ("press", "✅ Ya")], "NIK: 3324••••••••0002"),
    "name": ("Nama", [("send", "Siti Rahayu")], "Nama: SITI RAHAYU"),
    "birth_date": ("Tanggal lahir", [("send", "1 Januari 1981"), ("press", "✅ Ya")],
                   "Tanggal lahir: 1 Januari 1981"),
    "occupation": ("Pekerjaan", [("press", "Nelayan")], "Pekerjaan: Nelayan"),
    "phone": ("No. HP", [("press", "Lewati")], "No. HP: tidak ada"),
    "address": ("Alamat", [("press", "Kendal"), ("send", "Jetis")],
                "Alamat: Jetis, Kecamatan Kendal"),
}


@pytest.mark.parametrize("field", list(EDITS))
async def test_ubah_changes_one_field_and_returns_to_the_summary(at, field):
    label, answers, line = EDITS[field]
    chat = await at("Enrollment:summary")
    _, before = await chat.state()
    await chat.press("✏️ Ubah")
    assert chat.last.labels == ["Hubungan", "NIK", "Nama", "Tanggal lahir", "Pekerjaan",
                                "No. HP", "Alamat", "⬅️ Kembali"]
    await chat.press(label)
    for how, value in answers:
        await (chat.press(value) if how == "press" else chat.send(value))
    assert line in chat.last.text and "Ringkasan pendaftaran" in chat.last.text
    state, after = await chat.state()
    assert state == "Enrollment:summary" and "editing" not in after
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    allowed = {"relationship": {"relationship"}, "nik": {"nik", "nik_birth_date"},
               "name": {"name"}, "birth_date": {"birth_date"}, "occupation": {"occupation"},
               "phone": {"phone"}, "address": {"kecamatan", "kecamatan_id", "desa"}}[field]
    assert changed and changed <= allowed, changed

    await chat.press("💾 Simpan")  # and what is saved is the changed value
    worker = (await rows(chat, Worker))[0]
    enrollment = (await rows(chat, Enrollment))[0]
    cipher = chat.app.cipher
    saved = {
        "relationship": enrollment.relationship,
        "nik": cipher.decrypt(worker.nik_enc),
        "name": worker.name,
        "birth_date": cipher.decrypt(worker.birth_date_enc),
        "occupation": worker.occupation,
        "phone": worker.phone_enc,
        "address": (worker.kecamatan_name, worker.desa),
    }[field]
    assert saved == {"relationship": "tetangga", "nik": NIK_ANDI, "name": "SITI RAHAYU",
                     "birth_date": "1981-01-01", "occupation": "nelayan", "phone": None,
                     "address": ("Kendal", "Jetis")}[field]


async def test_ubah_then_kembali_changes_nothing(at):
    chat = await at("Enrollment:summary")
    summary, stored = chat.last.text, await chat.state()
    await chat.press("✏️ Ubah")
    shown = await chat.press("⬅️ Kembali")
    assert shown[-1].text == summary
    assert await chat.state() == stored


async def test_a_field_opened_from_ubah_refuses_bad_input_and_still_returns(at):
    chat = await at("Enrollment:edit")
    await chat.press("Nama")
    await refused(chat, "<b>x</b>", "Nama hanya boleh")
    await chat.send("Siti Rahayu")
    assert (await chat.state())[0] == "Enrollment:summary"


async def test_ubah_alamat_to_outside_the_region(at):
    chat = await at("Enrollment:edit")
    await chat.press("Alamat")
    await chat.press("Di luar")
    await chat.send("Tugu, Kota Semarang")
    await chat.send("Mangkang")
    assert "Alamat: Mangkang, Tugu, Kota Semarang" in chat.last.text
    state, data = await chat.state()
    assert (state, data["kecamatan_id"]) == ("Enrollment:summary", None)


@pytest.mark.parametrize("how", ["button", "batal"])
async def test_cancel_from_the_summary_asks_then_saves_nothing(at, how):
    chat = await at("Enrollment:summary")
    stored = await chat.state()
    shown = await (chat.press("Batal") if how == "button" else chat.send(how))
    assert len(shown) == 1 and "8 jawaban" in shown[0].text  # a mis-tap beside "Ubah"
    assert (await chat.state())[0] == stored[0]
    shown = await chat.press("🗑️ Ya, batalkan")
    assert "Dibatalkan" in shown[0].text and "Menu utama" in shown[-1].text
    assert await chat.state() == ("Menu:main", {})
    assert await count(chat, Worker) == 0 and await count(chat, Enrollment) == 0


async def test_simpan_typed_saves_a_draft_and_opens_the_agreement(at):
    chat = await at("Enrollment:summary")
    shown = await chat.send("simpan")
    assert "Persetujuan potongan gaji" in shown[-1].text
    state, data = await chat.state()
    enrollment = (await rows(chat, Enrollment))[0]
    assert (state, data["enrollment_id"]) == ("Deduction:confirm", enrollment.id)
    assert data["form"]["nik"] == NIK_SITI  # kept for /kembali to the summary
    assert enrollment.status == "draft"


# --- one holder per NIK ---------------------------------------------------------------------

def never_names_budi(client: ChatClient) -> None:
    seen = texts(client.history)
    assert "Budi" not in seen and "BUDI" not in seen and "Kesehatan" not in seen


@pytest.mark.parametrize("agree", [True, False])
async def test_a_nik_held_by_another_asn_is_refused_without_naming_them(budi, sri, agree):
    await enrol(budi, NIK_SITI, agree=agree)  # agreed, or left as a draft: both hold it
    await sri.press("➕ Daftarkan pekerja")
    await sri.press("Tetangga")
    shown = await sri.send(NIK_SITI)
    assert len(shown) == 1 and HELD in shown[0].text and "3324••••••••0001" in shown[0].text
    assert await sri.state() == ("Enrollment:nik", {"relationship": "tetangga"})
    never_names_budi(sri)
    await sri.send(NIK_ANDI)  # another worker is fine
    assert (await sri.state())[0] == "Enrollment:name"


async def test_a_nik_one_already_holds_is_refused_too(budi):
    await enrol(budi, NIK_SITI)
    await budi.press("➕ Daftarkan pekerja")
    await budi.press("Tetangga")
    shown = await budi.send(NIK_SITI)
    assert HELD in shown[0].text


async def test_a_nik_taken_while_the_form_was_open_is_refused_at_saving(budi, sri):
    await sri.press("➕ Daftarkan pekerja")
    await sri.press("Tetangga")
    await sri.send(NIK_SITI)
    await sri.send("Siti Aminah")
    for label in ("✅ Ya", "Petani/pekebun", "Lewati", "Kendal"):
        await sri.press(label)
    await sri.send("Jetis")
    await sri.press("✅ Pekerja setuju")
    await enrol(budi, NIK_SITI)  # Budi saves the same worker first

    stored = await sri.state()
    shown = await sri.press("💾 Simpan")
    assert len(shown) == 1 and HELD in shown[0].text
    assert "Ubah" in shown[0].text, "the way out from the summary is named"
    assert shown[0].labels == ["💾 Simpan", "✏️ Ubah", "Batal"]
    assert await sri.state() == stored
    never_names_budi(sri)
    enrollments = await rows(sri, Enrollment)
    assert len(enrollments) == 1 and (await rows(sri, Worker))[0].name == "SITI AMINAH"

    await sri.press("✏️ Ubah")  # the way out works
    await sri.press("NIK")
    await sri.send(NIK_ANDI)
    await sri.press("✅ Ya")  # the birth date stays 17 August 1980, whatever Andi's NIK says
    await sri.press("💾 Simpan")
    assert (await sri.state())[0] == "Deduction:confirm"


async def test_a_nik_whose_enrolment_ended_can_be_enrolled_again(budi, sri):
    await enrol(budi, NIK_SITI)
    await stop_first(budi, "Tidak bekerja dengan saya lagi")

    await enrol(sri, NIK_SITI, name="Siti Aminah Lestari")
    enrollments = await rows(sri, Enrollment)
    assert [e.status for e in enrollments] == ["stopped", "submitted"]
    assert enrollments[0].worker_id == enrollments[1].worker_id
    assert (await rows(sri, Worker))[0].name == "SITI AMINAH LESTARI"


async def test_the_first_asn_can_enrol_the_worker_again_after_stopping(budi):
    await enrol(budi, NIK_SITI)
    await stop_first(budi)
    await budi.press("➕ Daftarkan pekerja")  # the list offers a new enrolment directly
    await budi.press("Keluarga/saudara")
    await budi.send(NIK_SITI)
    assert (await budi.state())[0] == "Enrollment:name"


async def test_the_whole_enrolment_stores_what_was_typed(at, clock):
    chat = await at("Deduction:confirm")
    worker = (await rows(chat, Worker))[0]
    enrollment = (await rows(chat, Enrollment))[0]
    cipher = chat.app.cipher
    assert cipher.decrypt(worker.nik_enc) == NIK_SITI
    assert worker.nik_hash == cipher.nik_hash(NIK_SITI) and worker.nik_masked == "3324••••••••0001"
    assert (worker.name, worker.occupation) == ("SITI AMINAH", "pedagang")
    assert date.fromisoformat(cipher.decrypt(worker.birth_date_enc)) == date(1980, 8, 17)
    assert cipher.decrypt(worker.phone_enc) == "+6285711112222"
    assert (worker.desa, worker.kecamatan_name) == ("Kumpulrejo", "Patebon")
    assert (enrollment.relationship, enrollment.status, enrollment.channel) == (
        "art", "draft", "console")
    assert enrollment.created_at == clock.now
