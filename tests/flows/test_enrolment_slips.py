"""Issue 16 point 9: the slips of the enrolment a user walking it noticed: progress on every
step, a consent read as it is (no version code, no phone that was skipped), the truth about a
NIK already held, the ASN's own phone, and the age limit as soon as the NIK tells it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from storage.models import Consent, Enrollment
from tests.conftest import BUDI
from tests.support.chat import ChatClient
from tests.support.route import NIK_SITI, enrol

# Each answer of a whole enrolment and the step the question after it names.
WALK = [
    (("press", "➕ Daftarkan pekerja"), 1), (("press", "Asisten rumah tangga"), 2),
    (("send", NIK_SITI), 3), (("send", "Siti Aminah"), 4), (("send", "05-08-1980"), 4),
    (("press", "✅ Ya"), 5), (("press", "Pedagang kecil"), 6), (("press", "Lewati"), 7),
    (("send", "Ptebon"), 7), (("press", "Bukan"), 7), (("press", "Di luar"), 7),
    (("send", "Tugu, Kota Semarang"), 7), (("send", "Mangkang"), 8),
    (("press", "✅ Pekerja setuju"), 9), (("press", "✏️ Ubah"), 9),
]
STEP = re.compile(r"langkah (\d) dari 9")


async def act(client: ChatClient, how: str, value: str) -> list:
    return await (client.press(value) if how == "press" else client.send(value))


async def test_every_step_says_where_it_is_in_the_nine(budi):
    for (how, value), step in WALK:
        shown = await act(budi, how, value)
        found = STEP.findall(shown[-1].text)
        assert found == [str(step)], (value, shown[-1].text)
    shown = await budi.press("Nama")  # a field opened from the summary leads back to it
    assert "Ubah data pekerja" in shown[-1].text and not STEP.search(shown[-1].text)


async def test_the_consent_read_aloud_has_no_version_and_no_skipped_phone(budi):
    for (how, value), _ in WALK[:13]:  # up to the consent, with the phone skipped
        await act(budi, how, value)
    consent = budi.last.text
    assert "Persetujuan pekerja" in consent
    assert "(NIK, nama, tanggal lahir, dan alamat)" in consent
    assert "nomor HP" not in consent and "Versi" not in consent and "-v2" not in consent
    await budi.press("✅ Pekerja setuju")
    await budi.press("💾 Simpan")
    async with budi.app.sessions() as session:
        stored = (await session.scalars(select(Consent))).one()
    assert stored.wording_version == "persetujuan-data-v2"
    assert stored.wording in consent and "nomor HP" not in stored.wording


async def test_the_consent_names_the_phone_when_one_is_given(at):
    chat = await at("Enrollment:consent")  # the route gives 0857-1111-2222
    assert "(NIK, nama, tanggal lahir, nomor HP, dan alamat)" in chat.last.text


async def test_a_phone_added_after_the_consent_has_it_read_again(budi):
    for (how, value), _ in WALK[:14]:  # the summary, the phone skipped
        await act(budi, how, value)
    await budi.press("✏️ Ubah")
    await budi.press("No. HP")
    shown = await budi.send("0857-1111-2222")
    assert "persetujuan perlu dibacakan lagi" in shown[-1].text
    assert "nomor HP, dan alamat" in shown[-1].text
    assert (await budi.state())[0] == "Enrollment:consent"
    shown = await budi.press("✅ Pekerja setuju")
    assert "No. HP: +62857••••2222" in shown[-1].text
    await budi.press("💾 Simpan")
    async with budi.app.sessions() as session:
        stored = (await session.scalars(select(Consent))).one()
    assert "nomor HP" in stored.wording


async def test_a_phone_changed_after_a_consent_that_named_one_is_not_read_again(at):
    chat = await at("Enrollment:edit")
    await chat.press("No. HP")
    shown = await chat.send("0857-3333-4444")
    assert "Ringkasan pendaftaran" in shown[-1].text


async def test_a_refusal_when_read_again_after_going_back_ends_the_saved_draft(budi):
    for (how, value), _ in WALK[:14]:
        await act(budi, how, value)
    await budi.press("💾 Simpan")
    await budi.send("/kembali")
    await budi.press("✏️ Ubah")
    await budi.press("No. HP")
    await budi.send("0857-1111-2222")
    shown = await budi.press("❌ Pekerja tidak setuju")
    assert "tidak dilanjutkan" in shown[0].text
    async with budi.app.sessions() as session:
        enrollment = (await session.scalars(select(Enrollment))).one()
    assert enrollment.status == "stopped"
    assert enrollment.end_reason == "Pekerja tidak setuju saat persetujuan dibacakan ulang"


@pytest.mark.parametrize(("status", "said", "not_said"), [
    ("draft", "pendaftarannya sedang diproses", "terlindungi"),
    ("submitted", "pendaftarannya sedang diproses", "terlindungi"),
    ("verified", "pendaftarannya sedang diproses", "terlindungi"),
    ("registered", "sudah terlindungi", "sedang diproses"),
    ("active", "sudah terlindungi", "sedang diproses"),
])
async def test_a_held_nik_is_told_as_it_is(budi, sri, status, said, not_said):
    await enrol(budi, agree=status != "draft")
    async with budi.app.sessions.begin() as session:
        await session.execute(update(Enrollment).values(status=status))
    await sri.press("➕ Daftarkan pekerja")
    await sri.press("Tetangga")
    shown = await sri.send(NIK_SITI)
    assert len(shown) == 1 and said in shown[0].text and not_said not in shown[0].text
    assert "Budi" not in shown[0].text


@pytest.mark.parametrize("typed", [BUDI.phone_local, BUDI.phone, "0812-3456-7890"])
async def test_the_asns_own_phone_is_not_the_workers(at, typed):
    chat = await at("Enrollment:phone")
    stored = await chat.state()
    shown = await chat.send(typed)
    assert len(shown) == 1 and "nomor HP Anda sendiri" in shown[0].text
    assert shown[0].labels == ["Lewati"]
    assert await chat.state() == stored


@pytest.mark.parametrize(("nik", "born", "age"), [
    ("3324011205500003", "12 Mei 1950", 75),  # too old
    ("3324011205150003", "12 Mei 2015", 10),  # too young
])
async def test_the_age_limit_is_told_as_soon_as_the_nik_gives_the_date(at, nik, born, age):
    chat = await at("Enrollment:nik")
    shown = await chat.send(nik)
    assert len(shown) == 2, [m.text for m in shown]
    warning = shown[0].text
    assert f"lahir {born}" in warning and f"{age} tahun" in warning
    assert "15 sampai 65 tahun" in warning and "/batal" in warning
    assert "nama lengkap" in shown[1].text  # never refused for its date: the KTP may differ
    await chat.send("Siti Aminah")
    assert f"Menurut NIK, pekerja lahir {born}, di luar batas usia" in chat.last.text
    assert chat.last.buttons == [], "a date that cannot be registered is not offered"


async def test_after_the_age_warning_the_ktp_date_is_taken(at):
    chat = await at("Enrollment:nik")
    await chat.send("3324011205500003")  # the NIK says 1950
    await chat.send("Siti Aminah")
    shown = await chat.send("12-05-1970")  # the KTP says 1970: asked once, then taken
    assert "berbeda dari NIK (12 Mei 1950)" in shown[0].text
    assert shown[0].labels == ["✅ Ya, sudah benar"]  # the NIK's date is too old
    await chat.press("✅ Ya")
    state, data = await chat.state()
    assert (state, data["birth_date"]) == ("Enrollment:occupation", "1970-05-12")


async def test_the_nik_date_within_the_limits_gives_no_warning(at):
    chat = await at("Enrollment:nik")
    shown = await chat.send(NIK_SITI)
    assert len(shown) == 1 and "nama lengkap" in shown[0].text
