"""The main menu, and conversations that continue where they stopped: in a new chat window,
after the bot restarts, days later, after /mulai set a form aside."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from storage.models import Asn, AuditLog, ChannelIdentity, DeductionAgreement, Worker
from tests.conftest import BUDI
from tests.support.chat import ChatClient
from tests.support.route import NIK_SITI, enrol


async def test_the_menu_counts_the_workers_one_protects(budi):
    assert "Anda belum melindungi pekerja" in budi.last.text
    await enrol(budi)
    assert "Pekerja yang Anda lindungi atau sedang diproses: 1." in budi.last.text


@pytest.mark.parametrize("how", ["button", "3", "bantuan"])
async def test_help_from_the_menu_and_back_at_the_menu(budi, how):
    shown = await (budi.press("❓ Bantuan") if how == "button" else budi.send(how))
    assert "Bantuan" in shown[0].text and "JKM" in shown[0].text and "175" in shown[0].text
    assert "Menu utama" in shown[-1].text
    assert await budi.state() == ("Menu:main", {})


@pytest.mark.parametrize("how", ["1", "daftarkan pekerja"])
async def test_enrol_from_a_typed_menu_choice(budi, how):
    await budi.send(how)
    assert await budi.state() == ("Enrollment:relationship", {})


async def test_another_chat_window_continues_the_same_conversation(at):
    chat = await at("Enrollment:desa")
    stored = await chat.state()
    window = ChatClient(chat.app, user_id="1001")
    shown = await window.send("Kumpulrejo")
    assert "Persetujuan pekerja" in shown[-1].text
    state, data = await window.state()
    assert state == "Enrollment:consent" and stored[1].items() <= data.items()


async def test_mulai_mid_form_goes_to_the_menu_and_the_form_resumes_there(at):
    """Issue 16 point 4: /mulai refused mid-form though Bantuan says it returns to the menu."""
    chat = await at("Enrollment:desa")
    stored = await chat.state()
    shown = await chat.send("/mulai")
    assert "disimpan sementara" in shown[0].text and "Menu utama" in shown[-1].text
    assert "belum selesai (SITI AMINAH, langkah 7 dari 9)" in shown[-1].text
    # On a line of its own, not run on after the sentence before it.
    assert "\nAda pendaftaran yang belum selesai" in shown[-1].text
    assert shown[-1].labels[0] == "↩️ Lanjutkan pendaftaran"
    assert (await chat.state())[0] == "Menu:paused"

    shown = await chat.press("👥 Pekerja saya")  # elsewhere and back: the form is still aside
    assert "↩️ Lanjutkan pendaftaran" in shown[-1].labels
    await chat.press("🏠 Menu utama")
    shown = await chat.press("↩️ Lanjutkan pendaftaran")
    assert "desa atau kelurahan" in shown[-1].text and "langkah 7 dari 9" in shown[-1].text
    assert await chat.state() == stored
    await chat.send("Kumpulrejo")
    assert (await chat.state())[0] == "Enrollment:consent"


async def test_a_form_set_aside_resumes_days_later_by_its_number(at, make_app, clock):
    chat = await at("Enrollment:summary")
    stored = await chat.state()
    await chat.send("/mulai")
    chat = await restart(chat, make_app)
    clock.advance(days=2)
    shown = await chat.send("1")
    assert "Ringkasan pendaftaran" in shown[-1].text and await chat.state() == stored


async def test_batal_at_the_menu_drops_a_form_set_aside_after_asking(at):
    chat = await at("Enrollment:summary")
    await chat.send("/mulai")
    shown = await chat.send("/batal")
    assert "8 jawaban" in shown[0].text
    shown = await chat.press("🗑️ Ya, batalkan")
    assert "Dibatalkan" in shown[0].text
    assert shown[-1].labels[0] == "➕ Daftarkan pekerja"
    assert await chat.state() == ("Menu:main", {})
    await chat.press("➕ Daftarkan pekerja")
    assert await chat.state() == ("Enrollment:relationship", {})


async def test_a_form_set_aside_is_not_shown_to_another_asn_on_the_same_account(at):
    chat = await at("Enrollment:summary")
    await chat.send("/mulai")
    async with chat.app.sessions.begin() as session:  # the account is unlinked meanwhile
        await session.execute(delete(ChannelIdentity))
    await chat.send("halo")
    assert await chat.state() == ("Identify:nip", {})


async def restart(client: ChatClient, make_app) -> ChatClient:
    """Stop the application and start a new one on the same database and keys."""
    settings = client.app.settings
    await client.app.close()
    return ChatClient(await make_app(settings=settings), user_id=client.user_id)


async def test_a_half_done_enrolment_survives_a_restart(at, make_app, clock):
    chat = await at("Enrollment:desa")
    stored = await chat.state()
    chat = await restart(chat, make_app)
    clock.advance(days=3)
    assert await chat.state() == stored
    shown = await chat.send("Kumpulrejo")
    assert "Persetujuan pekerja" in shown[-1].text
    await chat.press("✅ Pekerja setuju")
    assert "NIK: 3324••••••••0001" in chat.last.text and "SITI AMINAH" in chat.last.text
    await chat.press("💾 Simpan")
    await chat.press("✅ Saya setuju")
    async with chat.app.sessions() as session:
        worker = (await session.scalars(select(Worker))).one()
        agreement = (await session.scalars(select(DeductionAgreement))).one()
    assert chat.app.cipher.decrypt(worker.nik_enc) == NIK_SITI
    assert agreement.agreed_at == clock.now


async def test_identification_half_done_survives_a_restart(at, make_app):
    chat = await at("Identify:phone")
    chat = await restart(chat, make_app)
    shown = await chat.share_contact(BUDI.phone_local)
    assert "Budi Santoso (Dinas Kesehatan)" in shown[0].text


async def test_the_agreement_step_survives_a_restart(at, make_app):
    chat = await at("Deduction:confirm")
    chat = await restart(chat, make_app)
    shown = await chat.send("/bantuan")
    assert "Total potongan gaji per bulan: Rp16.800" in shown[-1].text
    await chat.press("✅ Saya setuju")
    assert await chat.state() == ("Menu:main", {})


async def test_when_the_account_is_unlinked_a_half_done_form_is_dropped(at):
    chat = await at("Enrollment:summary")
    async with chat.app.sessions.begin() as session:  # the ASN linked another account
        await session.execute(delete(ChannelIdentity))
    shown = await chat.press("💾 Simpan")
    assert "Selamat datang" in shown[0].text and "ketik NIP" in shown[-1].text
    assert await chat.state() == ("Identify:nip", {})
    async with chat.app.sessions() as session:
        assert (await session.scalars(select(Worker))).all() == []


async def reminders_enabled(client: ChatClient) -> bool:
    async with client.app.sessions() as session:
        return bool(await session.scalar(select(Asn.reminders_enabled)
                                         .where(Asn.nip == BUDI.nip)))


@pytest.mark.parametrize("how", ["button", "pengingat", "4"])
async def test_reminders_switch_off_and_on_from_the_menu(budi, how):
    # The button says what pressing it does (it read "Pengingat: aktif", like a status).
    assert budi.last.labels[-1] == "🔕 Matikan pengingat"

    async def press() -> list:
        if how == "button":
            return await budi.press(budi.last.labels[-1])
        return await budi.send(how)

    shown = await press()
    assert "Pengingat dinonaktifkan" in shown[0].text and "tetap saya kirim" in shown[0].text
    assert '"Nyalakan pengingat"' in shown[0].text
    assert shown[-1].labels[-1] == "🔔 Nyalakan pengingat"
    assert await budi.state() == ("Menu:main", {})
    assert not await reminders_enabled(budi)
    shown = await press()
    assert "Pengingat diaktifkan" in shown[0].text
    assert shown[-1].labels[-1] == "🔕 Matikan pengingat"
    assert await reminders_enabled(budi)
    async with budi.app.sessions() as session:
        actions = (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()
    assert [a for a in actions if a.startswith("reminders.")] == ["reminders.off", "reminders.on"]


async def test_the_reminder_switch_survives_a_new_login(budi):
    await budi.press("🔕 Matikan pengingat")
    window = ChatClient(budi.app, user_id="1001")
    shown = await window.send("/mulai")
    assert shown[-1].labels[-1] == "🔔 Nyalakan pengingat"
