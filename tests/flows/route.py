"""How to walk a fresh, unidentified chat to any state of any flow, as a user would.

`ROUTE[state]` names the state it starts from and what the user does there; `reach` follows
the chain from the very first message. Every state of every flow is listed, so tests
parametrised over `STATES` cover the whole conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.chat import ChatClient
from tests.conftest import BUDI

# Kendal NIK of a woman born 17 August 1980 (day 57 = 17 + 40), and of a man born 12 May 1990.
NIK_SITI = "3324015708800001"
NIK_ANDI = "3324011205900002"

Action = Callable[[ChatClient], Awaitable[object]]


def send(text: str) -> Action:
    return lambda client: client.send(text)


def press(label: str) -> Action:
    return lambda client: client.press(label)


def contact(phone: str) -> Action:
    return lambda client: client.share_contact(phone)


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
    "Enrollment:phone": ("Enrollment:occupation", press("Pedagang kecil")),
    "Enrollment:kecamatan": ("Enrollment:phone", send("0857-1111-2222")),
    "Enrollment:kecamatan_other": ("Enrollment:kecamatan", press("Di luar")),
    "Enrollment:desa": ("Enrollment:kecamatan", press("Patebon")),
    "Enrollment:consent": ("Enrollment:desa", send("Kumpulrejo")),
    "Enrollment:summary": ("Enrollment:consent", press("✅ Pekerja setuju")),
    "Enrollment:edit": ("Enrollment:summary", press("✏️ Ubah")),
    "Deduction:confirm": ("Enrollment:summary", press("💾 Simpan")),
    "Workers:list": (
        "Deduction:confirm", steps(press("✅ Saya setuju"), press("👥 Pekerja saya"))
    ),
    "Workers:stop_reason": ("Workers:list", press("⛔ Hentikan")),
    "Workers:stop_confirm": ("Workers:stop_reason", press("Sudah punya BPJS sendiri")),
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
    await client.send("17-08-1980")
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
