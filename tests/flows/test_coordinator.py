"""The OPD coordinator in a private chat: told of each submission, verifies (opens one, then
approves, or rejects with a reason, each confirmed) with the ASN told either way, pages
through a long list, sees the OPD's progress; in a group, links it to the OPD. What opening
an enrolment shows, to whom, and what guards a decision: tests/flows/test_verification.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import update

from bot.console import make
from flows.events import ChatType, Kind
from storage.interfaces import EnrollmentNotFound
from storage.models import AuditLog, Chat, Enrollment
from storage.verifications import SqlVerificationRepository
from tests.conftest import BUDI, SRI, seed_roster
from tests.flows.conftest import login
from tests.support.chat import ChatClient, texts
from tests.support.people import asn_id, colleague, nik, rows, submitted, unit_id
from tests.support.route import NIK_SITI, add_residents, enrol, grant_role


@pytest.fixture
async def coordinator(budi) -> ChatClient:
    """Budi, coordinator of his own OPD (Dinas Kesehatan), at the main menu."""
    await grant_role(budi, "coordinator", BUDI.unit)
    await budi.send("/mulai")
    return budi


AHMAD_NIP = "198001012005015001"


@pytest.fixture
async def ahmad(coordinator) -> ChatClient:
    """A colleague of Budi's OPD, at the main menu."""
    return await colleague(coordinator, 5001)


async def test_the_menu_offers_the_coordinator_button_to_coordinators_only(budi, coordinator):
    assert "Koordinator: Dinas Kesehatan" in coordinator.last.labels
    sri = await colleague(coordinator, 5002, opd=SRI.unit)
    assert not [label for label in sri.last.labels if label.startswith("Koordinator")]


