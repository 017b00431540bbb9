"""A camat's broadcast: the audience with its count, the camat's words or a ready campaign, a
preview exactly as recipients see it, queued in one update, progress, cancelling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from storage.chats import SqlChats
from storage.models import (
    AuditLog,
    Broadcast,
    BroadcastBody,
    ChannelIdentity,
    Chat,
    OutboxMessage,
)
from tests.conftest import BUDI, seed_roster
from tests.flows.conftest import login
from tests.support.chat import ChatClient
from tests.support.people import asn_id, rows, submitted, unit_id
from tests.support.route import NIK_SITI, add_residents, grant_role

PATEBON = ["5001", "5002", "5003"]


@pytest.fixture
async def camat(budi) -> ChatClient:
    """Budi, camat of Patebon, where three linked ASN live (and two in Kendal)."""
    await grant_role(budi, "camat", "Patebon")
    await add_residents(budi, 3, first_chat=5001)
    await add_residents(budi, 2, kecamatan="Kendal", first_chat=7001)
    await budi.send("/mulai")
    return budi


def received(client: ChatClient, chat_id: str) -> list[str]:
    return [shown.text for shown in client.console.shown if shown.chat_id == chat_id]


async def preview(camat: ChatClient, audience: str = "Semua ASN") -> str:
    """/siaran, then the general campaign for `audience`: the preview's text."""
    await camat.send("/siaran")
    await camat.press(audience)
    shown = await camat.press("📄 Ajakan umum")
    return shown[-1].text


async def link_group(client: ChatClient, chat_id: str, kecamatan: str) -> None:
    async with client.app.sessions.begin() as session:
        session.add(Chat(channel="console", chat_id=chat_id, chat_type="group",
                         unit_id=await unit_id(client, kecamatan)))


async def test_a_typed_message_goes_to_every_linked_asn_of_the_kecamatan(camat, clock):
    shown = await camat.press("📣 Siaran camat")
    text = shown[-1].text
    assert "📊 Siaran terakhir" not in shown[-1].labels, "no broadcast yet"
    assert "Camat Patebon" in text
    assert "Semua ASN yang tinggal di Kecamatan Patebon: 3 orang" in text
    assert shown[-1].labels == ["Semua ASN", "ASN belum ikut", "Grup kecamatan",
                                "📊 Progres kecamatan", "📨 Undangan untuk ASN",
                                "🏠 Menu utama"]
    await camat.press("Semua ASN")
    shown = await camat.send("Bapak/Ibu ASN Patebon,\n\nmari   lindungi satu pekerja rentan.")
    preview = shown[-1].text
    assert "Penerima: 3 orang (semua ASN di Kecamatan Patebon)." in preview
    assert shown[-1].labels == ["✅ Kirim sekarang", "✏️ Ubah pesan", "Batal"]
    message = ("📣 Pesan Camat Patebon\n\n"
               "Bapak/Ibu ASN Patebon,\n\nmari lindungi satu pekerja rentan.")
    assert message in preview

    shown = await camat.press("✅ Kirim sekarang")
    assert "Siaran masuk antrean untuk 3 penerima" in shown[0].text
    assert "Menunggu: 3" in shown[-1].text
    assert (await camat.state())[0] == "Broadcast:progress"
    for chat_id in PATEBON:
        assert received(camat, chat_id) == [message], "exactly the preview, once"
    assert not received(camat, "7001") and not received(camat, "7002")

    broadcast = (await rows(camat, Broadcast))[0]
    budi = await asn_id(camat, BUDI.nip)
    assert (broadcast.asn_id, broadcast.unit_id, broadcast.audience, broadcast.template,
            broadcast.text, broadcast.channel, broadcast.recipients, broadcast.created_at) == (
        budi, await unit_id(camat, "Patebon"), "all", None,
        "Bapak/Ibu ASN Patebon,\n\nmari lindungi satu pekerja rentan.", "console", 3, clock.now)
    outbox = await rows(camat, OutboxMessage, broadcast_id=broadcast.id)
    assert sorted(row.chat_id for row in outbox) == PATEBON
    assert {(row.kind, row.status) for row in outbox} == {("broadcast", "sent")}
    audit = await rows(camat, AuditLog, action="broadcast.queued")
    assert audit[0].actor_asn_id == budi and audit[0].details["recipients"] == 3

    shown = await camat.press("🔄 Perbarui")
    assert "Selesai." in shown[-1].text and "Terkirim: 3" in shown[-1].text
    assert shown[-1].labels == ["🏠 Menu utama"]
    assert (await rows(camat, Broadcast))[0].status == "done"


