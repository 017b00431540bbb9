"""My workers: the list with status and masked NIK; stopping with a reason from a named month;
back buttons; buttons of another ASN or of an earlier moment change nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from storage.models import AuditLog, Enrollment
from tests.conftest import SRI
from tests.flows.conftest import login
from tests.support.chat import ChatClient, texts
from tests.support.route import NIK_ANDI, NIK_SITI, enrol, stop_first

STALE = "sudah tidak berlaku"


async def rows(client: ChatClient, model) -> list:
    async with client.app.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_an_empty_list_offers_to_enrol(budi):
    shown = await budi.press("👥 Pekerja saya")
    assert "Anda belum mendaftarkan pekerja." in shown[-1].text
    assert shown[-1].labels == ["➕ Daftarkan pekerja", "🏠 Menu utama"]
    await budi.press("➕ Daftarkan pekerja")
    assert (await budi.state())[0] == "Enrollment:relationship"


@pytest.mark.parametrize("how", ["2", "pekerja saya"])
async def test_the_list_opens_from_a_typed_menu_choice(budi, how):
    await budi.send(how)
    assert await budi.state() == ("Workers:list", {})


async def test_the_list_shows_every_worker_with_status_and_masked_nik(budi):
    await enrol(budi, NIK_SITI)
    await enrol(budi, NIK_ANDI, name="Andi Wijaya", agree=False)
    async with budi.app.sessions.begin() as session:  # later issues move these on
        await session.execute(update(Enrollment).where(Enrollment.id == 1)
                              .values(status="registered", kpj_number="25012345678"))
    shown = await budi.press("👥 Pekerja saya")
    text = shown[-1].text
    assert "1. SITI AMINAH (3324••••••••0001), Asisten rumah tangga" in text
    assert "Status: terdaftar di BPJS, KPJ 25012345678" in text
    assert "2. ANDI WIJAYA (3324••••••••0002), Asisten rumah tangga" in text
    assert "Status: draf, menunggu persetujuan potongan gaji" in text
    assert shown[-1].labels == ["⛔ Hentikan: SITI AMINAH", "✅ Setujui potongan: ANDI WIJAYA",
                                "⛔ Hentikan: ANDI WIJAYA", "➕ Daftarkan pekerja",
                                "🏠 Menu utama"]


async def test_no_message_ever_shows_a_full_nik(budi):
    await enrol(budi, NIK_SITI)
    await stop_first(budi)
    await budi.press("➕ Daftarkan pekerja")
    await budi.press("Tetangga")
    await budi.send(NIK_SITI)
    await budi.send("/bantuan")
    seen = texts(budi.history)
    assert "3324••••••••0001" in seen
    assert NIK_SITI not in seen and "15708800001" not in seen


@pytest.mark.parametrize(
    ("label", "reason"),
    [("Sudah punya BPJS sendiri", "Pekerja sudah punya kepesertaan BPJS Ketenagakerjaan sendiri"),
     ("Tidak bekerja dengan saya lagi", "Pekerja tidak lagi bekerja dengan saya"),
     ("Keberatan biaya", "Keberatan dengan biaya iuran")],
)
async def test_stop_with_a_reason_button(at, clock, label, reason):
    chat = await at("Workers:stop_reason")
    assert "Mengapa perlindungan SITI AMINAH ingin dihentikan?" in chat.last.text
    shown = await chat.press(label)
    text = shown[-1].text
    assert "Hentikan perlindungan?" in text and f"Alasan: {reason}" in text
    assert "Pekerja: SITI AMINAH (3324••••••••0001)" in text
    assert "Potongan gaji berhenti mulai gaji bulan September 2025" in text
    assert shown[-1].labels == ["⛔ Ya, hentikan", "⬅️ Kembali"]
    assert (await rows(chat, Enrollment))[0].status == "submitted", "nothing changes yet"

    shown = await chat.press("⛔ Ya, hentikan")
    assert shown[0].text == ("Perlindungan SITI AMINAH dihentikan. "
                             "Potongan gaji berhenti mulai gaji bulan September 2025.")
    assert "Status: dihentikan, potongan berhenti mulai September 2025" in shown[-1].text
    assert "⛔ Hentikan: SITI AMINAH" not in shown[-1].labels
    assert await chat.state() == ("Workers:list", {})
    enrollment = (await rows(chat, Enrollment))[0]
    assert (enrollment.status, enrollment.end_reason) == ("stopped", reason)
    assert (enrollment.deduction_stop_month, enrollment.ended_at) == (date(2025, 9, 1), clock.now)
    audit = [e for e in await rows(chat, AuditLog) if e.action == "enrollment.stopped"]
    assert audit[0].details == {"reason": reason, "stop_month": "2025-09-01"}
    assert "Anda belum melindungi pekerja" in (await chat.send("/mulai"))[-1].text


async def test_stop_with_a_typed_reason(at):
    chat = await at("Workers:stop_reason")
    shown = await chat.press("Alasan lain (ketik)")
    assert len(shown) == 1 and "ketik alasan penghentian" in shown[0].text
    assert (await chat.state())[0] == "Workers:stop_reason"
    for bad in ("ok", "😀😀😀😀", "<b>pindah</b>", "1234"):
        shown = await chat.send(bad)
        assert "ketik alasan penghentian" in shown[0].text, bad
    shown = await chat.send("Pindah ke Jakarta, ikut anaknya")
    assert "Alasan: Pindah ke Jakarta, ikut anaknya" in shown[-1].text
    await chat.press("⛔ Ya, hentikan")
    assert (await rows(chat, Enrollment))[0].end_reason == "Pindah ke Jakarta, ikut anaknya"


async def test_a_stop_reason_has_a_length_limit(at):
    chat = await at("Workers:stop_reason")
    shown = await chat.send("alasan " * 50)
    assert "lebih dari 300 huruf" in shown[0].text


async def test_back_from_the_reason_returns_to_the_list_unchanged(at):
    chat = await at("Workers:stop_reason")
    shown = await chat.press("⬅️ Kembali")
    assert "Pekerja saya" in shown[-1].text
    assert await chat.state() == ("Workers:list", {})
    assert (await rows(chat, Enrollment))[0].status == "submitted"


@pytest.mark.parametrize("how", ["button", "tidak"])
async def test_back_from_the_confirmation_returns_to_the_list_unchanged(at, how):
    chat = await at("Workers:stop_confirm")
    shown = await (chat.press("⬅️ Kembali") if how == "button" else chat.send(how))
    assert "Status: dikirim, menunggu verifikasi koordinator" in shown[-1].text
    assert await chat.state() == ("Workers:list", {})
    assert (await rows(chat, Enrollment))[0].status == "submitted"


async def test_menu_button_from_the_list(at):
    chat = await at("Workers:list")
    shown = await chat.press("🏠 Menu utama")
    assert "Menu utama" in shown[-1].text
    assert await chat.state() == ("Menu:main", {})


async def test_a_stop_button_for_another_asns_worker_stops_nothing(budi):
    await enrol(budi, NIK_SITI)
    budi_enrollment = (await rows(budi, Enrollment))[0]
    sri = await login(ChatClient(budi.app, user_id="2002"), SRI)
    await sri.press("👥 Pekerja saya")
    for payload in (f"wk:stop:{budi_enrollment.id}", f"wk:agree:{budi_enrollment.id}",
                    "wk:stop:999", "wk:stop:x", "wk:stop"):
        shown = await sri.press_payload(payload)
        assert len(shown) == 1 and STALE in shown[0].text, payload
        assert await sri.state() == ("Workers:list", {})
    assert "SITI" not in texts(sri.history)
    assert (await rows(budi, Enrollment))[0].status == "submitted"


async def test_an_old_stop_button_after_stopping_does_nothing(at):
    chat = await at("Workers:list")
    old = next(b for row in chat.last.buttons for b in row if b.label.startswith("⛔"))
    await chat.press("⛔ Hentikan")
    await chat.press("Keberatan biaya")
    await chat.press("⛔ Ya, hentikan")
    shown = await chat.press_payload(old.payload)
    assert STALE in shown[0].text
    assert await chat.state() == ("Workers:list", {})
    shown = await chat.press_payload("stop:yes")  # a confirmation of an earlier moment
    assert STALE in shown[0].text


async def test_stopped_meanwhile_elsewhere_is_said_and_the_list_shown(at):
    chat = await at("Workers:stop_confirm")
    async with chat.app.sessions.begin() as session:  # stopped on another device meanwhile
        await session.execute(update(Enrollment).values(status="stopped"))
    shown = await chat.press("⛔ Ya, hentikan")
    assert "sudah berubah" in shown[0].text
    assert "Status: dihentikan" in shown[-1].text
    assert await chat.state() == ("Workers:list", {})


async def test_closing_a_draft_does_not_speak_of_stopping_a_deduction(budi):
    await enrol(budi, agree=False)
    await budi.press("👥 Pekerja saya")
    await budi.press("⛔ Hentikan")
    shown = await budi.press("Keberatan biaya")
    assert "belum Anda setujui" in shown[-1].text
    assert "Potongan gaji berhenti" not in shown[-1].text
    shown = await budi.press("⛔ Ya, hentikan")
    assert shown[0].text == "Draf pendaftaran SITI AMINAH ditutup. Tidak ada potongan gaji."
    assert (await rows(budi, Enrollment))[0].status == "stopped"
