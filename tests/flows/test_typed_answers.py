"""Ordinary answers people type (issue 16, point 8): short dates, "Kec. Patebon" and
"Ptebon", a NIK a digit short, and a button's words typed instead of pressing it.

Each is walked through the real dispatcher on SQLite; what the user sees and what the
conversation or the database holds afterwards is checked, and every refusal leaves the
conversation as it was.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.console import ConsoleTransport
from flows.events import Kind, OutgoingButton, OutgoingMessage
from messages.renderer import Renderer
from storage.models import Enrollment, Unit
from tests.support.chat import ChatClient
from tests.support.route import NIK_SITI, enrol

# Another woman born 17 August 1980, for a second worker with Siti's name.
NIK_SITI_TWO = "3324015708800003"


async def refused(client: ChatClient, answer: str, *phrases: str) -> str:
    """`answer` gets one message holding every phrase, and the conversation does not move;
    the message's text."""
    before = await client.state()
    shown = await client.send(answer)
    assert len(shown) == 1, [message.text for message in shown]
    for phrase in phrases:
        assert phrase in shown[0].text, shown[0].text
    assert await client.state() == before
    return shown[0].text


async def kecamatan_unit(client: ChatClient, name: str) -> int:
    async with client.app.sessions() as session:
        unit = await session.scalar(
            select(Unit.id).where(Unit.name == name, Unit.kind == "kecamatan"))
    assert unit is not None
    return unit


# --- birth date -----------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["17/8/80", "17-8-80", "17.8.80", "17081980",
                                   "17 agustus 1980", "17 agt 80", "17 Agt '80"])
async def test_a_short_birth_date_is_read_the_indonesian_way(at, typed):
    chat = await at("Enrollment:birth_date")  # today is 21 August 2025
    shown = await chat.send(typed)
    assert "pekerjaan" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["birth_date"]) == ("Enrollment:occupation", "1980-08-17")


async def test_a_two_digit_year_is_never_a_date_to_come(at):
    chat = await at("Enrollment:birth_date")  # today is 21 August 2025
    # 2026, or tomorrow in 2025, would be to come: 26 and 25 are 1926 and 1925, too old.
    await refused(chat, "17/8/26", "99 tahun", "paling tinggi 65 tahun")
    await refused(chat, "22/8/25", "99 tahun", "paling tinggi 65 tahun")


@pytest.mark.parametrize("typed", ["31/2/80", "17/8", "1708198", "17 Augustus 80"])
async def test_a_short_date_that_cannot_be_read_is_still_explained(at, typed):
    chat = await at("Enrollment:birth_date")
    await refused(chat, typed, "Tanggal belum terbaca", "21/8/80")


# --- NIK ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "said"), [
    ("332401570880001", "yang Anda ketik 15 angka"),
    ("3324 0157 0880 001", "yang Anda ketik 15 angka"),  # spaces are not counted
    ("33240157088000012", "yang Anda ketik 17 angka"),
    ("3324-0157-0880-00012", "yang Anda ketik 17 angka"),
])
async def test_a_nik_of_the_wrong_length_says_how_many_digits_were_typed(at, typed, said):
    chat = await at("Enrollment:nik")
    text = await refused(chat, typed, "NIK belum sesuai", said, "16 angka")
    assert typed.replace(" ", "").replace("-", "") not in text  # never echoed back


@pytest.mark.parametrize(("typed", "said"), [
    ("33240157O8800001", "huruf atau tanda lain"),
    ("3324013208800001", "angka ke-7 sampai ke-12 adalah tanggal lahir"),
    ("3300015708800001", "empat angka pertamanya"),
    ("3324015708800000", "tidak mungkin 0000"),
])
async def test_a_malformed_nik_says_which_part_is_wrong(at, typed, said):
    chat = await at("Enrollment:nik")
    await refused(chat, typed, "NIK belum sesuai", said)


async def test_a_nik_with_dashes_is_taken(at):
    chat = await at("Enrollment:nik")
    await chat.send("3324-0157-0880-0001")
    state, data = await chat.state()
    assert (state, data["nik"]) == ("Enrollment:name", NIK_SITI)


# --- kecamatan ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["Kec. Patebon", "kecamatan patebon", "PATEBON",
                                   "  patebon ", "Kec.Patebon", "Patebon, Kendal"])
async def test_a_kecamatan_written_as_people_write_it_is_taken(at, typed):
    chat = await at("Enrollment:kecamatan")
    shown = await chat.send(typed)
    assert "(Kecamatan Patebon)" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["kecamatan"], data["kecamatan_id"]) == (
        "Enrollment:desa", "Patebon", await kecamatan_unit(chat, "Patebon"))


async def test_a_near_miss_asks_did_you_mean_and_takes_nothing_yet(at):
    chat = await at("Enrollment:kecamatan")
    shown = await chat.send("Ptebon")
    assert len(shown) == 1 and "Maksud Anda Kecamatan Patebon?" in shown[0].text
    assert shown[0].labels == ["✅ Ya, Patebon", "Bukan, pilih lagi"]
    state, data = await chat.state()
    assert state == "Enrollment:kecamatan_confirm"
    assert "kecamatan" not in data and "kecamatan_id" not in data


