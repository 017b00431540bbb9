"""How to walk a fresh, unidentified chat to any state of any flow, as a user would.

`ROUTE[state]` names the state it starts from and what the user does there; `reach` follows
the chain from the very first message. Every state of every flow is listed, so tests
parametrised over `STATES` cover the whole conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from flows.roles import ROLE_UNIT_KIND
from storage.models import Asn, ChannelIdentity, Unit
from storage.roles import SqlRoleRepository
from tests.conftest import BUDI
from tests.support.chat import ChatClient

# Kendal NIK of a woman born 17 August 1980 (day 57 = 17 + 40), and of a man born 12 May 1990.
NIK_SITI = "3324015708800001"
NIK_ANDI = "3324011205900002"
# Another woman born 17 August 1980: the birth date `enrol` types matches her NIK too.
NIK_DEWI = "3324015708800002"

Action = Callable[[ChatClient], Awaitable[object]]


def send(text: str) -> Action:
    return lambda client: client.send(text)


def press(label: str) -> Action:
    return lambda client: client.press(label)


def contact(phone: str) -> Action:
    return lambda client: client.share_contact(phone)


def grant(role: str, unit: str, nip: str = BUDI.nip) -> Action:
    """Give the role, as `asn-peduli role grant` would (tests/admin/test_cli_roles.py has it)."""

    async def run(client: ChatClient) -> None:
        await grant_role(client, role, unit, nip)

    return run


async def grant_role(client: ChatClient, role: str, unit: str | None, nip: str = BUDI.nip
                     ) -> None:
    async with client.app.sessions.begin() as session:
        roles = SqlRoleRepository(session)
        found = await roles.asn_by_nip(nip)
        assert found is not None, nip
        kind = ROLE_UNIT_KIND[role]
        unit_id = None
        if kind is not None and unit is not None:
            match = await roles.find_unit(unit, kind)
            assert match.unit is not None, unit
            unit_id = match.unit.id
        await roles.grant(found[0], role, unit_id, client.app.clock())


async def add_residents(client: ChatClient, count: int, kecamatan: str = "Patebon",
                        channel: str = "console", first_chat: int = 5001,
                        opd: str = BUDI.unit) -> list[int]:
    """`count` ASN living in the kecamatan, each linked on `channel` (chat ids from
    `first_chat`): the people a camat's broadcast reaches. Their ids."""
    now = client.app.clock()
    async with client.app.sessions.begin() as session:
        place = await session.scalar(select(Unit.id).where(Unit.name == kecamatan))
        office = await session.scalar(select(Unit.id).where(Unit.name == opd))
        people = [Asn(nip=f"19800101200501{number:04d}", name=f"Warga {number}", unit_id=office,
                      kecamatan_id=place, phone=f"+62811{number:07d}", updated_at=now)
                  for number in range(first_chat, first_chat + count)]
        session.add_all(people)
        await session.flush()
        for number, person in enumerate(people, start=first_chat):
            session.add(ChannelIdentity(channel=channel, external_id=str(number),
                                        chat_id=str(number), asn_id=person.id, linked_at=now))
        return [person.id for person in people]


def residents(count: int) -> Action:
    return lambda client: add_residents(client, count)


def colleague_enrols(number: int, nik: str, name: str) -> Action:
    """A colleague of Budi's OPD (linked on the console as chat `number`) enrols a worker
    and agrees to the deduction, through the chat."""

    async def run(client: ChatClient) -> None:
        await add_residents(client, 1, first_chat=number)
        colleague = ChatClient(client.app, user_id=str(number))
        await colleague.send("/mulai")
        await enrol(colleague, nik, name)

    return run


def steps(*actions: Action) -> Action:
    async def run(client: ChatClient) -> None:
        for action in actions:
            await action(client)

    return run


