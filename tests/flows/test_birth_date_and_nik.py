"""Issue 16 point 3: a birth date that disagrees with the NIK is asked about once, never
refused (DESIGN §3), whether it was typed at its step or the NIK changed from the summary.

The route's worker is a woman whose NIK says 17 August 1980 (day 57 = 17 + 40)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import Worker
from tests.support.chat import ChatClient
from tests.support.route import NIK_ANDI

QUESTION = "Tanggal lahir 5 Agustus 1980 berbeda dari NIK (17 Agustus 1980). Sudah benar?"


async def saved_birth_date(client: ChatClient) -> date:
    async with client.app.sessions() as session:
        worker = (await session.scalars(select(Worker))).one()
    return date.fromisoformat(client.app.cipher.decrypt(worker.birth_date_enc))


async def test_a_typed_date_unlike_the_niks_is_asked_about_with_buttons(at):
    chat = await at("Enrollment:birth_date")
    shown = await chat.send("05-08-1980")
    assert len(shown) == 1 and QUESTION in shown[0].text
    assert "langkah 4 dari 9" in shown[0].text
    assert shown[0].labels == ["✅ Ya, sudah benar", "Pakai tanggal NIK"]
    state, data = await chat.state()
    assert state == "Enrollment:birth_date_check" and "birth_date" not in data


async def test_yes_keeps_the_typed_date_and_it_is_saved_as_given(at):
    chat = await at("Enrollment:birth_date_check")
    shown = await chat.press("✅ Ya")
    assert "pekerjaan" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["birth_date"]) == ("Enrollment:occupation", "1980-08-05")
    assert "birth_date_doubt" not in data
    for label in ("Pedagang kecil", "Lewati", "Patebon"):
        await chat.press(label)
    await chat.send("Kumpulrejo")
    shown = await chat.press("✅ Pekerja setuju")
    assert "Tanggal lahir: 5 Agustus 1980" in shown[-1].text
    await chat.press("💾 Simpan")
    assert await saved_birth_date(chat) == date(1980, 8, 5)


async def test_typed_yes_keeps_it_too(at):
    chat = await at("Enrollment:birth_date_check")
    await chat.send("ya")
    assert (await chat.state())[1]["birth_date"] == "1980-08-05"


async def test_the_niks_date_can_be_taken_instead(at):
    chat = await at("Enrollment:birth_date_check")
    await chat.press("Pakai tanggal NIK")
    state, data = await chat.state()
    assert (state, data["birth_date"]) == ("Enrollment:occupation", "1980-08-17")


async def test_a_date_typed_at_the_question_is_taken_without_asking_again(at):
    chat = await at("Enrollment:birth_date_check")
    await chat.send("06-08-1980")  # still not the NIK's: the ASN has just seen it
    state, data = await chat.state()
    assert (state, data["birth_date"]) == ("Enrollment:occupation", "1980-08-06")


async def test_a_date_typed_at_the_question_is_still_checked(at):
    chat = await at("Enrollment:birth_date_check")
    shown = await chat.send("20-08-1950")  # 75 years old
    assert len(shown) == 1 and "75 tahun" in shown[0].text
    assert (await chat.state())[0] == "Enrollment:birth_date_check"


async def test_kembali_at_the_question_asks_for_the_date_again(at):
    chat = await at("Enrollment:birth_date_check")
    shown = await chat.send("/kembali")
    assert "Dari NIK, tanggal lahir pekerja adalah 17 Agustus 1980" in shown[0].text
    assert (await chat.state())[0] == "Enrollment:birth_date"


async def test_a_date_that_agrees_with_the_nik_is_not_asked_about(at):
    chat = await at("Enrollment:birth_date")
    await chat.send("17 Agustus 1980")  # the NIK's 57 is a woman's 17
    assert (await chat.state())[0] == "Enrollment:occupation"


async def test_the_nik_names_no_century_so_either_agrees(at):
    chat = await at("Enrollment:nik")
    await chat.send("3324010101240004")  # 1 January 2024, or 1924
    await chat.send("Siti Aminah")
    shown = await chat.send("01-01-1924")  # 101 years old: refused for age, not for the NIK
    assert "101 tahun" in shown[0].text and "berbeda dari NIK" not in shown[0].text


async def test_a_nik_changed_from_the_summary_asks_about_the_birth_date_once(at):
    chat = await at("Enrollment:edit")
    await chat.press("NIK")
    shown = await chat.send(NIK_ANDI)  # a man born 12 May 1990
    assert len(shown) == 1
    assert ("Tanggal lahir 17 Agustus 1980 berbeda dari NIK (12 Mei 1990). Sudah benar?"
            in shown[0].text)
    assert "Ubah data pekerja" in shown[0].text
    shown = await chat.press("Pakai tanggal NIK")
    assert "Ringkasan pendaftaran" in shown[-1].text
    assert "Tanggal lahir: 12 Mei 1990" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["nik"], data["birth_date"]) == ("Enrollment:summary", NIK_ANDI,
                                                        "1990-05-12")


async def test_a_nik_changed_from_the_summary_that_agrees_goes_straight_back(at):
    chat = await at("Enrollment:edit")
    await chat.press("NIK")
    shown = await chat.send("3324015708800009")  # another serial, the same 17 August 1980
    assert "Ringkasan pendaftaran" in shown[-1].text
    assert (await chat.state())[0] == "Enrollment:summary"


async def test_a_birth_date_changed_from_the_summary_is_asked_about_then_returns(at):
    chat = await at("Enrollment:edit")
    await chat.press("Tanggal lahir")
    shown = await chat.send("05-08-1980")
    assert QUESTION in shown[0].text
    shown = await chat.press("✅ Ya")
    assert "Tanggal lahir: 5 Agustus 1980" in shown[-1].text
    assert (await chat.state())[0] == "Enrollment:summary"
