"""Role checks for every role command and button: no role, the wrong role, another unit's
data asked for with a forged button, a role revoked or moved while its conversation is
open. Each refusal is polite, and nothing changes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import delete, update

from bot.console import make
from flows.events import ChatType, Kind
from storage.models import AuditLog, Broadcast, Chat, Enrollment, OutboxMessage, Role
from tests.conftest import BUDI, SRI
from tests.support.chat import ChatClient, texts
from tests.support.people import asn_id, colleague, rows, submitted, unit_id
from tests.support.route import NIK_ANDI, NIK_SITI, add_residents, enrol, grant_role

NOT_FOR_YOU = "khusus untuk koordinator OPD atau camat"
ROLE_COMMANDS = ["/koordinator", "/verifikasi", "/progres", "/siaran", "/tautkan"]


async def unchanged(client: ChatClient, state: tuple) -> None:
    assert await client.state() == state
    assert not await rows(client, AuditLog, action="enrollment.verified")
    assert not await rows(client, AuditLog, action="enrollment.rejected")
    assert not await rows(client, Broadcast)


@pytest.mark.parametrize("command", ROLE_COMMANDS)
async def test_an_asn_without_a_role_is_told_politely(budi, command):
    before = await budi.state()
    shown = await budi.send(command)
    assert len(shown) == 1 and NOT_FOR_YOU in shown[0].text
    assert shown[0].labels == budi.history[-2].labels, "the menu's buttons come again"
    await unchanged(budi, before)


@pytest.mark.parametrize("command", ROLE_COMMANDS)
async def test_a_role_command_before_identification_is_unknown(chat, command):
    await chat.send("/mulai")
    shown = await chat.send(command)
    assert "Perintah itu tidak saya kenal" in shown[0].text
    assert (await chat.state())[0] == "Identify:nip"


@pytest.mark.parametrize(("payload_unit", "role"), [
    (BUDI.unit, "coord"), (SRI.unit, "coord"), ("Patebon", "camat"), ("Kendal", "camat")])
async def test_forged_role_buttons_open_nothing_for_an_asn_without_the_role(
        budi, payload_unit, role):
    before = await budi.state()
    shown = await budi.press_payload(f"menu:{role}:{await unit_id(budi, payload_unit)}")
    assert NOT_FOR_YOU in shown[0].text
    await unchanged(budi, before)


@pytest.mark.parametrize("command", ["/siaran"])
async def test_a_coordinator_is_not_a_camat(budi, command):
    await grant_role(budi, "coordinator", BUDI.unit)
    shown = await budi.send(command)
    assert NOT_FOR_YOU in shown[0].text
    assert (await budi.state())[0] == "Menu:main"


@pytest.mark.parametrize("command", ["/koordinator", "/verifikasi"])  # /progres: the kecamatan's
async def test_a_camat_is_not_a_coordinator(budi, command):
    await grant_role(budi, "camat", "Patebon")
    shown = await budi.send(command)
    assert NOT_FOR_YOU in shown[0].text
    assert (await budi.state())[0] == "Menu:main"


@pytest.fixture
async def opd_b_enrolment(budi) -> int:
    """Budi coordinates Dinas Kesehatan (OPD A); Sri of OPD B submitted an enrolment."""
    await grant_role(budi, "coordinator", BUDI.unit)
    return await submitted(budi, await asn_id(budi, SRI.nip), "ANDI", NIK_ANDI)


@pytest.mark.parametrize("state", ["Coordinator:menu", "Coordinator:pending",
                                   "Coordinator:progress"])
@pytest.mark.parametrize("action", ["ok", "no", "rv", "yes"])
async def test_a_coordinator_forging_a_decision_on_another_opds_enrolment_changes_nothing(
        budi, opd_b_enrolment, state, action):
    await budi.send({"Coordinator:menu": "/koordinator", "Coordinator:pending": "/verifikasi",
                     "Coordinator:progress": "/progres"}[state])
    before = await budi.state()
    shown = await budi.press_payload(f"co:{action}:{opd_b_enrolment}")
    assert len(shown) == 1
    said = shown[0].text
    assert "tidak ada di daftar tunggu OPD Anda" in said or "Tombol itu sudah tidak berlaku" in (
        said)
    assert "ANDI" not in said, "nothing of another OPD's enrolment is shown"
    await unchanged(budi, before)
    enrollment = (await rows(budi, Enrollment))[0]
    assert (enrollment.status, enrollment.decided_at, enrollment.decided_by_asn_id) == (
        "submitted", None, None)


async def test_another_opds_enrolment_is_never_listed(budi, opd_b_enrolment):
    await submitted(budi, await asn_id(budi, BUDI.nip), "SITI AMINAH", NIK_SITI)
    shown = await budi.send("/verifikasi")
    assert "SITI AMINAH" in shown[-1].text and "ANDI" not in shown[-1].text
    shown = await budi.send("/koordinator")
    assert "Menunggu verifikasi: 1 pendaftaran." in shown[-1].text


async def refused_forgery(budi, payload: str) -> None:
    """A button budi was never shown, pressed anyway: refused, and nothing changes."""
    before = await budi.state()
    shown = await budi.press_payload(payload)
    assert NOT_FOR_YOU in shown[0].text
    await unchanged(budi, before)


async def test_a_coordinator_forging_the_button_of_another_opd(budi, opd_b_enrolment):
    await refused_forgery(budi, f"menu:coord:{await unit_id(budi, SRI.unit)}")


async def test_a_camat_forging_the_button_of_another_kecamatan(budi):
    await grant_role(budi, "camat", "Patebon")
    await add_residents(budi, 2, kecamatan="Kendal", first_chat=7001)
    await refused_forgery(budi, f"menu:camat:{await unit_id(budi, 'Kendal')}")


async def test_a_camat_of_patebon_reaches_patebon_only(budi):
    await grant_role(budi, "camat", "Patebon")
    await add_residents(budi, 2, first_chat=5001)
    await add_residents(budi, 2, kecamatan="Kendal", first_chat=7001)
    await budi.send("/siaran")
    await budi.press("Semua ASN")
    # Forged buttons naming another audience or campaign are stale; none names a kecamatan.
    for forged in ["bc:all:Kendal", f"bc:all:{await unit_id(budi, 'Kendal')}", "bc:tpl:x"]:
        shown = await budi.press_payload(forged)
        assert "Tombol itu sudah tidak berlaku" in shown[0].text
    await budi.press("📄 Ajakan umum")
    await budi.press("✅ Kirim sekarang")
    chats = sorted(row.chat_id for row in await rows(budi, OutboxMessage, kind="broadcast"))
    assert chats == ["5001", "5002"]
    assert (await rows(budi, Broadcast))[0].unit_id == await unit_id(budi, "Patebon")


async def test_a_camat_moved_to_another_kecamatan_mid_broadcast_sends_nothing(budi):
    await grant_role(budi, "camat", "Patebon")
    await add_residents(budi, 2, first_chat=5001)
    await budi.send("/siaran")
    await budi.press("Semua ASN")
    await budi.press("📄 Ajakan umum")
    async with budi.app.sessions.begin() as session:
        await session.execute(update(Role).values(unit_id=await unit_id(budi, "Kendal")))
    shown = await budi.press("✅ Kirim sekarang")
    assert NOT_FOR_YOU in shown[0].text
    assert await budi.state() == ("Menu:main", {})
    assert not await rows(budi, Broadcast) and not await rows(budi, OutboxMessage,
                                                             kind="broadcast")


async def revoke_all(client: ChatClient) -> None:
    async with client.app.sessions.begin() as session:
        await session.execute(delete(Role))


@pytest.mark.parametrize("press", ["🔎 2. DEWI LESTARI", "⬅️ Kembali", "/kembali", "/bantuan",
                                   "hello", "2"])
async def test_a_revoked_coordinator_is_stopped_at_the_next_message(at, press):
    chat = await at("Coordinator:pending")
    await revoke_all(chat)
    shown = await (chat.send(press) if press.startswith("/") or press in {"hello", "2"}
                   else chat.press(press))
    assert NOT_FOR_YOU in shown[0].text
    assert "Menu utama" in shown[-1].text
    assert not [label for label in shown[-1].labels if label.startswith("Koordinator")]
    assert await chat.state() == ("Menu:main", {})
    assert [e.status for e in await rows(chat, Enrollment)] == ["submitted", "submitted"]
    assert "3324015708800002" not in texts(shown), "nothing of the KTP data is shown"


@pytest.mark.parametrize(("state", "press"), [("Coordinator:reject_reason",
                                               "Bukan pekerja rentan"),
                                              ("Coordinator:confirm_approve", "✅ Ya, setujui"),
                                              ("Coordinator:confirm_reject", "❌ Ya, tolak")])
async def test_a_revoked_coordinator_cannot_finish_a_decision(at, state, press):
    chat = await at(state)
    await revoke_all(chat)
    shown = await chat.press(press)
    assert NOT_FOR_YOU in shown[0].text
    assert [e.status for e in await rows(chat, Enrollment)] == ["submitted", "submitted"]


@pytest.mark.parametrize("state", ["Broadcast:audience", "Broadcast:content",
                                   "Broadcast:preview", "Broadcast:progress"])
async def test_a_revoked_camat_is_stopped_at_the_next_message(at, state):
    chat = await at(state)
    broadcasts = len(await rows(chat, Broadcast))
    await revoke_all(chat)
    shown = await chat.press(chat.last.labels[0])
    assert NOT_FOR_YOU in shown[0].text
    assert await chat.state() == ("Menu:main", {})
    assert len(await rows(chat, Broadcast)) == broadcasts


async def test_a_revoked_camat_cannot_cancel_the_broadcast(at):
    chat = await at("Broadcast:progress")
    await revoke_all(chat)
    shown = await chat.press_payload("bc:stop")
    assert NOT_FOR_YOU in shown[0].text
    assert (await rows(chat, Broadcast))[0].status != "cancelled"


async def test_a_role_command_mid_enrolment_asks_to_finish_first(at):
    chat = await at("Enrollment:name")
    await grant_role(chat, "coordinator", BUDI.unit)
    before = await chat.state()
    shown = await chat.send("/verifikasi")
    assert "Selesaikan dulu, atau ketik /batal, lalu ketik /verifikasi lagi" in shown[0].text
    assert await chat.state() == before


# --- group chats -------------------------------------------------------------------------

async def in_group(client: ChatClient, text: str, user_id: str, group: str = "-1009"
                   ) -> str:
    incoming = replace(make(user_id, Kind.COMMAND, text=text), chat_id=group,
                       chat_type=ChatType.GROUP)
    await client.app.dispatcher.handle(incoming)
    await client.app.sender.drain()
    return [shown.text for shown in client.console.shown if shown.chat_id == group][-1]


async def linked_unit(client: ChatClient, group: str = "-1009") -> int | None:
    found = await rows(client, Chat, chat_id=group)
    return found[0].unit_id if found else None


@pytest.mark.parametrize("role", [("coordinator", BUDI.unit), ("camat", "Patebon")])
async def test_tautkan_in_the_private_chat_says_where_it_belongs(budi, role):
    await grant_role(budi, *role)
    before = await budi.state()
    shown = await budi.send("/tautkan")
    assert "ketik /tautkan di sana" in shown[0].text
    assert await budi.state() == before


async def test_tautkan_from_someone_the_bot_does_not_know(chat):
    said = await in_group(chat, "/tautkan", user_id="4242")
    assert "Saya belum mengenal Anda" in said
    assert await linked_unit(chat) is None


async def test_tautkan_from_an_asn_without_a_role(budi):
    said = await in_group(budi, "/tautkan", user_id="1001")
    assert NOT_FOR_YOU in said
    assert await linked_unit(budi) is None
    assert not await rows(budi, AuditLog, action="group.linked")


async def test_tautkan_naming_a_unit_one_does_not_hold(budi):
    await grant_role(budi, "coordinator", BUDI.unit)
    said = await in_group(budi, f"/tautkan {SRI.unit}", user_id="1001")
    assert "Ketik /tautkan diikuti nama unitnya" in said
    assert await linked_unit(budi) is None


async def test_tautkan_by_a_camat_links_the_kecamatan(budi):
    await grant_role(budi, "camat", "Patebon")
    said = await in_group(budi, "/tautkan", user_id="1001")
    assert "terhubung dengan Kecamatan Patebon" in said and "Siaran camat" in said
    assert await linked_unit(budi) == await unit_id(budi, "Patebon")


async def test_a_revoked_coordinator_cannot_relink_a_group(budi):
    await grant_role(budi, "coordinator", BUDI.unit)
    await in_group(budi, "/tautkan", user_id="1001")
    await revoke_all(budi)
    said = await in_group(budi, "/tautkan", user_id="1001")
    assert NOT_FOR_YOU in said
    assert await linked_unit(budi) == await unit_id(budi, BUDI.unit)


async def test_submission_news_goes_to_coordinators_of_the_asns_own_opd(budi):
    await grant_role(budi, "coordinator", SRI.unit)  # Budi coordinates OPD B only
    ahmad = await colleague(budi, 5001)              # Ahmad is in OPD A
    await enrol(ahmad, NIK_SITI)
    assert "menunggu verifikasi" not in texts(budi.history)