async def test_the_latest_broadcast_is_a_button_away_when_coming_back(waiting):
    await waiting.press("🏠 Menu utama")
    shown = await waiting.send("/siaran")
    assert shown[-1].labels == ["Semua ASN", "ASN belum ikut", "Grup kecamatan",
                                "📊 Progres kecamatan", "📨 Undangan untuk ASN",
                                "📊 Siaran terakhir", "🏠 Menu utama"]
    shown = await waiting.press("📊 Siaran terakhir")
    assert "Sedang dikirim" in shown[-1].text and "Menunggu: 6" in shown[-1].text
    assert (await waiting.state())[0] == "Broadcast:progress"


async def test_a_ready_campaign_names_the_premium_from_the_schedule(camat):
    await camat.send("/siaran")
    await camat.press("Semua ASN")
    assert camat.last.labels == ["📄 Ajakan umum", "📄 Lindungi ART/ojek", "📄 Cara mendaftar",
                                 "⬅️ Kembali"]
    for label, words in [("📄 Ajakan umum", "Rp16.800 sebulan"),
                         ("📄 Lindungi ART/ojek", "Rp42.000.000"),
                         ("📄 Cara mendaftar", "potongan gaji Rp16.800 per bulan")]:
        shown = await camat.press(label)
        assert words in shown[-1].text and "/mulai" in shown[-1].text
        await camat.press("✏️ Ubah pesan")
    await camat.press("📄 Cara mendaftar")
    preview = camat.last.text
    await camat.press("✅ Kirim sekarang")
    message = received(camat, "5001")[0]
    assert message.startswith("📣 Pesan Camat Patebon") and message in preview
    assert (await rows(camat, Broadcast))[0].template == "cara"


async def test_only_those_not_yet_participating(camat):
    await submitted(camat, await asn_id(camat, "198001012005015002"), "SITI", NIK_SITI)
    await camat.send("/siaran")
    assert "belum melindungi pekerja: 2 orang" in camat.last.text
    await camat.press("ASN belum ikut")
    shown = await camat.press("📄 Ajakan umum")
    assert "Penerima: 2 orang (ASN di Kecamatan Patebon yang belum melindungi pekerja)" in (
        shown[-1].text)
    await camat.press("✅ Kirim sekarang")
    assert received(camat, "5001") and received(camat, "5003")
    assert not received(camat, "5002")


async def test_the_groups_linked_to_the_kecamatan(camat):
    await link_group(camat, "-100501", "Patebon")
    await link_group(camat, "-100502", "Patebon")
    await link_group(camat, "-100701", "Kendal")
    await camat.send("/siaran")
    assert "Grup yang ditautkan ke kecamatan: 2 grup" in camat.last.text
    await camat.press("Grup kecamatan")
    shown = await camat.press("📄 Ajakan umum")
    assert "Penerima: 2 grup" in shown[-1].text
    await camat.press("✅ Kirim sekarang")
    assert received(camat, "-100501") and received(camat, "-100502")
    assert not received(camat, "-100701") and not received(camat, "5001")