@pytest.mark.parametrize("how", ["press", "ya", "Ya, Patebon"])
async def test_yes_takes_the_kecamatan_offered(at, how):
    chat = await at("Enrollment:kecamatan_confirm")
    shown = await (chat.press("✅ Ya, Patebon") if how == "press" else chat.send(how))
    assert "(Kecamatan Patebon)" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["kecamatan"], data["kecamatan_id"]) == (
        "Enrollment:desa", "Patebon", await kecamatan_unit(chat, "Patebon"))
    assert "kecamatan_offered" not in data


@pytest.mark.parametrize("how", ["press", "bukan", "/kembali"])
async def test_no_goes_back_to_the_list_with_nothing_taken(at, how):
    chat = await at("Enrollment:kecamatan_confirm")
    shown = await (chat.press("Bukan") if how == "press" else chat.send(how))
    assert shown[-1].labels == ["Kaliwungu", "Patebon", "Kendal", "Di luar Kabupaten Kendal"]
    state, data = await chat.state()
    assert state == "Enrollment:kecamatan"
    assert not {"kecamatan", "kecamatan_id"} & set(data)


async def test_at_did_you_mean_another_name_may_be_typed(at):
    chat = await at("Enrollment:kecamatan_confirm")
    await chat.send("kec. kaliwungu")
    state, data = await chat.state()
    assert (state, data["kecamatan"]) == ("Enrollment:desa", "Kaliwungu")


async def test_at_did_you_mean_a_name_far_from_every_one_is_explained(at):
    chat = await at("Enrollment:kecamatan_confirm")
    await refused(chat, "Tugu", "tidak ada di daftar Kabupaten Kendal")
    assert chat.last.labels == ["✅ Ya, Patebon", "Bukan, pilih lagi"]


async def test_a_name_far_from_every_kecamatan_is_explained_and_offers_nothing(at):
    chat = await at("Enrollment:kecamatan")
    await refused(chat, "Kec. Tugu", "tidak ada di daftar Kabupaten Kendal",
                  "ketik lagi namanya")


# --- a button's words -----------------------------------------------------------------------

@pytest.mark.parametrize(("state", "typed", "after"), [
    ("Menu:main", "➕ daftarkan PEKERJA", "Enrollment:relationship"),
    ("Menu:main", "pekerja saya!", "Workers:list"),
    ("Enrollment:relationship", "keluarga saudara", "Enrollment:nik"),
    ("Enrollment:birth_date", "ya, 17 agustus 1980", "Enrollment:occupation"),
    ("Enrollment:occupation", "pedagang kecil", "Enrollment:phone"),
    ("Enrollment:occupation", "ojek pengemudi", "Enrollment:phone"),
    ("Enrollment:consent", "pekerja setuju", "Enrollment:summary"),
    ("Enrollment:summary", "💾simpan", "Deduction:confirm"),
    ("Deduction:confirm", "saya setuju", "Menu:main"),
])
async def test_a_buttons_words_typed_count_as_pressing_it(at, state, typed, after):
    chat = await at(state)
    await chat.send(typed)
    assert (await chat.state())[0] == after, chat.last.text


async def test_a_buttons_words_with_a_name_stop_that_worker(at):
    chat = await at("Workers:list")
    assert "⛔ Hentikan: SITI AMINAH" in chat.last.labels
    shown = await chat.send("hentikan siti aminah")
    state, data = await chat.state()
    async with chat.app.sessions() as session:
        siti = await session.scalar(select(Enrollment.id))
    assert (state, data["stop_id"]) == ("Workers:stop_reason", siti), shown[-1].text


async def test_words_that_fit_two_buttons_pick_neither(at):
    chat = await at("Menu:main")
    await enrol(chat, NIK_SITI)
    await enrol(chat, NIK_SITI_TWO)  # another Siti Aminah
    await chat.press("👥 Pekerja saya")
    assert chat.last.labels.count("⛔ Hentikan: SITI AMINAH") == 2
    text = await refused(chat, "hentikan siti aminah", "lebih dari satu tombol",
                         "Tekan langsung tombol")
    assert text.count('"⛔ Hentikan: SITI AMINAH"') == 2
    assert chat.last.labels.count("⛔ Hentikan: SITI AMINAH") == 2  # the buttons again


async def test_an_invalid_answer_near_a_buttons_words_is_still_explained(at):
    chat = await at("Enrollment:consent")
    await refused(chat, "pekerja setuju sekali", "pilih salah satu tombol")
    chat = await at("Enrollment:birth_date")
    await refused(chat, "ya 17 agustus", "Tanggal belum terbaca")


async def test_the_terminal_reads_a_buttons_words_by_the_same_rule():
    console = ConsoleTransport(Renderer(), write=lambda _text: None)
    await console.send("7", OutgoingMessage("Pilih:", buttons=(
        (OutgoingButton("✅ Setujui no. 5", "co:ok:5"),
         OutgoingButton("❌ Tolak no. 5", "co:no:5")),
        (OutgoingButton("⛔ Hentikan: DEWI", "wk:stop:1"),),
        (OutgoingButton("⛔ Hentikan: Dewi", "wk:stop:2"),),
    )))
    pressed = console.incoming("7", "setujui no. 5")
    assert (pressed.kind, pressed.payload) == (Kind.BUTTON, "co:ok:5")
    assert console.incoming("7", "2").payload == "co:no:5"
    assert console.incoming("7", "²").kind is Kind.TEXT  # int("²") used to raise here
    # Two fit: passed on as typed, for the flow to explain.
    ambiguous = console.incoming("7", "hentikan dewi")
    assert (ambiguous.kind, ambiguous.text) == (Kind.TEXT, "hentikan dewi")
