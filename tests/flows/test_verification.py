"""What a coordinator needs to verify an enrolment, and what keeps a verification honest.

Opening an enrolment shows the worker's NIK, name and birth date in full (the KTP is checked
against them), to a coordinator of that OPD only, in the private chat only, marked
confidential, audited each time without the NIK in the audit log. Nobody decides an
enrolment they submitted. A decision takes an explicit second "Ya", and the list's numbers
are the buttons' numbers, so neither one mistaken tap nor a typed "2" can decide anything.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.console import make
from bot.invitations import QrInvitations
from flows.conversation import Context, Conversation, Invalid
from flows.events import ChatType, Kind
from flows.states import Coordinator
from storage.audit import SqlAuditRepository
from storage.broadcasts import SqlBroadcastRepository
from storage.enrollments import SqlEnrollmentRepository
from storage.interfaces import AsnView
from storage.models import AuditLog, Enrollment, OutboxMessage
from storage.roles import SqlRoleRepository
from storage.roster import SqlRosterRepository
from storage.verifications import SqlProgressRepository, SqlVerificationRepository
from tests.conftest import BUDI, SRI
from tests.support.chat import ChatClient, texts
from tests.support.people import asn_id, colleague, nik, rows, submitted, unit_id
from tests.support.route import NIK_SITI, enrol, grant_role

AHMAD_NIP = "198001012005015001"


@pytest.fixture
async def coordinator(budi) -> ChatClient:
    """Budi, coordinator of his own OPD (Dinas Kesehatan), at the main menu."""
    await grant_role(budi, "coordinator", BUDI.unit)
    await budi.send("/mulai")
    return budi


@pytest.fixture
async def ahmad(coordinator) -> ChatClient:
    """A colleague of Budi's OPD, at the main menu."""
    return await colleague(coordinator, 5001)


async def identity_audit(client: ChatClient) -> list[AuditLog]:
    return await rows(client, AuditLog, action="worker.identity_shown")


async def statuses(client: ChatClient) -> list[str]:
    return [enrollment.status for enrollment in await rows(client, Enrollment)]