async def test_unreachable_chats_are_left_out_and_each_asn_gets_one_message(camat, clock):
    async with camat.app.sessions.begin() as session:
        await SqlChats(session).mark_unreachable("console", "5001", "blocked", clock.now)
        # Warga 5002 also linked a Telegram account later: the latest link is used.
        session.add(ChannelIdentity(channel="telegram", external_id="99", chat_id="99",
                                    asn_id=await session.scalar(
                                        select(ChannelIdentity.asn_id)
                                        .where(ChannelIdentity.chat_id == "5002")),
                                    linked_at=clock.now + timedelta(seconds=1)))
    assert "Penerima: 2 orang" in await preview(camat)
    await camat.press("✅ Kirim sekarang")
    outbox = await rows(camat, OutboxMessage, kind="broadcast")
    assert sorted((row.channel, row.chat_id) for row in outbox) == [
        ("console", "5003"), ("telegram", "99")]


@pytest.mark.parametrize(("typed", "says"), [
    ("x" * 1001, "Pesan terlalu panjang (lebih dari 1000 huruf)"),
    ("<b>Halo semuanya</b> ayo daftar", "tanpa kode HTML"),
    ("Ayo! 👍", "paling sedikit 10 huruf"),
    ("   ", "Pesannya kosong"),
])
async def test_a_typed_message_must_be_readable_words(camat, typed, says):
    await camat.send("/siaran")
    await camat.press("Semua ASN")
    shown = await camat.send(typed)
    assert says in shown[0].text
    assert (await camat.state())[0] == "Broadcast:content"


async def test_changing_the_words_and_cancelling_send_nothing(camat):
    await camat.send("/siaran")
    await camat.press("Semua ASN")
    await camat.send("Pesan pertama untuk semua ASN.")
    shown = await camat.press("✏️ Ubah pesan")
    assert "Ketik pesan Anda" in shown[-1].text
    shown = await camat.send("Pesan kedua untuk semua ASN.")
    assert "Pesan kedua" in shown[-1].text and "Pesan pertama" not in shown[-1].text
    shown = await camat.press("Batal")
    assert "Dibatalkan. Siaran tidak dikirim." in shown[0].text
    assert await camat.state() == ("Menu:main", {})
    assert not await rows(camat, Broadcast) and not await rows(camat, OutboxMessage,
                                                               kind="broadcast")


async def test_no_recipients_no_send_button(camat):
    text = await preview(camat, "Grup kecamatan")
    assert "Penerima: 0 grup" in text and "Belum ada penerima" in text
    assert camat.last.labels == ["✏️ Ubah pesan", "Batal"]
    shown = await camat.press_payload("bc:send")
    assert "Tidak ada penerima" in shown[0].text
    assert not await rows(camat, Broadcast)


@pytest.fixture
async def waiting(camat) -> ChatClient:
    """A broadcast to three ASN on Telegram, which this test application does not send."""
    await add_residents(camat, 3, first_chat=8001, channel="telegram")
    async with camat.app.sessions.begin() as session:
        await session.execute(update(ChannelIdentity).where(ChannelIdentity.channel == "console",
                                                            ChannelIdentity.chat_id.in_(PATEBON))
                              .values(channel="whatsapp"))
    await preview(camat)
    await camat.press("✅ Kirim sekarang")
    return camat


async def test_progress_counts_each_outcome_until_nothing_waits(waiting):
    shown = waiting.history[-1]
    assert "Sedang dikirim" in shown.text and "Menunggu: 6" in shown.text
    assert shown.labels == ["🔄 Perbarui", "⛔ Batalkan siaran", "🏠 Menu utama"]
    outbox = await rows(waiting, OutboxMessage, kind="broadcast")
    assert {row.channel for row in outbox} == {"telegram", "whatsapp"}
    async with waiting.app.sessions.begin() as session:
        for row, status in zip(outbox, ["sent", "sent", "failed", "unreachable"], strict=False):
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                                  .values(status=status))
    shown = await waiting.press("🔄 Perbarui")
    text = shown[-1].text
    for line in ["Terkirim: 2", "Menunggu: 2", "Gagal: 1", "Tidak dapat dihubungi: 1"]:
        assert line in text, line
    async with waiting.app.sessions.begin() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                              .values(status="sent"))
    shown = await waiting.press("🔄 Perbarui")
    assert "Selesai." in shown[-1].text and "Terkirim: 4" in shown[-1].text
    assert (await rows(waiting, Broadcast))[0].status == "done"