ROUTE: dict[str, tuple[str | None, Action]] = {
    "Identify:nip": (None, send("/mulai")),
    "Identify:phone": ("Identify:nip", send(BUDI.nip)),
    "Menu:main": ("Identify:phone", contact(BUDI.phone_local)),
    "Enrollment:relationship": ("Menu:main", press("➕ Daftarkan pekerja")),
    "Enrollment:nik": ("Enrollment:relationship", press("Asisten rumah tangga")),
    "Enrollment:name": ("Enrollment:nik", send(NIK_SITI)),
    "Enrollment:birth_date": ("Enrollment:name", send("Siti Aminah")),
    "Enrollment:occupation": ("Enrollment:birth_date", press("✅ Ya")),
    # A typed date that differs from the NIK's (17 August 1980) is asked about once.
    "Enrollment:birth_date_check": ("Enrollment:birth_date", send("05-08-1980")),
    "Enrollment:phone": ("Enrollment:occupation", press("Pedagang kecil")),
    "Enrollment:kecamatan": ("Enrollment:phone", send("0857-1111-2222")),
    "Enrollment:kecamatan_other": ("Enrollment:kecamatan", press("Di luar")),
    "Enrollment:kecamatan_confirm": ("Enrollment:kecamatan", send("Ptebon")),
    "Enrollment:desa": ("Enrollment:kecamatan", press("Patebon")),
    "Enrollment:consent": ("Enrollment:desa", send("Kumpulrejo")),
    "Enrollment:summary": ("Enrollment:consent", press("✅ Pekerja setuju")),
    "Enrollment:edit": ("Enrollment:summary", press("✏️ Ubah")),
    # /mulai mid-form: the menu, with the form set aside for "Lanjutkan pendaftaran".
    "Menu:paused": ("Enrollment:desa", send("/mulai")),
    "Deduction:confirm": ("Enrollment:summary", press("💾 Simpan")),
    "Workers:list": (
        "Deduction:confirm", steps(press("✅ Saya setuju"), press("👥 Pekerja saya"))
    ),
    "Workers:stop_reason": ("Workers:list", press("⛔ Hentikan")),
    "Workers:stop_confirm": ("Workers:stop_reason", press("Sudah punya BPJS sendiri")),
    # Budi coordinates his own OPD. Two enrolments wait: his own (Siti, not his to decide)
    # and colleague Warga 5001's (Dewi), which he opens.
    "Coordinator:menu": (
        "Workers:list", steps(grant("coordinator", BUDI.unit),
                              colleague_enrols(5001, NIK_DEWI, "Dewi Lestari"),
                              send("/koordinator"))
    ),
    "Coordinator:progress": ("Coordinator:menu", press("📊 Progres OPD")),
    "Coordinator:pending": ("Coordinator:menu", press("📝 Verifikasi")),
    "Coordinator:review": ("Coordinator:pending", press("🔎 2. DEWI LESTARI")),
    "Coordinator:confirm_approve": ("Coordinator:review", press("✅ Setujui")),
    "Coordinator:reject_reason": ("Coordinator:review", press("❌ Tolak")),
    "Coordinator:confirm_reject": ("Coordinator:reject_reason", press("Data tak sesuai KTP")),
    # Budi is also camat of Patebon, where two linked ASN live.
    "Broadcast:audience": (
        "Menu:main", steps(grant("camat", "Patebon"), residents(2), send("/siaran"))
    ),
    "Broadcast:content": ("Broadcast:audience", press("Semua ASN")),
    "Broadcast:kecamatan": ("Broadcast:audience", press("📊 Progres kecamatan")),
    "Broadcast:preview": ("Broadcast:content", press("📄 Ajakan umum")),
    "Broadcast:progress": (
        "Broadcast:preview", steps(press("✅ Kirim sekarang"), press("🔄 Perbarui"))
    ),
}
STATES = list(ROUTE)


async def reach(client: ChatClient, state: str) -> None:
    """Drive `client` (never used before) to `state`."""
    chain: list[Action] = []
    at: str | None = state
    while at is not None:
        at, action = ROUTE[at][0], ROUTE[at][1]
        chain.append(action)
    for action in reversed(chain):
        await action(client)
    reached = (await client.state())[0]
    assert reached == state, f"wanted {state}, at {reached}: {client.last.text}"


async def enrol(client: ChatClient, nik: str = NIK_SITI, name: str = "Siti Aminah",
                agree: bool | None = True) -> None:
    """From the main menu, enrol a worker; agree to the deduction (True), leave it for
    later (False), or stop at the agreement (None)."""
    await client.press("➕ Daftarkan pekerja")
    await client.press("Asisten rumah tangga")
    await client.send(nik)
    await client.send(name)
    await client.press("✅ Ya")  # the birth date the NIK gives
    await client.press("Pedagang kecil")
    await client.press("Lewati")
    await client.press("Patebon")
    await client.send("Kumpulrejo")
    await client.press("✅ Pekerja setuju")
    await client.press("💾 Simpan")
    assert (await client.state())[0] == "Deduction:confirm", client.last.text
    if agree is not None:
        await client.press("✅ Saya setuju" if agree else "Nanti saja")
        assert await client.state() == ("Menu:main", {}), client.last.text


async def stop_first(client: ChatClient, reason: str = "Keberatan biaya") -> None:
    """From the main menu, stop the first worker of "Pekerja saya" for `reason`."""
    await client.press("👥 Pekerja saya")
    await client.press("⛔ Hentikan")
    await client.press(reason)
    await client.press("⛔ Ya, hentikan")
