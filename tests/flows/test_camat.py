"""The camat's kecamatan: /progres shows its progress (a coordinator's shows the OPD's), the
home and the preview say how many ASN the bot cannot reach yet, and the invitation for them
is the bot's link and a QR code picture per channel, sent through the outbox as an image."""

from __future__ import annotations

import io

import pytest
import segno
from matplotlib import image
from sqlalchemy import select
from telegram import Bot

from bot.invitations import QR_SCALE, telegram_link
from bot.settings import Settings
from bot.telegram.transport import TelegramTransport
from storage.models import Asn, Attachment, OutboxMessage, Unit
from tests.conftest import BUDI, make_settings
from tests.flows.conftest import login
from tests.support.chat import ChatClient
from tests.support.people import asn_id, rows, submitted
from tests.support.route import NIK_SITI, add_residents, grant_role

TELEGRAM = "https://t.me/asn_peduli_test_bot?start=undangan"


async def unlinked_residents(client: ChatClient, count: int, kecamatan: str = "Patebon",
                             first: int = 6001) -> None:
    """`count` ASN living in `kecamatan` who never chatted with the bot."""
    now = client.app.clock()
    async with client.app.sessions.begin() as session:
        place = await session.scalar(select(Unit.id).where(Unit.name == kecamatan))
        office = await session.scalar(select(Unit.id).where(Unit.name == BUDI.unit))
        session.add_all([Asn(nip=f"19800101200501{number:04d}", name=f"Jauh {number}",
                             unit_id=office, kecamatan_id=place,
                             phone=f"+62811{number:07d}", updated_at=now)
                         for number in range(first, first + count)])


async def make_camat(client: ChatClient) -> ChatClient:
    """Budi, camat of Patebon: 3 linked ASN there (one participating), 5 never linked;
    Kendal has 2 linked ASN, both participating."""
    await grant_role(client, "camat", "Patebon")
    await add_residents(client, 3, first_chat=5001)
    await unlinked_residents(client, 5)
    kendal = await add_residents(client, 2, kecamatan="Kendal", first_chat=7001)
    await submitted(client, await asn_id(client, "198001012005015001"), "SITI", NIK_SITI)
    for number, owner in enumerate(kendal, start=1):
        await submitted(client, owner, f"ANDI {number}", f"33240112059{number:05d}")
    await client.send("/mulai")
    return client


@pytest.fixture
async def camat(budi) -> ChatClient:
    return await make_camat(budi)


async def test_progres_shows_a_camat_their_kecamatan(camat):
    shown = await camat.send("/progres")

    text = shown[-1].text
    assert (await camat.state())[0] == "Broadcast:kecamatan"
    assert "Progres Kecamatan Patebon" in text and "Per 21 Agustus 2025" in text
    assert "• ASN yang tinggal di kecamatan: 8" in text
    assert "• ASN yang ikut: 1 (12,5%; target 20%)" in text
    assert "• Pekerja terlindungi (terdaftar di BPJS): 0" in text
    assert "• Sejak sebulan lalu: bertambah 1 ASN" in text
    assert "• Peringkat: 2 dari 3 kecamatan" in text  # Kendal: 2 of 2
    assert "• Belum terhubung dengan saya (belum pernah chat, tidak menerima siaran): 5 ASN" in (
        text)
    assert "Masih perlu 1 ASN lagi untuk mencapai target." in text
    assert shown[-1].labels == ["📨 Undangan untuk ASN", "⬅️ Kembali", "🏠 Menu utama"]

    shown = await camat.send("/kembali")
    assert (await camat.state())[0] == "Broadcast:audience"
    shown = await camat.press("📊 Progres kecamatan")
    assert "Progres Kecamatan Patebon" in shown[-1].text


async def test_progres_still_opens_the_opd_for_a_coordinator_and_refuses_others(camat, sri):
    await grant_role(camat, "coordinator", BUDI.unit)
    shown = await camat.send("/progres")
    assert (await camat.state())[0] == "Coordinator:progress", shown[-1].text

    shown = await sri.send("/progres")
    assert "perintah itu khusus untuk koordinator OPD atau camat" in shown[0].text
    assert (await sri.state())[0] == "Menu:main"


async def test_the_home_and_the_preview_count_those_the_bot_cannot_reach(camat):
    shown = await camat.send("/siaran")
    assert ("5 ASN Kecamatan Patebon belum pernah chat dengan saya, jadi belum bisa "
            "menerima siaran.") in shown[-1].text

    await camat.press("ASN belum ikut")
    shown = await camat.press("📄 Ajakan umum")
    preview = shown[-1].text
    assert "Penerima: 2 orang" in preview
    assert "Belum terjangkau: 5 ASN lagi belum pernah chat dengan saya" in preview

    await camat.press("✏️ Ubah pesan")
    await camat.send("/kembali")
    await camat.press("Grup kecamatan")
    shown = await camat.press("📄 Ajakan umum")
    assert "Belum terjangkau" not in shown[-1].text  # groups are chats, not people