async def test_a_broadcast_can_be_cancelled_while_sending(waiting, clock):
    async with waiting.app.sessions.begin() as session:
        first = await session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())
                                     .where(OutboxMessage.kind == "broadcast"))
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == first)
                              .values(status="sent"))
    shown = await waiting.press("⛔ Batalkan siaran")
    assert "5 pesan yang belum terkirim tidak akan dikirim" in shown[0].text
    assert "Siaran dibatalkan." in shown[-1].text and "Dibatalkan: 5" in shown[-1].text
    assert shown[-1].labels == ["🏠 Menu utama"]
    statuses = sorted(row.status for row in await rows(waiting, OutboxMessage, kind="broadcast"))
    assert statuses == ["cancelled"] * 5 + ["sent"]
    broadcast = (await rows(waiting, Broadcast))[0]
    assert (broadcast.status, broadcast.cancelled_at) == ("cancelled", clock.now)
    audit = await rows(waiting, AuditLog, action="broadcast.cancelled")
    assert audit[0].details == {"cancelled": 5, "sent": 1}
    # The old button again: nothing left to cancel.
    shown = await waiting.press_payload("bc:stop")
    assert "sudah tidak sedang dikirim" in shown[0].text


async def test_a_thousand_recipients_queue_in_one_update_with_one_body_per_channel(camat):
    await add_residents(camat, 1000, first_chat=100_000, channel="telegram")
    assert "Penerima: 1.003 orang" in await preview(camat)
    await camat.press("✅ Kirim sekarang")
    outbox = await rows(camat, OutboxMessage, kind="broadcast")
    assert len(outbox) == 1003 and (await rows(camat, Broadcast))[0].recipients == 1003
    assert {row.body_enc for row in outbox} == {None}, "no row carries its own copy"
    async with camat.app.sessions() as session:  # rendered and encrypted once, for Telegram
        shared = {body.channel: body for body in await session.scalars(select(BroadcastBody))}
    assert sorted(shared) == sorted({row.channel for row in outbox})  # one per channel used
    shared = shared["telegram"]
    body = camat.app.cipher.decrypt_json(shared.body_enc)
    assert body["markup"] == "html" and body["text"].startswith("<b>📣 Pesan Camat Patebon</b>")


async def test_queueing_progress_and_cancelling_on_both_engines(app_any_db):
    """The bulk INSERT … SELECT and the cancelling UPDATE on SQLite and PostgreSQL."""
    await seed_roster(app_any_db)
    camat = await login(ChatClient(app_any_db, user_id="1001"))
    await grant_role(camat, "camat", "Patebon")
    await add_residents(camat, 2, first_chat=5001)
    await add_residents(camat, 3, first_chat=8001, channel="telegram")
    await add_residents(camat, 2, kecamatan="Kendal", first_chat=7001)
    assert "Penerima: 5 orang" in await preview(camat)
    await camat.press("✅ Kirim sekarang")
    outbox = await rows(camat, OutboxMessage, kind="broadcast")
    assert sorted(row.chat_id for row in outbox) == ["5001", "5002", "8001", "8002", "8003"]
    assert received(camat, "5001") and received(camat, "5002")
    shown = await camat.press("⛔ Batalkan siaran")
    assert "Terkirim: 2" in shown[-1].text and "Dibatalkan: 3" in shown[-1].text
    broadcast = (await rows(camat, Broadcast))[0]
    assert (broadcast.status, broadcast.recipients) == ("cancelled", 5)
