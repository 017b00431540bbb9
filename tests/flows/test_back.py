"""/kembali: one step back along the table, answers kept; while editing, back to the summary;
at a first step a kind word and nothing moves."""

from __future__ import annotations

import pytest

from tests.flows.route import NIK_SITI

BACK_ALONG_THE_FORM = [
    ("Identify:phone", "Identify:nip", "ketik NIP"),
    ("Enrollment:nik", "Enrollment:relationship", "hubungan pekerja"),
    ("Enrollment:name", "Enrollment:nik", "NIK"),
    ("Enrollment:birth_date", "Enrollment:name", "nama lengkap"),
    ("Enrollment:occupation", "Enrollment:birth_date", "tanggal lahir"),
    ("Enrollment:phone", "Enrollment:occupation", "pekerjaan"),
    ("Enrollment:kecamatan", "Enrollment:phone", "nomor HP"),
    ("Enrollment:kecamatan_other", "Enrollment:kecamatan", "kecamatan"),
    ("Enrollment:desa", "Enrollment:kecamatan", "kecamatan"),
    ("Enrollment:consent", "Enrollment:desa", "desa atau kelurahan"),
    ("Enrollment:summary", "Enrollment:consent", "Persetujuan pekerja"),
    ("Enrollment:edit", "Enrollment:summary", "Ringkasan pendaftaran"),
    ("Workers:stop_reason", "Workers:list", "Pekerja saya"),
    ("Workers:stop_confirm", "Workers:list", "Pekerja saya"),
    ("Coordinator:progress", "Coordinator:menu", "Koordinator Dinas Kesehatan"),
    ("Coordinator:pending", "Coordinator:menu", "Koordinator Dinas Kesehatan"),
    ("Coordinator:review", "Coordinator:pending", "Menunggu verifikasi"),
    ("Coordinator:confirm_approve", "Coordinator:review", "Apakah NIK, nama"),
    ("Coordinator:reject_reason", "Coordinator:review", "Apakah NIK, nama"),
    ("Coordinator:confirm_reject", "Coordinator:reject_reason", "Mengapa pendaftaran"),
    ("Broadcast:content", "Broadcast:audience", "Siapa yang akan menerima"),
    ("Broadcast:preview", "Broadcast:content", "Ketik pesan Anda"),
]


@pytest.mark.parametrize(("state", "previous", "question"), BACK_ALONG_THE_FORM)
async def test_kembali_goes_one_step_back_and_asks_again(at, state, previous, question):
    chat = await at(state)
    _, before = await chat.state()
    shown = await chat.send("/kembali")
    now, data = await chat.state()
    assert now == previous
    assert len(shown) == 1 and question in shown[0].text
    if previous == "Workers:list":
        assert data == {}  # the list holds nothing: the stop begun is forgotten
    elif previous == "Coordinator:menu":
        assert set(data) == {"unit_id", "unit_name"}  # the unit, not the page or a choice
    elif previous == "Coordinator:pending":
        assert "review_id" not in data  # the list forgets the enrolment that was open
    else:
        assert before.items() <= data.items()  # what was answered stays answered


@pytest.mark.parametrize("state", ["Identify:nip", "Menu:main", "Enrollment:relationship",
                                   "Workers:list", "Deduction:confirm", "Coordinator:menu",
                                   "Broadcast:audience", "Broadcast:progress"])
async def test_kembali_at_a_first_step_says_so_and_stays(at, state):
    chat = await at(state)
    before = await chat.state()
    shown = await chat.send("/kembali")
    assert "sudah langkah pertama" in shown[0].text
    assert await chat.state() == before


async def test_going_back_and_answering_again_walks_on(at):
    chat = await at("Enrollment:birth_date")
    await chat.send("/kembali")
    await chat.send("Siti Rahayu")
    state, data = await chat.state()
    assert (state, data["name"], data["nik"]) == ("Enrollment:birth_date", "SITI RAHAYU", NIK_SITI)


async def test_kembali_while_editing_returns_to_the_summary_unchanged(at):
    chat = await at("Enrollment:summary")
    await chat.press("✏️ Ubah")
    await chat.press("Nama")
    shown = await chat.send("/kembali")
    state, data = await chat.state()
    assert state == "Enrollment:summary"
    assert "Nama: SITI AMINAH" in shown[-1].text
    assert "editing" not in data