def qr_modules(png: bytes) -> list[list[bool]]:
    """The dark (True) and light modules of a QR code picture drawn at QR_SCALE."""
    pixels = image.imread(io.BytesIO(png), format="png")
    grey = pixels if pixels.ndim == 2 else pixels[:, :, :3].mean(axis=2)
    centre = QR_SCALE // 2
    return (grey[centre::QR_SCALE, centre::QR_SCALE] < 0.5).tolist()


async def test_the_invitation_is_a_qr_picture_of_the_bots_link_with_its_words(camat):
    camat.app.dispatcher.set_chat_link("telegram", telegram_link("asn_peduli_test_bot"))
    await camat.send("/siaran")

    shown = await camat.press("📨 Undangan untuk ASN")

    intro, invitation, prompt = shown
    assert "5 ASN kecamatan Anda belum pernah chat dengan saya" in intro.text
    assert "cetak kode QR-nya" in intro.text and "bot Telegram" in intro.text
    assert "Undangan ASN Peduli dari Camat Patebon" in invitation.text
    assert TELEGRAM in invitation.text and "Rp16.800 sebulan" in invitation.text
    assert "Masuk dengan NIP dan nomor HP Anda yang terdaftar." in invitation.text
    assert invitation.attachment is not None
    assert invitation.attachment.filename == "undangan-asn-peduli-telegram.png"
    png = invitation.attachment.data
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    expected = [[bool(module) for module in row]
                for row in segno.make(TELEGRAM, error="m").matrix]
    modules = [row[4:-4] for row in qr_modules(png)[4:-4]]  # inside the quiet zone
    assert modules == expected, "the code holds the link"
    assert (await camat.state())[0] == "Broadcast:audience"
    assert prompt.labels[3:5] == ["📊 Progres kecamatan", "📨 Undangan untuk ASN"]

    # Asked again (from the progress this time), the stored picture is sent again.
    await camat.press("📊 Progres kecamatan")
    shown = await camat.press("📨 Undangan untuk ASN")
    assert shown[1].attachment == invitation.attachment
    assert (await camat.state())[0] == "Broadcast:kecamatan"
    assert len(await rows(camat, Attachment)) == 1
    sent = await rows(camat, OutboxMessage, chat_id="1001", status="sent")
    assert len(sent) >= 6


async def test_without_a_known_link_the_camat_is_told_and_nothing_changes(camat):
    await camat.send("/siaran")
    shown = await camat.press("📨 Undangan untuk ASN")
    assert "Undangan belum dapat dibuat" in shown[0].text
    assert shown[0].labels[4] == "📨 Undangan untuk ASN"  # the home's buttons again
    assert (await camat.state())[0] == "Broadcast:audience"
    assert not await rows(camat, Attachment)


async def test_telegrams_username_from_getme_and_whatsapps_number_make_the_links(make_app):
    app = await make_app(whatsapp_public_number="+62 812-0000-1111")
    transport = TelegramTransport(Bot("123456:TEST"))
    transport.username = "asn_peduli_test_bot"  # what TelegramBot.initialize sets from getMe
    app.add_transport(transport)
    client = await make_camat(await login(ChatClient(app, user_id="1001")))

    await client.send("/siaran")
    shown = await client.press("📨 Undangan untuk ASN")

    assert [message.attachment.filename for message in shown[1:3]] == [
        "undangan-asn-peduli-telegram.png", "undangan-asn-peduli-whatsapp.png"]
    assert TELEGRAM in shown[1].text and "tekan \"Mulai\"" in shown[1].text
    assert "https://wa.me/6281200001111" in shown[2].text
    assert "bot Telegram dan WhatsApp" in shown[0].text


@pytest.mark.parametrize(("typed", "stored"), [
    ("6281200001111", "6281200001111"), ("+62 812-0000-1111", "6281200001111"),
    ("", None),
])
def test_the_whatsapp_number_is_read_in_international_form(typed, stored):
    settings = make_settings("sqlite+aiosqlite:///x.db", whatsapp_public_number=typed)
    assert settings.whatsapp_public_number == stored


@pytest.mark.parametrize("typed", ["081200001111", "62812", "62-812-abc-1111"])
def test_a_whatsapp_number_wa_me_cannot_use_is_refused(typed):
    with pytest.raises(ValueError, match="international phone number"):
        Settings(_env_file=None, database_url="sqlite+aiosqlite:///x.db",  # type: ignore[call-arg]
                 data_encryption_keys="x", nik_hash_key="y", whatsapp_public_number=typed)
