"""What works in every state: /mulai, /bantuan, /batal, and any input the state cannot take.

Each test walks a fresh chat to a state (tests/support/route.py), does one thing, and checks
what the user saw and what the conversation store holds afterwards.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from flows.events import Kind
from storage.models import Enrollment, Worker
from tests.support.chat import ChatClient
from tests.support.route import STATES

# States that are a resting place, not a half-done task: /mulai and /batal just go home.
RESTING = {"Identify:nip", "Menu:main", "Menu:paused", "Workers:list", "Coordinator:menu",
           "Coordinator:progress", "Coordinator:pending", "Broadcast:kecamatan",
           "Broadcast:progress"}
IDENTIFY = {"Identify:nip", "Identify:phone"}

# Free-text states and what they say to text that is not an answer.
BAD_TEXT = {
    "Identify:nip": "NIP belum sesuai",
    "Enrollment:nik": "NIK belum sesuai",
    "Enrollment:name": "Nama hanya boleh",
    "Enrollment:birth_date": "Tanggal belum terbaca",
    "Enrollment:birth_date_check": "Tanggal belum terbaca",
    "Enrollment:phone": "Nomor HP belum sesuai",
    "Enrollment:kecamatan_other": "Nama tempat belum sesuai",
    "Enrollment:desa": "Nama tempat belum sesuai",
    "Workers:stop_reason": "ketik alasan penghentian",
    "Coordinator:reject_reason": "ketik alasan penolakan",
    "Broadcast:content": "Pesan siaran belum bisa dipakai",
}
USE_CONTACT = "jangan mengetik nomor HP"
CHOOSE = "pilih salah satu tombol"


def expected(state: str, what: str) -> str:
    """A phrase of the explanation `state` gives to the input `what`."""
    if what in {"sticker", "photo", "voice"}:
        return "hanya bisa membaca teks dan tombol"
    if what == "command":
        return "Perintah itu tidak saya kenal"
    if what == "contact":
        return "kontak tidak diperlukan"
    if what == "button":
        return "Tombol itu sudah tidak berlaku"
    if state == "Identify:phone":
        return USE_CONTACT
    if state in {"Enrollment:kecamatan", "Enrollment:kecamatan_confirm"}:
        return "tidak ada di daftar Kabupaten Kendal"
    if state not in BAD_TEXT:
        return CHOOSE
    if what == "long":
        return "Pesan terlalu panjang"
    if what in {"empty", "blank"}:
        return "Pesannya kosong"
    return BAD_TEXT[state]


async def send_odd(client: ChatClient, what: str):
    if what in {"sticker", "photo", "voice"}:
        return await client.send_unsupported(what)
    if what == "contact":
        return await client.share_contact("081299998888")
    if what == "button":
        return await client.press_payload("zz:old:1", "Tombol lama")
    text = {
        "long": "Halo " * 1000,
        "emoji": "😀🙏👍",
        "html": "<b>bold</b>",
        "empty": "",
        "blank": "   \n ",
        "command": "/hapussemua",
    }[what]
    return await client.send(text)


ODD_INPUTS = ["sticker", "photo", "voice", "long", "emoji", "html", "empty", "blank",
              "command", "contact", "button"]


@pytest.mark.parametrize("state", STATES)
async def test_any_unexpected_input_is_explained_and_changes_nothing(at, state):
    chat = await at(state)
    prompt = chat.last
    stored = await chat.state()
    for what in ODD_INPUTS:
        if what == "contact" and state == "Identify:phone":
            continue  # a contact is this state's answer; see test_identify.py
        shown = await send_odd(chat, what)
        assert len(shown) == 1, (what, [m.text for m in shown])
        reply = shown[0]
        assert expected(state, what) in reply.text, (what, reply.text)
        assert len(reply.text) < 250, (what, reply.text)
        assert reply.buttons == prompt.buttons, (what, "the step's buttons come again")
        assert await chat.state() == stored, what


def help_text(client: ChatClient, state: str) -> str:
    flow = client.app.router.flow_for(state)
    assert flow is not None
    return client.app.renderer.text(flow.help_template(state), {})


@pytest.mark.parametrize("state", STATES)
async def test_bantuan_explains_the_step_and_keeps_it(at, state):
    chat = await at(state)
    prompt = chat.last
    stored = await chat.state()
    shown = await chat.send("/bantuan")
    assert [m.text for m in shown] == [help_text(chat, state), prompt.text]
    assert shown[-1].buttons == prompt.buttons
    assert await chat.state() == stored


# What /mulai says on its way home from a task that cannot be set aside (as /batal there).
LEFT = {"Identify:phone": "Dibatalkan", "Deduction:confirm": "tersimpan sebagai draf"}


@pytest.mark.parametrize("state", STATES)
async def test_mulai_goes_home_and_sets_a_form_aside(at, state):
    """As Bantuan says: /mulai returns to the main menu everywhere; a half-done enrolment
    is kept aside for the menu to resume (tests/flows/test_menu_and_resume.py)."""
    chat = await at(state)
    stored = await chat.state()
    shown = await chat.send("/mulai")
    home = "Identify:nip" if state in IDENTIFY else "Menu:main"
    now, data = await chat.state()
    assert ("NIP" if home == "Identify:nip" else "Menu utama") in shown[-1].text
    if state.startswith("Enrollment:") and state != "Enrollment:relationship":
        assert "disimpan sementara" in shown[0].text
        assert now == "Menu:paused"
        assert data == {"paused": {"asn_id": data["paused"]["asn_id"], "state": state,
                                   "data": stored[1]}}
    elif state == "Menu:paused":  # at home already, the form still aside
        assert (now, data) == (state, stored[1]) and len(shown) == 1
    else:
        assert (now, data) == (home, {})
        if state in RESTING or state == "Enrollment:relationship":
            assert len(shown) == 1
        elif state in LEFT:
            assert LEFT[state] in shown[0].text


async def count(client: ChatClient, model) -> int:
    async with client.app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("state", STATES)
async def test_batal_clears_the_task_and_goes_home(at, state):
    chat = await at(state)
    enrollments = await count(chat, Enrollment)
    stored = await chat.state()
    shown = await chat.send("/batal")
    if "Batalkan isian ini?" in shown[0].text:  # more than one answer would go: asked first
        assert state == "Menu:paused" or (state.startswith("Enrollment:") and state not in {
            "Enrollment:relationship", "Enrollment:nik"})
        state_now, data = await chat.state()
        asked = {**stored[1], "cancel_asked": True}
        assert len(shown) == 1 and (state_now, data) == (state, asked)
        shown = await chat.press("🗑️ Ya, batalkan")
    home = "Identify:nip" if state in IDENTIFY else "Menu:main"
    assert await chat.state() == (home, {})
    text = "\n".join(m.text for m in shown)
    if state == "Menu:paused":
        assert "Dibatalkan" in text  # the form set aside is gone
    elif state in RESTING:
        assert "Tidak ada isian" in text
    elif state == "Deduction:confirm":
        assert "tersimpan sebagai draf" in text  # the saved draft is kept, and said so
    else:
        assert "Dibatalkan" in text
    assert ("Ketik NIP" in text or "ketik NIP" in text) if home == "Identify:nip" else (
        "Menu utama" in shown[-1].text
    )
    assert await count(chat, Enrollment) == enrollments, "/batal never deletes a saved row"
    if state.startswith("Enrollment:"):
        assert await count(chat, Worker) == 0


async def test_group_chats_get_only_a_pointer_to_the_private_chat(chat):
    from dataclasses import replace

    from bot.console import make
    from flows.events import ChatType

    group = replace(make("1001", Kind.COMMAND, text="/mulai"), chat_id="-100",
                    chat_type=ChatType.GROUP)
    await chat.app.dispatcher.handle(group)
    await chat.app.sender.drain()
    shown = [m for m in chat.console.shown if m.chat_id == "-100"]
    assert [m.text for m in shown] == [
        chat.app.renderer.text("common/private_only", {})
    ]
    assert await chat.state() == (None, {})


@pytest.mark.parametrize(
    ("command", "kind"),
    [("/start", "mulai"), ("/menu", "mulai"), ("/MULAI", "mulai"),
     ("/mulai@AsnPeduliBot", "mulai"), ("/help", "bantuan"), ("/bantuan sekarang", "bantuan"),
     ("/cancel", "batal"),
     ("/batal@AsnPeduliBot", "batal"), ("/", "unknown"), ("/mulai2", "unknown")],
)
async def test_command_spellings(at, command, kind):
    chat = await at("Enrollment:name")
    stored = await chat.state()
    shown = await chat.send(command)
    first = shown[0].text
    if kind == "mulai":
        assert "disimpan sementara" in first and (await chat.state())[0] == "Menu:paused"
    elif kind == "bantuan":
        assert first == help_text(chat, "Enrollment:name") and await chat.state() == stored
    elif kind == "batal":  # two answers would go: asked first
        assert "Batalkan isian ini?" in first and (await chat.state())[0] == stored[0]
    else:
        assert "Perintah itu tidak saya kenal" in first and await chat.state() == stored


async def test_a_field_opened_from_ubah_still_returns_to_the_summary_after_help(at):
    chat = await at("Enrollment:edit")
    await chat.press("Pekerjaan")
    await chat.send("/bantuan")
    await chat.send("/mulai")
    await chat.press("↩️ Lanjutkan pendaftaran")
    await chat.press("Nelayan")
    assert "Pekerjaan: Nelayan" in chat.last.text
    assert (await chat.state())[0] == "Enrollment:summary"
