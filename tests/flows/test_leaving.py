"""Issue 16 point 4: /batal asks before it throws answers away, and whatever follows its
question is understood: yes cancels, "carry on" or an answer to the step carries on."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Consent, Enrollment, Worker
from tests.support.chat import ChatClient


async def count(client: ChatClient, model) -> int:
    async with client.app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_batal_at_step_9_asks_before_eight_answers_go(at):
    chat = await at("Enrollment:summary")
    state, data = await chat.state()
    shown = await chat.send("/batal")
    assert len(shown) == 1
    assert "Batalkan isian ini? 8 jawaban yang sudah Anda isi akan dihapus" in shown[0].text
    assert shown[0].labels == ["🗑️ Ya, batalkan", "✏️ Lanjutkan mengisi"]
    now, kept = await chat.state()
    assert now == state and data.items() <= kept.items()


async def test_carrying_on_shows_the_step_again_and_keeps_every_answer(at):
    chat = await at("Enrollment:summary")
    summary, stored = chat.last.text, await chat.state()
    await chat.send("/batal")
    shown = await chat.press("✏️ Lanjutkan mengisi")
    assert [m.text for m in shown] == [summary]
    assert await chat.state() == stored


async def test_a_second_batal_confirms(at):
    chat = await at("Enrollment:desa")
    await chat.send("/batal")
    shown = await chat.send("/batal")
    assert "Dibatalkan" in shown[0].text and "Menu utama" in shown[-1].text
    assert await chat.state() == ("Menu:main", {})


async def test_an_answer_to_the_step_after_the_question_carries_on(at):
    chat = await at("Enrollment:desa")
    await chat.send("/batal")
    shown = await chat.send("Kumpulrejo")
    assert "Persetujuan pekerja" in shown[-1].text
    state, data = await chat.state()
    assert (state, data["desa"]) == ("Enrollment:consent", "Kumpulrejo")
    assert "cancel_asked" not in data


async def test_ya_after_the_question_cancels_and_gives_no_consent(at):
    """At the consent step "ya" would also mean "the worker agrees": after /batal's question
    it answers the question."""
    chat = await at("Enrollment:consent")
    await chat.send("/batal")
    shown = await chat.send("ya")
    assert "Dibatalkan" in shown[0].text
    assert await chat.state() == ("Menu:main", {})
    for model in (Worker, Enrollment, Consent):
        assert await count(chat, model) == 0


async def test_the_question_holds_for_the_next_message_only(at):
    chat = await at("Enrollment:summary")
    await chat.send("/batal")
    await chat.send("/bantuan")
    stored = await chat.state()
    shown = await chat.press_payload("cancel:yes", "🗑️ Ya, batalkan")  # the old question
    assert "Tombol itu sudah tidak berlaku" in shown[0].text
    assert await chat.state() == stored


async def test_one_answer_is_cancelled_without_asking(at):
    chat = await at("Enrollment:nik")  # only the relationship, one tap, is answered
    shown = await chat.send("/batal")
    assert "Dibatalkan" in shown[0].text
    assert await chat.state() == ("Menu:main", {})
