"""Identify: NIP, then one's own contact; nothing from the roster before the phone is proven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from storage.models import Asn, AuditLog, ChannelIdentity, LoginAttempt, Unit
from tests.conftest import BUDI, SRI
from tests.support.chat import ChatClient, texts

ROSTER_WORDS = [BUDI.name, BUDI.unit, SRI.name, SRI.unit, "Budi", "Kesehatan"]
NOT_ON_ROSTER = "199912312020121001"


async def at_phone_step(client: ChatClient, nip: str = BUDI.nip) -> None:
    await client.send("/mulai")
    await client.send(nip)
    assert await client.state() == ("Identify:phone", {"nip": nip})


async def failures(client: ChatClient) -> int:
    async with client.app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(LoginAttempt))


def assert_no_roster_data(client: ChatClient) -> None:
    seen = texts(client.history)
    for word in ROSTER_WORDS:
        assert word not in seen, word


async def test_first_contact_welcomes_and_asks_for_the_nip(chat):
    shown = await chat.send("halo")
    assert "Selamat datang" in shown[0].text
    assert "ketik NIP Anda" in shown[-1].text
    assert await chat.state() == ("Identify:nip", {})


@pytest.mark.parametrize(
    "typed",
    [
        "19850315201001100a",  # a letter
        "19850315201001100",  # 17 digits
        "1985031520100110011",  # 19 digits
        "198513152010011001",  # month 13 in the birth date
        "198502302010011001",  # 30 February
        "193001012010011001",  # born before 1940
        "NIP saya 198503152010011001",
        "１９８５０３１５２０１００１１００１",  # full-width digits
    ],
)
async def test_a_malformed_nip_is_explained_and_not_counted_as_a_failure(chat, typed):
    await chat.send("/mulai")
    shown = await chat.send(typed)
    assert [m.text for m in shown] == [chat.app.renderer.text("identify/bad_nip", {})]
    assert await chat.state() == ("Identify:nip", {})
    assert await failures(chat) == 0


@pytest.mark.parametrize(
    "typed", ["19850315 201001 1 001", "19850315.201001.1.001", "19850315-201001-1-001",
              "  198503152010011001  "],
)
async def test_spaces_dots_and_dashes_in_a_nip_are_accepted(chat, typed):
    await chat.send("/mulai")
    shown = await chat.send(typed)
    assert "Bagikan nomor HP saya" in shown[-1].text
    assert shown[-1].labels == ["📱 Bagikan nomor HP saya"]
    assert await chat.state() == ("Identify:phone", {"nip": BUDI.nip})
    assert_no_roster_data(chat)


async def test_a_pppk_nip_without_an_appointment_month_links(chat):
    pppk = "199204172023212003"  # born 17-04-1992, PPPK 2023: "21" is no month
    async with chat.app.sessions.begin() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == BUDI.unit))
        session.add(Asn(nip=pppk, name="Rina Wati", unit_id=unit.id, phone="+6281311112222",
                        updated_at=datetime.now(UTC)))
    await at_phone_step(chat, pppk)
    shown = await chat.share_contact("081311112222")
    assert "Rina Wati (Dinas Kesehatan)" in shown[0].text
    assert (await chat.state())[0] == "Menu:main"


@pytest.mark.parametrize("phone", ["081234567890", "6281234567890", "+62 812-3456-7890"])
async def test_own_contact_matching_the_roster_links_and_shows_name_unit_and_menu(chat, phone):
    await at_phone_step(chat)
    assert_no_roster_data(chat)
    shown = await chat.share_contact(phone)
    assert shown[0].text == (
        "✅ Terima kasih, Budi Santoso (Dinas Kesehatan). Akun Anda sudah terhubung."
    )
    assert "Menu utama" in shown[-1].text
    assert shown[-1].labels == ["➕ Daftarkan pekerja", "👥 Pekerja saya", "❓ Bantuan",
                                "🔕 Matikan pengingat"]
    assert await chat.state() == ("Menu:main", {})
    async with chat.app.sessions() as session:
        link = (await session.scalars(select(ChannelIdentity))).one()
        asn = await session.get(Asn, link.asn_id)
    assert (link.channel, link.external_id, asn.nip) == ("console", "1001", BUDI.nip)


async def test_a_wrong_nip_and_a_wrong_phone_get_the_very_same_answer(seeded):
    """Whether a NIP is on the roster is not revealed by the answer."""
    answers = []
    for user, nip, phone in [
        ("11", NOT_ON_ROSTER, BUDI.phone_local),  # NIP not on the roster
        ("12", BUDI.nip, "081399990000"),  # NIP on the roster, another phone
        ("13", SRI.nip, BUDI.phone_local),  # a real NIP with another ASN's phone
    ]:
        client = ChatClient(seeded, user_id=user)
        await at_phone_step(client, nip)
        shown = await client.share_contact(phone, owner=user)
        answers.append([m.text for m in shown])
        assert await client.state() == ("Identify:nip", {})
        assert_no_roster_data(client)
    assert answers[0] == answers[1] == answers[2]
    assert "tidak cocok" in answers[0][0] and "Sisa percobaan: 4" in answers[0][0]


async def test_someone_elses_contact_is_refused_and_not_counted(chat):
    await at_phone_step(chat)
    shown = await chat.share_contact(BUDI.phone_local, owner="555")
    assert len(shown) == 1 and "bukan milik akun Anda" in shown[0].text
    assert shown[0].labels == ["📱 Bagikan nomor HP saya"]
    assert await chat.state() == ("Identify:phone", {"nip": BUDI.nip})
    assert await failures(chat) == 0
    assert_no_roster_data(chat)


@pytest.mark.parametrize("typed", [BUDI.phone_local, "+6281234567890", "nomor saya 0812"])
async def test_a_typed_phone_is_not_taken_the_button_is_asked_for(chat, typed):
    await at_phone_step(chat)
    shown = await chat.send(typed)
    assert len(shown) == 1 and "jangan mengetik nomor HP" in shown[0].text
    assert shown[0].labels == ["📱 Bagikan nomor HP saya"]
    assert await chat.state() == ("Identify:phone", {"nip": BUDI.nip})
    assert await failures(chat) == 0


async def test_a_contact_with_an_unreadable_number_is_a_failed_try(chat):
    await at_phone_step(chat)
    shown = await chat.share_contact("12")
    assert "tidak cocok" in shown[0].text
    assert await failures(chat) == 1


async def test_five_failures_lock_the_account_for_an_hour(chat, clock, seeded):
    remaining = []
    for _ in range(5):
        await at_phone_step(chat)
        shown = await chat.share_contact("081399990000")
        remaining.append(shown[0].text)
        clock.advance(minutes=1)
    assert "Sisa percobaan: 4" in remaining[0] and "Sisa percobaan: 1" in remaining[3]
    assert "Percobaan sudah habis" in remaining[4]

    await chat.send("/mulai")
    shown = await chat.send(BUDI.nip)  # even the right NIP is not taken now
    assert len(shown) == 1 and "Terlalu banyak percobaan" in shown[0].text
    assert "60 menit" in shown[0].text
    assert await chat.state() == ("Identify:nip", {})
    assert await failures(chat) == 5
    assert_no_roster_data(chat)

    other = ChatClient(seeded, user_id="2002")  # the cap is per chat account
    await at_phone_step(other, SRI.nip)

    clock.advance(minutes=56)  # 61 minutes after the first failure: it ages out
    shown = await chat.send(BUDI.nip)
    assert "Terlalu banyak percobaan" not in shown[0].text
    assert (await chat.state())[0] == "Identify:phone"
    shown = await chat.share_contact(BUDI.phone_local)
    assert "Budi Santoso (Dinas Kesehatan)" in shown[0].text
    assert (await chat.state())[0] == "Menu:main"


async def test_the_lock_holds_within_the_window(chat, clock):
    for _ in range(5):
        await at_phone_step(chat)
        await chat.share_contact("081399990000")
    clock.advance(minutes=59)
    await chat.send("/mulai")
    shown = await chat.send(BUDI.nip)
    assert "Terlalu banyak percobaan" in shown[0].text
    clock.advance(minutes=2)
    shown = await chat.send(BUDI.nip)
    assert await chat.state() == ("Identify:phone", {"nip": BUDI.nip})


async def test_the_lock_is_a_setting(make_app):
    app = await make_app(login_max_failures=2, login_window_minutes=10)
    chat = ChatClient(app, user_id="1001")
    for _ in range(2):
        await at_phone_step(chat)
        await chat.share_contact("081399990000")
    await chat.send("/mulai")
    shown = await chat.send(BUDI.nip)
    assert "Terlalu banyak percobaan" in shown[0].text and "10 menit" in shown[0].text


async def test_failures_are_audited_with_a_masked_phone_only(chat):
    await at_phone_step(chat)
    await chat.share_contact("081399990000")
    async with chat.app.sessions() as session:
        entry = (await session.scalars(select(AuditLog))).one()
    assert entry.action == "identity.failed" and entry.actor_asn_id is None
    assert entry.details == {"phone": "+62813••••0000"}


async def test_a_linked_account_goes_straight_to_the_menu(budi):
    again = ChatClient(budi.app, user_id="1001")
    shown = await again.send("/mulai")
    assert len(shown) == 1 and "Menu utama" in shown[0].text
    assert await again.state() == ("Menu:main", {})