async def test_opening_an_enrolment_shows_the_ktp_data_in_full_marked_confidential(
        coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    listing = (await coordinator.send("/verifikasi"))[-1]
    assert "1. SITI AMINAH (3324••••••••0001)" in listing.text
    assert NIK_SITI not in texts(coordinator.history), "the list shows the NIK masked"
    shown = await coordinator.press("🔎 1. SITI AMINAH")
    card, question = shown
    assert "🔒 RAHASIA: data pribadi untuk verifikasi" in card.text
    assert f"NIK: {NIK_SITI}" in card.text
    assert "Nama: SITI AMINAH" in card.text
    assert "Tanggal lahir: 17-08-1980 (17 Agustus 1980)" in card.text
    assert "Menurut NIK: perempuan, lahir 17-08-1980." in card.text
    assert "⚠️" not in card.text
    assert "Jangan meneruskan, menyalin, atau memotret layarnya" in card.text
    assert "0857" not in card.text and "+62" not in card.text, "the phone is not needed"
    assert not card.buttons
    assert "Apakah NIK, nama, dan tanggal lahir SITI AMINAH (3324••••••••0001)" in (
        question.text)
    assert NIK_SITI not in question.text
    assert question.labels == ["✅ Setujui", "❌ Tolak", "⬅️ Kembali"]
    assert (await coordinator.state())[0] == Coordinator.review
    # Queued for this private chat only, marked confidential (Telegram then protects it).
    bodies = [(row.chat_id, coordinator.app.cipher.decrypt_json(row.body_enc))
              for row in await rows(coordinator, OutboxMessage)]
    holding = [(chat, body.get("confidential")) for chat, body in bodies
               if NIK_SITI in body["text"]]
    assert holding == [("1001", True)]
    assert [body.get("confidential") for _, body in bodies].count(True) == 1


async def test_each_showing_is_audited_and_the_audit_holds_no_nik(coordinator, ahmad, clock):
    await enrol(ahmad, NIK_SITI)
    await coordinator.send("/verifikasi")
    await coordinator.press("🔎 1.")
    # Help and a wrong answer repeat the question, not the data.
    await coordinator.send("/bantuan")
    await coordinator.send_unsupported("sticker")
    await coordinator.press("⬅️ Kembali")
    clock.advance(minutes=3)
    await coordinator.press("🔎 1.")
    assert sum(NIK_SITI in shown.text for shown in coordinator.history) == 2
    budi, enrollment = await asn_id(coordinator, BUDI.nip), (await rows(coordinator,
                                                                        Enrollment))[0]
    audit = await identity_audit(coordinator)
    assert [(entry.actor_asn_id, entry.channel, entry.subject, entry.at) for entry in audit] == [
        (budi, "console", f"enrollment:{enrollment.id}", clock.now.replace(minute=0)),
        (budi, "console", f"enrollment:{enrollment.id}", clock.now)]
    assert audit[0].details == {"unit_id": await unit_id(coordinator, BUDI.unit),
                                "shown": ["nik", "name", "birth_date"],
                                "purpose": "verification"}
    for entry in await rows(coordinator, AuditLog):
        stored = repr((entry.action, entry.subject, entry.details))
        assert NIK_SITI not in stored and "1980-08-17" not in stored, stored


async def test_two_niks_that_mask_alike_are_told_apart_when_opened(coordinator, ahmad):
    """The issue's case: 3324••••••••0001 twice, the NIKs differing only in the middle."""
    owner = await asn_id(coordinator, AHMAD_NIP)
    await submitted(coordinator, owner, "SITI AMINAH", nik(1, day=12))
    await submitted(coordinator, owner, "SITI AMINAH", nik(1, day=52))
    listing = (await coordinator.send("/verifikasi"))[-1].text
    assert listing.count("SITI AMINAH (3324••••••••0001)") == 2
    first = (await coordinator.press("🔎 1."))[0].text
    await coordinator.press("⬅️ Kembali")
    second = (await coordinator.press("🔎 2."))[0].text
    assert "NIK: 3324011205900001" in first and "Menurut NIK: laki-laki" in first
    assert "NIK: 3324015205900001" in second and "Menurut NIK: perempuan" in second


async def test_a_birth_date_other_than_the_niks_is_pointed_out(coordinator, ahmad):
    # The NIK says 13 May 1990; the ASN gave 12 May 1990 (tests/support/people.submitted).
    await submitted(coordinator, await asn_id(coordinator, AHMAD_NIP), "ANDI", nik(3, day=13))
    await coordinator.send("/verifikasi")
    card = (await coordinator.press("🔎 1."))[0].text
    assert "Tanggal lahir: 12-05-1990 (12 Mei 1990)" in card
    assert ("Menurut NIK: laki-laki, lahir 13-05-1990. ⚠️ Tanggal ini berbeda dengan tanggal "
            "lahir yang diisi: periksa KTP-nya.") in card


async def test_another_opds_enrolment_shows_nothing_and_audits_nothing(coordinator):
    theirs = await submitted(coordinator, await asn_id(coordinator, SRI.nip), "ANDI",
                             nik(9))
    await coordinator.send("/verifikasi")
    shown = await coordinator.press_payload(f"co:rv:{theirs}")
    assert len(shown) == 1 and "tidak ada di daftar tunggu OPD Anda" in shown[0].text
    assert nik(9) not in texts(coordinator.history) and "ANDI" not in shown[0].text
    assert not await identity_audit(coordinator)
    assert (await coordinator.state())[0] == Coordinator.pending


async def test_an_asn_who_is_no_coordinator_cannot_open_one(coordinator, ahmad):
    mine = await submitted(coordinator, await asn_id(coordinator, BUDI.nip), "ANDI", nik(9))
    shown = await ahmad.press_payload(f"co:rv:{mine}")
    assert "Tombol itu sudah tidak berlaku" in shown[0].text
    shown = await ahmad.send("/verifikasi")
    assert "perintah itu khusus untuk koordinator OPD" in shown[0].text
    assert nik(9) not in texts(ahmad.history)
    assert not await identity_audit(coordinator)


async def test_the_ktp_data_is_never_shown_in_a_group_chat(coordinator, ahmad, clock):
    await enrol(ahmad, NIK_SITI)
    enrollment = (await rows(coordinator, Enrollment))[0]
    app = coordinator.app
    # Through the dispatcher, a group gets no conversation at all...
    pressed = replace(make("1001", Kind.BUTTON, payload=f"co:rv:{enrollment.id}"),
                      chat_id="-1005", chat_type=ChatType.GROUP)
    await app.dispatcher.handle(replace(pressed, kind=Kind.COMMAND, text="/verifikasi"))
    await app.dispatcher.handle(pressed)
    await app.sender.drain()
    assert NIK_SITI not in texts(s for s in app.transports["console"].shown
                                 if s.chat_id == "-1005")
    # ...and the step itself, handed a group's update, refuses to show the data there.
    flow = next(flow for flow in app.router.flows if flow.name == "Coordinator")
    unit = await unit_id(coordinator, BUDI.unit)
    conversation = Conversation(Coordinator.pending, {"unit_id": unit, "unit_name": BUDI.unit})
    budi = AsnView(id=await asn_id(coordinator, BUDI.nip), nip=BUDI.nip, name=BUDI.name,
                   unit_name=BUDI.unit, unit_id=unit)
    async with app.sessions.begin() as session:
        context = Context(
            incoming=pressed, now=clock.now, today=clock.now.date(),
            roster=SqlRosterRepository(session),
            enrollments=SqlEnrollmentRepository(session, app.cipher),
            audit=SqlAuditRepository(session), roles=SqlRoleRepository(session),
            verifications=SqlVerificationRepository(session, app.cipher),
            progress=SqlProgressRepository(session),
            broadcasts=SqlBroadcastRepository(session, app.cipher),
            invitations=QrInvitations(session, {}),
            config=app.settings.flow_config(),
            wording=lambda template, values: app.renderer.text(template, dict(values)),
            render=lambda reply, channel: app.renderer.render(reply, channel).as_json(),
            label=app.renderer.label,
            asn=budi,
        )
        with pytest.raises(Invalid) as refused:
            await flow.accept(conversation, context)
    assert refused.value.template == "coordinator/private_only"
    assert conversation.replies == [] and "review_id" not in conversation.data
    assert not await identity_audit(coordinator)


# --- one's own worker --------------------------------------------------------------------

async def test_a_coordinator_cannot_verify_a_worker_they_enrolled(coordinator, ahmad):
    own = await submitted(coordinator, await asn_id(coordinator, BUDI.nip), "ANDI WIJAYA",
                          nik(9))
    listing = (await coordinator.send("/verifikasi"))[-1].text
    assert "Didaftarkan oleh Anda sendiri (diverifikasi koordinator lain)" in listing
    shown = await coordinator.press("🔎 1. ANDI WIJAYA")
    assert len(shown) == 1
    said = shown[0].text
    assert "ANDI WIJAYA Anda daftarkan sendiri, jadi bukan Anda yang memverifikasinya" in said
    assert ("Belum ada koordinator lain di Dinas Kesehatan. Mintalah admin Disperinaker "
            "memverifikasinya atau menunjuk koordinator kedua") in said
    assert shown[0].labels == ["🔎 1. ANDI WIJAYA", "⬅️ Kembali"]
    assert (await coordinator.state())[0] == Coordinator.pending
    # Forged decisions change nothing either.
    for payload in (f"co:ok:{own}", f"co:no:{own}", f"co:yes:{own}"):
        shown = await coordinator.press_payload(payload)
        assert "Tombol itu sudah tidak berlaku" in shown[0].text
    assert await statuses(coordinator) == ["submitted"]
    assert nik(9) not in texts(coordinator.history)
    assert not await identity_audit(coordinator)
    assert not await rows(coordinator, AuditLog, action="enrollment.verified")

    # With a second coordinator in the OPD, Budi is pointed to them, and they decide it.
    await grant_role(coordinator, "coordinator", BUDI.unit, nip=AHMAD_NIP)
    shown = await coordinator.press("🔎 1. ANDI WIJAYA")
    assert ("Verifikasi akan dilakukan koordinator lain di Dinas Kesehatan atau admin "
            "Disperinaker") in shown[0].text
    await ahmad.send("/verifikasi")
    shown = await ahmad.press("🔎 1. ANDI WIJAYA")
    assert f"NIK: {nik(9)}" in shown[0].text
    await ahmad.press("✅ Setujui")
    await ahmad.press("✅ Ya, setujui")
    enrollment = (await rows(coordinator, Enrollment))[0]
    assert (enrollment.status, enrollment.decided_by_asn_id) == (
        "verified", await asn_id(coordinator, AHMAD_NIP))
    assert "ANDI WIJAYA (3324••••••••0009) sudah diverifikasi" in coordinator.last.text


async def test_own_enrolment_cannot_be_decided_from_another_ones_confirmation(coordinator,
                                                                             ahmad):
    theirs = await submitted(coordinator, await asn_id(coordinator, AHMAD_NIP), "SITI",
                             NIK_SITI)
    own = await submitted(coordinator, await asn_id(coordinator, BUDI.nip), "ANDI", nik(9))
    await coordinator.send("/verifikasi")
    await coordinator.press_payload(f"co:rv:{theirs}")
    await coordinator.press("✅ Setujui")
    shown = await coordinator.press_payload(f"co:yes:{own}")
    assert "Tombol itu sudah tidak berlaku" in shown[0].text
    assert (await coordinator.state())[0] == Coordinator.confirm_approve
    assert await statuses(coordinator) == ["submitted", "submitted"]


# --- one mistaken tap decides nothing -----------------------------------------------------

async def test_setujui_asks_once_more_and_batal_decides_nothing(coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    await coordinator.send("/verifikasi")
    await coordinator.press("🔎 1.")
    shown = await coordinator.press("✅ Setujui")
    assert len(shown) == 1
    assert shown[0].text.startswith("Setujui pendaftaran SITI AMINAH?")
    assert "NIK 3324••••••••0001, didaftarkan oleh Warga 5001." in shown[0].text
    assert "diteruskan ke BPJS Ketenagakerjaan" in shown[0].text
    assert shown[0].labels == ["Batal", "✅ Ya, setujui"]
    assert (await coordinator.state())[0] == Coordinator.confirm_approve
    assert await statuses(coordinator) == ["submitted"]
    assert "diverifikasi" not in texts(ahmad.history)
    shown = await coordinator.press("Batal")
    assert "Baik, belum diputuskan" in shown[0].text
    assert (await coordinator.state())[0] == Coordinator.review
    assert await statuses(coordinator) == ["submitted"]
    assert not await rows(coordinator, AuditLog, action="enrollment.verified")
    assert "diverifikasi" not in texts(ahmad.history)


async def test_a_double_tap_on_setujui_decides_nothing(coordinator, ahmad):
    """Telegram delivers both taps of a double tap: the second finds the confirmation."""
    await enrol(ahmad, NIK_SITI)
    await coordinator.send("/verifikasi")
    await coordinator.press("🔎 1.")
    await coordinator.press("✅ Setujui")
    approve = coordinator.history[-2].buttons[0][0].payload
    shown = await coordinator.press_payload(approve)
    assert "Tombol itu sudah tidak berlaku" in shown[0].text
    assert (await coordinator.state())[0] == Coordinator.confirm_approve
    assert await statuses(coordinator) == ["submitted"]


async def test_typing_the_same_number_again_cancels_instead_of_deciding(coordinator, ahmad):
    """On the console buttons are typed by number: "1" opens, "1" is Setujui, and "1" once
    more is Batal, never Ya."""
    await enrol(ahmad, NIK_SITI)
    await coordinator.send("/verifikasi")

    async def typed(line: str) -> list:
        return await coordinator.deliver(coordinator.console.incoming("1001", line))

    assert f"NIK: {NIK_SITI}" in (await typed("1"))[0].text
    assert "Setujui pendaftaran SITI AMINAH?" in (await typed("1"))[0].text
    assert "belum diputuskan" in (await typed("1"))[0].text
    assert (await coordinator.state())[0] == Coordinator.review
    assert await statuses(coordinator) == ["submitted"]
    await typed("2")  # Tolak
    await typed("1")  # Data tak sesuai KTP
    assert "belum diputuskan" in (await typed("1"))[0].text
    assert (await coordinator.state())[0] == Coordinator.review
    assert await statuses(coordinator) == ["submitted"]


async def test_ya_by_word_decides_and_other_words_are_explained(coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    await coordinator.send("/verifikasi")
    await coordinator.press("🔎 1.")
    await coordinator.send("setujui")
    shown = await coordinator.send("mungkin")
    assert "pilih salah satu tombol" in shown[0].text
    assert shown[0].labels == ["Batal", "✅ Ya, setujui"]
    assert await statuses(coordinator) == ["submitted"]
    await coordinator.send("Ya")
    assert await statuses(coordinator) == ["verified"]
    assert "sudah diverifikasi" in ahmad.last.text


async def test_kembali_from_a_rejections_confirmation_is_the_reason_again(coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    await coordinator.send("/verifikasi")
    await coordinator.press("🔎 1.")
    await coordinator.press("❌ Tolak")
    await coordinator.press("Sudah peserta BPJS")
    shown = await coordinator.send("/kembali")
    assert "Mengapa pendaftaran SITI AMINAH" in shown[0].text
    await coordinator.press("Data tak sesuai KTP")
    shown = await coordinator.press("❌ Ya, tolak")
    assert "Alasan: Data pekerja tidak sesuai KTP" in shown[0].text
    enrollment = (await rows(coordinator, Enrollment))[0]
    assert (enrollment.status, enrollment.rejection_reason) == (
        "rejected", "Data pekerja tidak sesuai KTP")


# --- numbers ------------------------------------------------------------------------------

async def test_a_list_number_is_its_button_number_on_every_page(coordinator, ahmad, clock):
    owner = await asn_id(coordinator, AHMAD_NIP)
    for serial in range(1, 8):
        await submitted(coordinator, owner, f"PEKERJA {serial}", nik(serial))
        clock.advance(minutes=1)
    pages = [(await coordinator.send("/verifikasi"))[-1]]
    pages.append((await coordinator.press("Berikutnya ▶️"))[-1])
    pages.append((await coordinator.press("Berikutnya ▶️"))[-1])
    names = [[f"PEKERJA {n}" for n in range(first, min(first + 3, 8))] for first in (1, 4, 7)]
    for page, on_it in zip(pages, names, strict=True):
        for number, name in enumerate(on_it, start=1):
            assert f"{number}. {name} (" in page.text
            assert page.labels[number - 1] == f"🔎 {number}. {name}"
        assert not [label for label in page.labels[len(on_it):] if label.startswith("🔎")]
    await coordinator.press("◀️ Sebelumnya")  # page 2: PEKERJA 4, 5, 6
    # "2": on the console the second button, typed elsewhere the list's second: the same.
    shown = await coordinator.deliver(coordinator.console.incoming("1001", "2"))
    assert "Nama: PEKERJA 5" in shown[0].text
    await coordinator.press("⬅️ Kembali")
    shown = await coordinator.send(" 2 ")
    assert "Nama: PEKERJA 5" in shown[0].text
    await coordinator.press("⬅️ Kembali")
    assert "Halaman 2 dari 3" in coordinator.last.text, "back to the page it was on"
    shown = await coordinator.send("4")
    assert len(shown) == 1
    assert "Nomor itu tidak ada di halaman ini. Ketik nomor 1 sampai 3" in shown[0].text
    assert (await coordinator.state())[0] == Coordinator.pending
    assert len(await identity_audit(coordinator)) == 2
    assert await statuses(coordinator) == ["submitted"] * 7


async def test_the_old_numbered_decision_buttons_decide_nothing(coordinator, ahmad):
    """A "✅ Setujui no. 1" pressed on a list shown before this version."""
    await enrol(ahmad, NIK_SITI)
    enrollment = (await rows(coordinator, Enrollment))[0]
    await coordinator.send("/verifikasi")
    for payload in (f"co:ok:{enrollment.id}", f"co:no:{enrollment.id}"):
        shown = await coordinator.press_payload(payload)
        assert "Tombol itu sudah tidak berlaku" in shown[0].text
    assert await statuses(coordinator) == ["submitted"]
    async with coordinator.app.sessions() as session:
        assert await session.scalar(select(AuditLog.id).where(
            AuditLog.action.in_(["enrollment.verified", "enrollment.rejected"]))) is None


async def test_a_coordinators_own_submission_is_news_to_the_other_coordinators_only(
        coordinator, ahmad):
    await grant_role(coordinator, "coordinator", BUDI.unit, nip=AHMAD_NIP)
    await coordinator.send("/mulai")
    await enrol(coordinator, NIK_SITI)
    assert "menunggu verifikasi Anda" not in texts(coordinator.history)
    assert "Pendaftaran baru menunggu verifikasi Anda: SITI AMINAH" in ahmad.last.text
