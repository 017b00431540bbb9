"""/kembali: one step back along the table, answers kept; while editing, back to the summary;
from the agreement back to the summary of the saved draft (or to "Pekerja saya"); at a first
step a kind word and nothing moves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import AuditLog, Consent, Enrollment, Worker
from tests.support.chat import ChatClient
from tests.support.route import NIK_ANDI, NIK_SITI, enrol

BACK_ALONG_THE_FORM = [
    ("Identify:phone", "Identify:nip", "ketik NIP"),
    ("Enrollment:nik", "Enrollment:relationship", "hubungan pekerja"),
    ("Enrollment:name", "Enrollment:nik", "NIK"),
    ("Enrollment:birth_date", "Enrollment:name", "nama lengkap"),
    ("Enrollment:birth_date_check", "Enrollment:birth_date", "tanggal lahir"),
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
                                   "Workers:list", "Coordinator:menu",
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


async def rows(client: ChatClient, model) -> list:
    async with client.app.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_kembali_from_the_agreement_changes_the_saved_draft(at):
    """Issue 16 point 4: /kembali at the deduction step said "Ini sudah langkah pertama"."""
    chat = await at("Deduction:confirm")
    assert "Ketik /kembali" in chat.last.text
    [draft] = await rows(chat, Enrollment)
    shown = await chat.send("/kembali")
    assert len(shown) == 1 and "Ringkasan pendaftaran" in shown[0].text
    assert "Nama: SITI AMINAH" in shown[0].text and "NIK: 3324••••••••0001" in shown[0].text
    state, data = await chat.state()
    assert (state, data["draft_id"], data["nik"]) == ("Enrollment:summary", draft.id, NIK_SITI)

    await chat.press("✏️ Ubah")
    await chat.press("Nama")
    await chat.send("Siti Rahayu")
    shown = await chat.press("💾 Simpan")
    assert "Pekerja: SITI RAHAYU (3324••••••••0001)" in shown[-1].text
    assert (await chat.state())[0] == "Deduction:confirm"
    [same] = await rows(chat, Enrollment)  # the same draft, changed, not a second one
    assert (same.id, same.status) == (draft.id, "draft")
    assert [w.name for w in await rows(chat, Worker)] == ["SITI RAHAYU"]
    [consent] = await rows(chat, Consent)
    assert consent.wording.startswith("Saya, SITI RAHAYU, setuju")
    actions = [entry.action for entry in await rows(chat, AuditLog)]
    assert actions.count("enrollment.saved") == 1 and actions.count("enrollment.changed") == 1

    await chat.press("✅ Saya setuju")
    assert [e.status for e in await rows(chat, Enrollment)] == ["submitted"]


async def test_a_nik_changed_after_going_back_leaves_no_worker_behind(at):
    chat = await at("Deduction:confirm")
    await chat.send("/kembali")
    await chat.press("✏️ Ubah")
    await chat.press("NIK")
    await chat.send(NIK_ANDI)
    await chat.press("✅ Ya")  # the birth date stays as given
    await chat.press("💾 Simpan")
    cipher = chat.app.cipher
    [worker] = await rows(chat, Worker)  # Siti's row went with her NIK
    assert cipher.decrypt(worker.nik_enc) == NIK_ANDI
    [enrollment] = await rows(chat, Enrollment)
    assert enrollment.worker_id == worker.id
    [consent] = await rows(chat, Consent)
    assert consent.worker_id == worker.id


async def test_batal_after_going_back_keeps_the_saved_draft(at):
    chat = await at("Deduction:confirm")
    await chat.send("/kembali")
    shown = await chat.send("/batal")
    assert "tetap sebagai draf" in shown[0].text and "Menu utama" in shown[-1].text
    assert [e.status for e in await rows(chat, Enrollment)] == ["draft"]
    assert await chat.state() == ("Menu:main", {})


async def test_kembali_from_an_agreement_opened_in_pekerja_saya_returns_there(budi):
    await enrol(budi, agree=False)
    await budi.press("👥 Pekerja saya")
    shown = await budi.press("✅ Setujui potongan")
    assert "Ketik /kembali" not in shown[-1].text  # no form to change from here
    shown = await budi.send("/kembali")
    assert len(shown) == 1 and "Pekerja saya" in shown[0].text
    assert await budi.state() == ("Workers:list", {})