async def test_a_submission_is_told_to_the_coordinator_with_name_and_masked_nik(
        coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    news = coordinator.last.text
    assert "Pendaftaran baru menunggu verifikasi Anda: SITI AMINAH (3324••••••••0001)" in news
    assert "/verifikasi" in news
    assert NIK_SITI not in texts(coordinator.history)
    assert "Warga" not in news, "only the worker's name and masked NIK"


async def test_every_coordinator_of_the_opd_is_told_and_no_other(coordinator, ahmad):
    second = await colleague(coordinator, 5003)
    await grant_role(coordinator, "coordinator", BUDI.unit, nip="198001012005015003")
    other_opd = await colleague(coordinator, 5004, opd=SRI.unit)
    await grant_role(coordinator, "coordinator", SRI.unit, nip="198001012005015004")
    await enrol(ahmad, NIK_SITI)
    assert "menunggu verifikasi Anda" in coordinator.last.text
    assert "menunggu verifikasi Anda" in second.last.text
    assert "menunggu verifikasi" not in texts(other_opd.history)


async def test_approving_verifies_tells_the_asn_and_audits(coordinator, ahmad, clock):
    await enrol(ahmad, NIK_SITI)
    shown = await coordinator.press("Koordinator: Dinas Kesehatan")
    assert "Menunggu verifikasi: 1 pendaftaran." in shown[-1].text
    shown = await coordinator.press("📝 Verifikasi")
    listing = shown[-1].text
    assert "1. SITI AMINAH (3324••••••••0001)" in listing
    assert "Didaftarkan oleh Warga 5001 (NIP 198001012005015001), 21 Agustus 2025" in listing
    assert shown[-1].labels == ["🔎 1. SITI AMINAH", "⬅️ Kembali"]
    shown = await coordinator.press("🔎 1. SITI AMINAH")
    assert f"NIK: {NIK_SITI}" in shown[0].text
    assert shown[-1].labels == ["✅ Setujui", "❌ Tolak", "⬅️ Kembali"]
    await coordinator.press("✅ Setujui")

    shown = await coordinator.press("✅ Ya, setujui")
    assert "✅ Disetujui: SITI AMINAH (3324••••••••0001), didaftarkan oleh Warga 5001." in (
        shown[0].text)
    assert "Tidak ada pendaftaran yang menunggu verifikasi" in shown[-1].text
    assert (await coordinator.state())[0] == "Coordinator:pending"
    assert "sudah diverifikasi koordinator Dinas Kesehatan" in ahmad.last.text
    enrollment = (await rows(coordinator, Enrollment))[0]
    budi_id = await asn_id(coordinator, BUDI.nip)
    assert (enrollment.status, enrollment.decided_at, enrollment.decided_by_asn_id,
            enrollment.rejection_reason) == ("verified", clock.now, budi_id, None)
    audit = await rows(coordinator, AuditLog, action="enrollment.verified")
    assert [(entry.actor_asn_id, entry.subject) for entry in audit] == [
        (budi_id, f"enrollment:{enrollment.id}")]


async def open_first(coordinator: ChatClient) -> None:
    """From anywhere, the first enrolment waiting in the coordinator's OPD, opened."""
    await coordinator.send("/verifikasi")
    await coordinator.press("🔎 1.")
    assert (await coordinator.state())[0] == "Coordinator:review", coordinator.last.text


async def test_rejecting_with_a_ready_reason_frees_the_nik_and_tells_the_asn(coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    await open_first(coordinator)
    shown = await coordinator.press("❌ Tolak")
    assert "Mengapa pendaftaran SITI AMINAH (3324••••••••0001) ditolak?" in shown[-1].text
    assert "Warga 5001 akan membaca alasan ini" in shown[-1].text
    assert shown[-1].labels == ["Data tak sesuai KTP", "Bukan pekerja rentan",
                                "Sudah peserta BPJS", "Alasan lain (ketik)", "⬅️ Kembali"]
    shown = await coordinator.press("Data tak sesuai KTP")
    assert "Tolak pendaftaran SITI AMINAH?" in shown[-1].text
    assert "Alasan yang akan dibaca Warga 5001: Data pekerja tidak sesuai KTP" in shown[-1].text
    assert shown[-1].labels == ["Batal", "❌ Ya, tolak"]
    shown = await coordinator.press("❌ Ya, tolak")
    assert "❌ Ditolak: SITI AMINAH (3324••••••••0001)." in shown[0].text
    assert "Alasan: Data pekerja tidak sesuai KTP" in shown[0].text
    assert (await coordinator.state())[0] == "Coordinator:pending"
    told = ahmad.last.text
    assert "SITI AMINAH (3324••••••••0001) belum dapat diteruskan" in told
    assert "Alasan dari koordinator Dinas Kesehatan: Data pekerja tidak sesuai KTP" in told
    enrollment = (await rows(coordinator, Enrollment))[0]
    assert (enrollment.status, enrollment.rejection_reason) == (
        "rejected", "Data pekerja tidak sesuai KTP")
    assert await rows(coordinator, AuditLog, action="enrollment.rejected")
    # A rejected enrolment holds the NIK no more: the worker can be enrolled again.
    await ahmad.send("/mulai")
    await enrol(ahmad, NIK_SITI)
    assert [e.status for e in await rows(coordinator, Enrollment)] == ["rejected", "submitted"]


async def test_rejecting_with_a_typed_reason(coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    await open_first(coordinator)
    await coordinator.press("❌ Tolak")
    shown = await coordinator.press("Alasan lain (ketik)")
    assert "ketik alasan penolakan" in shown[0].text
    assert (await coordinator.state())[0] == "Coordinator:reject_reason"
    shown = await coordinator.send("Nama   di KTP   berbeda")
    assert "Alasan yang akan dibaca Warga 5001: Nama di KTP berbeda" in shown[-1].text
    await coordinator.send("ya")
    enrollment = (await rows(coordinator, Enrollment))[0]
    assert (enrollment.status, enrollment.rejection_reason) == (
        "rejected", "Nama di KTP berbeda")
    assert "Alasan dari koordinator Dinas Kesehatan: Nama di KTP berbeda" in ahmad.last.text


async def test_going_back_from_the_reason_rejects_nothing(coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    await open_first(coordinator)
    await coordinator.press("❌ Tolak")
    shown = await coordinator.press("⬅️ Kembali")
    assert "Apakah NIK, nama, dan tanggal lahir SITI AMINAH" in shown[-1].text
    shown = await coordinator.press("⬅️ Kembali")
    assert "1. SITI AMINAH" in shown[-1].text
    await coordinator.press("🔎 1.")
    await coordinator.press("❌ Tolak")
    await coordinator.press("Bukan pekerja rentan")
    shown = await coordinator.send("/batal")
    assert "belum disetujui maupun ditolak" in shown[0].text
    assert [e.status for e in await rows(coordinator, Enrollment)] == ["submitted"]
    assert not await rows(coordinator, AuditLog, action="enrollment.rejected")
    assert "belum dapat diteruskan" not in texts(ahmad.history)


async def test_a_long_list_is_paged_oldest_first(coordinator, ahmad, clock):
    owner = await asn_id(coordinator, AHMAD_NIP)
    for serial in range(1, 8):
        await submitted(coordinator, owner, f"PEKERJA {serial}", nik(serial))
        clock.advance(minutes=1)
    shown = await coordinator.send("/verifikasi")
    text = shown[-1].text
    assert "1. PEKERJA 1" in text and "3. PEKERJA 3" in text and "PEKERJA 4" not in text
    assert "Halaman 1 dari 3 (7 pendaftaran)." in text
    assert shown[-1].labels == ["🔎 1. PEKERJA 1", "🔎 2. PEKERJA 2", "🔎 3. PEKERJA 3",
                                "Berikutnya ▶️", "⬅️ Kembali"]
    shown = await coordinator.press("Berikutnya ▶️")
    assert "1. PEKERJA 4" in shown[-1].text and "Halaman 2 dari 3" in shown[-1].text
    assert "◀️ Sebelumnya" in shown[-1].labels
    await coordinator.press("Berikutnya ▶️")
    await coordinator.press("🔎 1. PEKERJA 7")
    await coordinator.press("✅ Setujui")
    shown = await coordinator.press("✅ Ya, setujui")
    # The last page emptied: the list shows the page before it.
    assert "Halaman 2 dari 2 (6 pendaftaran)." in shown[-1].text
    statuses = [e.status for e in await rows(coordinator, Enrollment)]
    assert statuses == ["submitted"] * 6 + ["verified"]


async def test_a_button_pressed_twice_decides_once(coordinator, ahmad):
    await enrol(ahmad, NIK_SITI)
    await open_first(coordinator)
    await coordinator.press("✅ Setujui")
    yes = [b for row in coordinator.last.buttons for b in row if b.label.startswith("✅")]
    await coordinator.press("✅ Ya, setujui")
    shown = await coordinator.press_payload(yes[0].payload)
    assert "Tombol itu sudah tidak berlaku" in shown[0].text
    assert (await coordinator.state())[0] == "Coordinator:pending"
    assert len(await rows(coordinator, AuditLog, action="enrollment.verified")) == 1
    assert len([m for m in ahmad.history if "diverifikasi" in m.text]) == 1


@pytest.mark.parametrize(("steps", "last"), [
    ((), "✅ Setujui"),
    (("✅ Setujui",), "✅ Ya, setujui"),
    (("❌ Tolak",), "Bukan pekerja rentan"),
    (("❌ Tolak", "Bukan pekerja rentan"), "❌ Ya, tolak"),
])
async def test_a_decision_taken_elsewhere_meanwhile_is_not_taken_again(coordinator, ahmad,
                                                                      steps, last):
    await enrol(ahmad, NIK_SITI)
    await open_first(coordinator)
    for label in steps:
        await coordinator.press(label)
    async with coordinator.app.sessions.begin() as session:  # another coordinator's approval
        await session.execute(update(Enrollment).values(status="verified"))
    shown = await coordinator.press(last)
    assert "tidak ada di daftar tunggu OPD Anda" in shown[0].text
    assert "Tidak ada pendaftaran yang menunggu verifikasi" in shown[-1].text
    assert await coordinator.state() == ("Coordinator:pending", {
        "unit_id": await unit_id(coordinator, BUDI.unit), "unit_name": BUDI.unit, "page": 0})
    assert [e.status for e in await rows(coordinator, Enrollment)] == ["verified"]
    assert not await rows(coordinator, AuditLog, action="enrollment.rejected")
    assert not await rows(coordinator, AuditLog, action="enrollment.verified")
    assert "belum dapat diteruskan" not in texts(ahmad.history)
    assert "diverifikasi" not in texts(ahmad.history)


async def test_progress_shows_the_opd_line_of_the_ranking(coordinator, ahmad):
    # Budi's OPD: Budi and 4 colleagues (Ahmad and 3 more); one of them participates.
    await add_residents(coordinator, 3, first_chat=6001)
    await add_residents(coordinator, 1, first_chat=6101, opd=SRI.unit)
    await enrol(ahmad, NIK_SITI)
    shown = await coordinator.send("/progres")
    text = shown[-1].text
    assert "Progres Dinas Kesehatan" in text and "Per 21 Agustus 2025" in text
    assert "ASN di OPD: 5" in text
    assert "ASN yang ikut: 1 (20%; target 20%)" in text
    assert "Pekerja terlindungi (terdaftar di BPJS): 0" in text
    assert "Sejak sebulan lalu: bertambah 1 ASN" in text
    assert "Peringkat: 1 dari 2 OPD" in text
    assert "Target sudah tercapai" in text
    assert shown[-1].labels == ["⬅️ Kembali", "🏠 Menu utama"]
    shown = await coordinator.press("⬅️ Kembali")
    assert (await coordinator.state())[0] == "Coordinator:menu"


async def test_progress_below_the_target_says_how_many_more(coordinator):
    await add_residents(coordinator, 9, first_chat=6001)
    shown = await coordinator.send("/progres")
    assert "ASN yang ikut: 0 (0%; target 20%)" in shown[-1].text
    assert "Masih perlu 2 ASN lagi untuk mencapai target." in shown[-1].text


async def group_message(client: ChatClient, text: str, user_id: str = "1001",
                        group: str = "-1005") -> list[str]:
    incoming = replace(make(user_id, Kind.COMMAND, text=text), chat_id=group,
                       chat_type=ChatType.GROUP)
    await client.app.dispatcher.handle(incoming)
    await client.app.sender.drain()
    return [shown.text for shown in client.console.shown if shown.chat_id == group]


async def test_tautkan_links_the_group_to_the_coordinators_opd(coordinator, clock):
    said = await group_message(coordinator, "/tautkan")
    assert "Grup ini sekarang terhubung dengan Dinas Kesehatan" in said[-1]
    assert "Setiap tanggal 1 pukul 08.00 WIB" in said[-1]
    group = (await rows(coordinator, Chat, chat_id="-1005"))[0]
    budi_id = await asn_id(coordinator, BUDI.nip)
    assert (group.chat_type, group.unit_id, group.linked_by_asn_id, group.linked_at,
            group.title) == ("group", await unit_id(coordinator, BUDI.unit), budi_id,
                             clock.now, None)
    audit = await rows(coordinator, AuditLog, action="group.linked")
    assert audit[0].subject == "chat:-1005" and audit[0].actor_asn_id == budi_id
    assert await coordinator.state() == ("Menu:main", {}), "the private chat is untouched"


async def test_a_coordinator_of_two_opd_names_the_one_to_link(coordinator):
    await grant_role(coordinator, "coordinator", SRI.unit)
    said = await group_message(coordinator, "/tautkan")
    assert "Ketik /tautkan diikuti nama unitnya" in said[-1]
    assert not (await rows(coordinator, Chat, chat_id="-1005"))[0].unit_id
    said = await group_message(coordinator, f"/tautkan {SRI.unit.upper()}")
    assert f"terhubung dengan {SRI.unit}" in said[-1]
    group = (await rows(coordinator, Chat, chat_id="-1005"))[0]
    assert group.unit_id == await unit_id(coordinator, SRI.unit)


async def test_other_commands_in_a_group_point_to_the_private_chat(coordinator):
    said = await group_message(coordinator, "/verifikasi")
    assert said == [coordinator.app.renderer.text("common/private_only", {})]


async def test_deciding_and_linking_on_both_engines(app_any_db):
    """The unit-bound reads (the KTP data among them), the guarded decision UPDATE (never
    by the ASN who submitted) and the group-link upsert on SQLite and PostgreSQL."""
    await seed_roster(app_any_db)
    budi = await login(ChatClient(app_any_db, user_id="1001"))
    await grant_role(budi, "coordinator", BUDI.unit)
    ahmad = await colleague(budi, 5001)
    mine = await submitted(budi, await asn_id(budi, AHMAD_NIP), "SITI", NIK_SITI)
    theirs = await submitted(budi, await asn_id(budi, SRI.nip), "ANDI", nik(9))
    own = await submitted(budi, await asn_id(budi, BUDI.nip), "DEWI", nik(10))
    await budi.send("/verifikasi")
    shown = await budi.press_payload(f"co:rv:{theirs}")
    assert "tidak ada di daftar tunggu OPD Anda" in shown[0].text
    shown = await budi.press_payload(f"co:rv:{own}")
    assert "DEWI Anda daftarkan sendiri" in shown[0].text
    shown = await budi.press_payload(f"co:rv:{mine}")
    assert f"NIK: {NIK_SITI}" in shown[0].text and "12-05-1990" in shown[0].text
    await budi.press("✅ Setujui")
    await budi.press("✅ Ya, setujui")
    assert "sudah diverifikasi" in ahmad.last.text
    unit, budi_id = await unit_id(budi, BUDI.unit), await asn_id(budi, BUDI.nip)
    async with budi.app.sessions.begin() as session:
        verifications = SqlVerificationRepository(session, budi.app.cipher)
        assert await verifications.identity(unit, theirs) is None  # another OPD's
        assert await verifications.other_coordinators(unit, budi_id) == 0
        with pytest.raises(EnrollmentNotFound):  # nobody decides what they submitted
            await verifications.decide(unit, own, verified=True, reason=None,
                                       by_asn_id=budi_id, now=budi.app.clock())
    statuses = {e.id: e.status for e in await rows(budi, Enrollment)}
    assert statuses == {mine: "verified", theirs: "submitted", own: "submitted"}
    await group_message(budi, "/tautkan")
    await grant_role(budi, "coordinator", SRI.unit)
    said = await group_message(budi, f"/tautkan {SRI.unit}")
    assert f"terhubung dengan {SRI.unit}" in said[-1]
    group = (await rows(budi, Chat, chat_id="-1005"))[0]
    assert group.unit_id == await unit_id(budi, SRI.unit)
    assert len(await rows(budi, AuditLog, action="group.linked")) == 2
