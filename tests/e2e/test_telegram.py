"""End to end over Telegram: the real python-telegram-bot client, polling a fake Bot API on
127.0.0.1, through the dispatcher, flows, SQLite and the outbox sender; the user and the
steps they walk are tests/support/telegram_user.py's.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Bot, Message, Update

from bot.app import App, create_app
from bot.settings import Settings
from bot.telegram.api import TelegramNotConfigured
from bot.telegram.channel import TelegramBot, set_telegram_webhook
from bot.telegram.keyboards import keyboard
from bot.telegram.transport import TelegramTransport
from bot.telegram.webhook import process_webhook_update, webhook_secret_ok
from bot.transport import PermanentSendError, RecipientUnreachable, TransientSendError
from flows.events import Attachment, ChatType, Kind, Markup, OutgoingButton, OutgoingMessage
from storage.chats import SqlChats
from storage.models import (
    ChannelIdentity,
    Consent,
    DeductionAgreement,
    Enrollment,
    OutboxMessage,
    ProcessedUpdate,
    Worker,
)
from storage.outbox import SqlOutbox
from tests.conftest import BUDI, make_settings, migrated_app
from tests.support.chat import texts
from tests.support.fake_telegram import FakeTelegram, group
from tests.support.loopback import wait_until
from tests.support.processes import (
    PENDING,
    cli_env,
    none_left,
    start_cli,
)
from tests.support.telegram_user import (
    NIK,
    USER,
    TelegramUser,
    enrol_from_name,
    enrol_until_nik,
    identify,
    make_bot,
)

# -- fixtures (the fake Bot API `fake`, `tg_settings`, `tg_app` and `bot` come from
# tests/e2e/conftest.py) ---------------------------------------------------------------


def test_the_network_guard_refuses_anything_but_loopback() -> None:
    with pytest.raises(AssertionError, match="outside loopback"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


async def assert_enrolled(app: App) -> None:
    async with app.sessions() as session:
        enrollment = (await session.scalars(select(Enrollment))).one()
        worker = (await session.scalars(select(Worker))).one()
        agreement = (await session.scalars(select(DeductionAgreement))).one()
        consent = (await session.scalars(select(Consent))).one()
        identity = (await session.scalars(select(ChannelIdentity))).one()
    assert enrollment.status == "submitted" and enrollment.channel == "telegram"
    assert agreement.enrollment_id == enrollment.id and agreement.channel == "telegram"
    assert agreement.monthly_total == 16_800
    assert consent.channel == "telegram"
    assert (identity.channel, identity.external_id, identity.chat_id) == (
        "telegram", str(USER), str(USER))
    assert worker.name == "SITI AMINAH"
    for column in (worker.nik_enc, worker.nik_hash, worker.nik_masked, worker.birth_date_enc,
                   worker.phone_enc or ""):
        assert NIK not in column


@pytest.fixture
async def naming(fake: FakeTelegram, tg_app: App, bot: TelegramBot) -> TelegramUser:
    """Budi, identified, enrolling a worker: the NIK given, the worker's name asked next."""
    user = TelegramUser(fake, tg_app)
    await identify(user)
    await enrol_until_nik(user)
    return user


# -- the whole enrolment -------------------------------------------------------------------


async def test_enrol_a_worker_over_telegram_from_start_to_agreed_deduction(
    fake: FakeTelegram, tg_app: App, naming: TelegramUser
) -> None:
    user = naming
    shown = await enrol_from_name(user)
    assert "sudah dikirim" in texts(shown)
    await assert_enrolled(tg_app)
    assert await user.state() == ("Menu:main", {})

    sent = fake.messages(USER)
    assert all(message.parse_mode == "HTML" for message in sent)
    assert any("<b>" in message.text for message in sent)
    assert fake.rejected == []  # Telegram would have accepted every call (HTML, sizes ...)
    # Every pressed button was answered, and its keyboard taken away.
    answered = await fake.wait_for_call("answerCallbackQuery", 8)
    edits = await fake.wait_for_call("editMessageReplyMarkup", 8)
    assert len(answered) == len(edits) == 8  # one per press
    for edit in edits:
        assert "reply_markup" not in edit.params
        assert fake.current_markup(USER, int(edit.params["message_id"])) is None
    # The bot only polled the updates it handles.
    assert fake.calls_of("getUpdates")[-1].params["allowed_updates"] == [
        "message", "callback_query"]


# -- unexpected input ----------------------------------------------------------------------


async def test_a_sticker_gets_an_explanation_and_changes_nothing(
    fake: FakeTelegram, tg_app: App, naming: TelegramUser
) -> None:
    user = naming
    before = await user.state()
    assert before[0] == "Enrollment:name"
    [explanation] = await user.sticker()
    assert "stiker" in explanation.text
    assert await user.state() == before
    await user.settle(fake.push_photo(USER))
    assert await user.state() == before


async def test_someone_elses_contact_is_refused(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    user = TelegramUser(fake, tg_app)
    await user.send("/start")
    await user.send(BUDI.nip)
    [refusal] = await user.share_contact("6281234567890", owner=4242)
    assert "sendiri" in refusal.text.lower()
    assert (await user.state())[0] == "Identify:phone"
    # A card from the address book of someone not on Telegram (no user_id) is refused too.
    await user.settle(fake.push_contact(USER, "6281234567890", owner_id=None))
    assert (await user.state())[0] == "Identify:phone"
    async with tg_app.sessions() as session:
        assert (await session.scalars(select(ChannelIdentity))).all() == []
    shown = await user.share_contact("+6281234567890")
    assert "Menu utama" in shown[-1].text


async def test_a_stale_button_is_explained_and_the_step_stays(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    user = TelegramUser(fake, tg_app)
    await identify(user)
    menu = user.last_with_buttons
    await enrol_until_nik(user)
    before = await user.state()
    # The menu's keyboard is gone from the user's screen ...
    assert fake.current_markup(USER, menu.message_id) is None
    # ... but a second tap that was already on its way (or an old client) still arrives.
    edits = len(fake.calls_of("editMessageReplyMarkup"))
    answers = len(fake.calls_of("answerCallbackQuery"))
    [explanation] = await user.settle(fake.press(menu, "➕ Daftarkan pekerja"))
    assert explanation.text
    assert await user.state() == before
    # The press is answered (the spinner stops); the keyboard is already gone, no edit.
    await fake.wait_for_call("answerCallbackQuery", answers + 1)
    assert len(fake.calls_of("editMessageReplyMarkup")) == edits
    assert fake.rejected == []


async def test_a_5000_character_text_is_refused_kindly(
    fake: FakeTelegram, tg_app: App, naming: TelegramUser
) -> None:
    user = naming
    before = await user.state()
    [explanation] = await user.send("A" * 5000)
    assert len(explanation.text) < 4096 and "A" * 100 not in explanation.text
    assert await user.state() == before


async def test_a_redelivered_update_is_processed_once(
    fake: FakeTelegram, tg_app: App, naming: TelegramUser
) -> None:
    user = naming
    name_update = fake.push_text(USER, "Siti Aminah")
    [ask_birth_date] = await user.settle(name_update)
    assert "lahir" in ask_birth_date.text
    state = await user.state()
    fake.redeliver(name_update)  # Telegram sends the same update_id again
    # Updates of one chat are handled in order, so once this one is settled, so is the copy.
    shown = await user.sticker()
    assert len(shown) == 1 and await user.state() == state
    async with tg_app.sessions() as session:
        rows = (await session.scalars(select(ProcessedUpdate).where(
            ProcessedUpdate.update_id == str(name_update)))).all()
    assert len(rows) == 1
    assert sum(1 for call in fake.calls_of("getUpdates") if call.params) > 1


async def test_quick_answers_of_one_user_keep_their_order(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    """PTB runs updates concurrently; one chat's updates must still apply in order, and
    another user's conversation moves on beside it."""
    user = TelegramUser(fake, tg_app)
    await identify(user)
    await user.press("➕ Daftarkan pekerja")
    relationship = user.last_with_buttons
    other = TelegramUser(fake, tg_app, user_id=2002)
    burst = [
        fake.press(relationship, "Asisten rumah tangga"),
        fake.push_text(2002, "/start"),
        fake.push_text(USER, NIK),
        fake.push_text(2002, "199001012015032002"),
        fake.push_text(USER, "Siti Aminah"),
    ]
    await user.settle(burst[-1])
    await other.settle(burst[-2])
    assert (await user.state())[0] == "Enrollment:birth_date"
    assert (await other.state())[0] == "Identify:phone"
    assert "lahir" in fake.messages(USER)[-1].text


async def test_updates_of_no_concern_are_ignored(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    """An edited answer, a channel post, a group's chatter: nothing is processed."""
    user = TelegramUser(fake, tg_app)
    await user.send("/start")
    ignored = [
        fake.push({"edited_message": {
            "message_id": 1, "date": 0, "edit_date": 1, "text": BUDI.nip,
            "chat": {"id": USER, "type": "private"}, "from": fake.user(USER)}}),
        fake.push({"channel_post": {
            "message_id": 2, "date": 0, "text": "halo", "chat": {"id": -100777, "type":
                                                                  "channel"}}}),
        fake.push_message(USER, chat=group(-100555), sticker={
            "file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1,
            "height": 1, "is_animated": False, "is_video": False}),
        fake.push_text(USER, "/start@another_bot", chat=group(-100555)),
    ]
    await fake.wait_until_confirmed(ignored[-1])
    shown = await user.send(BUDI.nip)  # handled after the ignored ones: they are done
    assert len(shown) == 1
    async with tg_app.sessions() as session:
        processed = set(await session.scalars(select(ProcessedUpdate.update_id)))
    assert not processed & {str(update_id) for update_id in ignored}
    assert fake.messages(-100555) == []


async def test_a_command_in_a_group_is_answered_in_the_group(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    update_id = fake.push_text(USER, "/start@asn_peduli_test_bot", chat=group(-100555))
    await TelegramUser(fake, tg_app).settle(update_id)
    [reply] = fake.messages(-100555)
    assert reply.text and fake.messages(USER) == []


# -- restarts ------------------------------------------------------------------------------


async def test_a_restarted_bot_resumes_the_conversation(
    fake: FakeTelegram, tg_settings: Settings, tg_app: App
) -> None:
    first = make_bot(tg_app)
    await first.start()
    try:
        user = TelegramUser(fake, tg_app)
        await identify(user)
        await enrol_until_nik(user)
        state = await user.state()
    finally:
        await first.stop()
        await tg_app.close()
    assert state[0] == "Enrollment:name"

    second_app = create_app(tg_settings)  # a new process would build everything anew
    second = make_bot(second_app)
    await second.start()
    try:
        assert second.bot is not first.bot
        user = TelegramUser(fake, second_app)
        assert await user.state() == state
        shown = await enrol_from_name(user)
        assert "sudah dikirim" in texts(shown)
        await assert_enrolled(second_app)
    finally:
        await second.stop()
        await second_app.close()


async def _start_child(settings: Settings, fake: FakeTelegram, workdir: Path,
                       log: Path) -> asyncio.subprocess.Process:
    """`asn-peduli run` in its own process, ready once it polls the fake server."""
    polls = len(fake.calls_of("getUpdates"))
    env = cli_env(settings, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
                  TELEGRAM_RATE_PRIVATE_CHAT=str(settings.telegram_rate_private_chat))
    return await start_cli("run", env, workdir, log,
                           lambda _: fake.wait_for_call("getUpdates", polls + 1, within=30))


async def test_the_cli_bot_killed_mid_conversation_resumes_after_a_restart(
    fake: FakeTelegram, tg_settings: Settings, tg_app: App, tmp_path: Path,
    children: list[asyncio.subprocess.Process],
) -> None:
    """`asn-peduli run` is SIGKILLed after the NIK and started again: the conversation goes
    on at the same step, nothing is lost or done twice, and SIGTERM stops it cleanly."""
    log = tmp_path / "bot.log"
    first = await _start_child(tg_settings, fake, tmp_path, log)
    children.append(first)
    user = TelegramUser(fake, tg_app)
    await identify(user)
    await enrol_until_nik(user)
    state = await user.state()

    first.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL

    second = await _start_child(tg_settings, fake, tmp_path, log)
    children.append(second)
    assert await user.state() == state
    shown = await enrol_from_name(user)
    assert "sudah dikirim" in texts(shown)
    await assert_enrolled(tg_app)
    assert fake.rejected == []

    second.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 15) == 0
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "polling" in output
    for secret in (fake.token, NIK, "6281234567890", "Siti", "Kumpulrejo", "85711112222"):
        assert secret not in output, f"{secret!r} leaked into the log"


# -- delivery errors -----------------------------------------------------------------------


async def test_a_429_is_retried_after_the_time_telegram_asks_for(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    user = TelegramUser(fake, tg_app)
    await user.send("/start")
    fake.fail_once("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    [ask_phone] = await user.send(BUDI.nip)
    assert ask_phone.reply_buttons
    refused, accepted = fake.calls_of("sendMessage")[-2:]
    assert fake.rejected[-1] == (refused, "Too Many Requests: retry after 1")
    assert accepted.at - refused.at >= 0.95
    assert time.monotonic() - started < 5
    async with tg_app.sessions() as session:
        row = (await session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))).one()
    assert (row.status, row.attempts) == ("sent", 2)  # refused once, then sent
    assert row.platform_message_id == str(ask_phone.message_id)
    assert row.last_error and "retry in 1 s" in row.last_error


async def test_a_429_does_not_reorder_the_messages_of_a_chat(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    user = TelegramUser(fake, tg_app)
    fake.fail_once("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    welcome, ask_nip = await user.send("/start")
    assert "Selamat datang" in welcome.text and "NIP" in ask_nip.text


async def test_a_user_who_blocked_the_bot_is_marked_unreachable_until_they_write_again(
    fake: FakeTelegram, tg_app: App, bot: TelegramBot
) -> None:
    user = TelegramUser(fake, tg_app)
    await user.send("/start")
    fake.block(USER)
    assert await user.send(BUDI.nip) == []
    async with tg_app.sessions() as session:
        row = (await session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))).one()
        assert await SqlChats(session).is_unreachable("telegram", str(USER))
    assert row.status == "unreachable" and row.sent_at is None
    assert row.last_error == "forbidden: Forbidden: bot was blocked by the user"
    refused = len(fake.rejected)
    # News for the blocked user is not even tried.
    async with tg_app.sessions.begin() as session:
        await SqlOutbox(session, tg_app.cipher).add("telegram", str(USER), {"text": "Kabar"},
                                              tg_app.clock(), kind="news")
    tg_app.sender.wake()
    await wait_until(lambda: none_left(tg_app, OutboxMessage, PENDING),
                     what="outbox rows still pending")
    assert len(fake.rejected) == refused
    # Unblocking and writing again lifts the mark: the answer arrives.
    fake.blocked.discard(str(USER))
    assert await user.send("/bantuan")
    async with tg_app.sessions() as session:
        assert not await SqlChats(session).is_unreachable("telegram", str(USER))


async def test_the_command_menu_comes_from_labels(fake: FakeTelegram, tg_app: App) -> None:
    """The "/" menu Telegram shows is published at start, in the words of the labels."""
    runner = make_bot(tg_app)
    await runner.start()
    await runner.stop()
    assert fake.commands == [
        {"command": "mulai", "description": "Mulai, atau kembali ke menu utama"},
        {"command": "kembali", "description": "Kembali ke langkah sebelumnya"},
        {"command": "bantuan", "description": "Bantuan untuk langkah ini"},
        {"command": "batal", "description": "Batalkan isian yang sedang berjalan"},
    ]


async def test_send_maps_telegram_errors_once(fake: FakeTelegram) -> None:
    """The transport alone against the fake: which failures are worth a retry."""
    bot = fake.bot()
    transport = TelegramTransport(bot)
    body = OutgoingMessage("<b>Halo</b>", markup=Markup.HTML)
    async with bot:
        with pytest.raises(RecipientUnreachable, match=r"(?i)chat not found"):
            await transport.send("777", body)
        fake.push_text(USER, "halo")
        assert await transport.send(str(USER), body) == str(fake.messages(USER)[-1].message_id)
        for status, description, retry_after in (
            (429, "Too Many Requests: retry after 7", 7),
            (500, "Internal Server Error", None),
            (502, "Bad Gateway", None),
        ):
            fake.fail_once("sendMessage", status, description, retry_after)
            with pytest.raises(TransientSendError) as raised:
                await transport.send(str(USER), body)
            assert raised.value.retry_after == retry_after
        fake.fail_once("sendMessage", 403, "Forbidden: bot was blocked by the user")
        with pytest.raises(RecipientUnreachable, match="blocked"):
            await transport.send(str(USER), body)
        fake.deactivate(1002)
        fake.chats([1002])
        with pytest.raises(RecipientUnreachable, match="deactivated"):
            await transport.send("1002", body)
        with pytest.raises(PermanentSendError, match=r"(?i)can't parse entities") as raised:
            await transport.send(str(USER), replace(body, text="1 < 2"))
        assert not isinstance(raised.value, RecipientUnreachable)  # the text, not the chat


CHART = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def test_a_chart_goes_as_a_photo_with_the_text_as_its_caption(
    fake: FakeTelegram,
) -> None:
    bot = fake.bot()
    transport = TelegramTransport(bot)
    fake.chats([-1001234])
    attachment = Attachment(filename="progres.png", content_type="image/png", data=CHART)
    body = OutgoingMessage("<b>Progres Oktober</b> &amp; peringkat", markup=Markup.HTML,
                           image=7, attachment=attachment, kind="report", last_inbound_at=None)
    async with bot:
        message_id = await transport.send("-1001234", body)
    [photo] = fake.messages(-1001234)
    assert message_id == str(photo.message_id)
    assert (photo.photo, photo.filename) == (CHART, "progres.png")
    assert photo.text == "<b>Progres Oktober</b> &amp; peringkat"
    assert photo.parse_mode == "HTML"


async def test_a_caption_too_long_follows_the_photo_as_a_message(fake: FakeTelegram) -> None:
    bot = fake.bot()
    transport = TelegramTransport(bot)
    fake.chats([-1001234])
    text = "<b>Peringkat</b>\n" + "\n".join(f"{n}. Dinas &amp; Badan {n}" for n in range(80))
    choice = OutgoingButton("Lihat", "see")
    body = OutgoingMessage(text, buttons=((choice,),), markup=Markup.HTML,
                           attachment=Attachment(filename="progres.png",
                                                 content_type="image/png", data=CHART))
    async with bot:
        message_id = await transport.send("-1001234", body)
    photo, message = fake.messages(-1001234)
    assert message_id == f"{photo.message_id},{message.message_id}"
    assert photo.photo == CHART and photo.text == "" and photo.reply_markup is None
    assert message.photo is None and message.text == text
    assert message.labels == ["Lihat"]  # the buttons go under the text
    assert fake.rejected == []


async def test_the_fake_answers_the_rest_of_what_ptb_calls(fake: FakeTelegram) -> None:
    """Webhook info and message edits, parsed by PTB itself: the fake's answers are valid."""
    bot = fake.bot()
    async with bot:
        assert bot.username == fake.username
        assert await bot.set_webhook("https://bot.example.go.id/hook", secret_token="s")
        assert (await bot.get_webhook_info()).url == "https://bot.example.go.id/hook"
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        fake.push_text(USER, "halo")
        sent = await bot.send_message(USER, "<b>Satu</b> &amp; dua", parse_mode="HTML")
        assert sent.text == "Satu & dua"
        edited = await bot.edit_message_text("Tiga", chat_id=USER, message_id=sent.message_id)
        assert isinstance(edited, Message) and edited.text == "Tiga"
        assert [call.method for call in fake.calls][-2:] == ["sendMessage", "editMessageText"]


def test_keyboards_follow_the_body() -> None:
    contact = OutgoingButton("📱", "contact", contact=True)
    choice = OutgoingButton("Ya", "yes")
    inline = keyboard(OutgoingMessage("", buttons=((choice,),), inline=True))
    assert inline is not None and inline.to_dict() == {
        "inline_keyboard": [[{"text": "Ya", "callback_data": "yes"}]]}
    reply = keyboard(OutgoingMessage("", buttons=((contact,),), inline=False,
                                     remove_keyboard=True))
    assert reply is not None and reply.to_dict()["keyboard"] == [
        [{"text": "📱", "request_contact": True}]]
    removed = keyboard(OutgoingMessage("", inline=True, remove_keyboard=True))
    assert removed is not None and removed.to_dict() == {"remove_keyboard": True}
    assert keyboard(OutgoingMessage("", inline=True, remove_keyboard=False)) is None


# -- translation ---------------------------------------------------------------------------


def _update(data: dict[str, Any]) -> Update:
    return Update.de_json({"update_id": 9, **data}, None)


def test_updates_become_incoming_events() -> None:
    transport = TelegramTransport(Bot("123456:TEST"))
    transport.username = "asn_peduli_test_bot"
    person = {"id": 5, "is_bot": False, "first_name": "A"}
    private = {"id": 5, "type": "private"}

    def message(**content: Any) -> Update:
        return _update({"message": {"message_id": 3, "date": 0, "chat": private,
                                    "from": person, **content}})

    text = transport.to_incoming(message(text="Siti"))
    assert text is not None and (text.kind, text.text, text.chat_id, text.user_id,
                                 text.update_id, text.message_id) == (
        Kind.TEXT, "Siti", "5", "5", "9", "3")
    command = transport.to_incoming(message(text="/start@asn_peduli_test_bot x"))
    assert command is not None and command.kind is Kind.COMMAND and command.command == "start"
    assert transport.to_incoming(message(text="/start@other_bot")) is None
    contact = transport.to_incoming(message(contact={"phone_number": "628", "first_name": "B",
                                                     "user_id": 5}))
    assert contact is not None and contact.kind is Kind.CONTACT
    assert contact.contact is not None and contact.contact.user_id == "5"
    card = transport.to_incoming(message(contact={"phone_number": "628", "first_name": "B"}))
    assert card is not None and card.contact is not None and card.contact.user_id is None
    voice = transport.to_incoming(message(voice={"file_id": "v", "file_unique_id": "u",
                                                 "duration": 2}))
    assert voice is not None and (voice.kind, voice.text) == (Kind.UNSUPPORTED, "voice")
    location = transport.to_incoming(message(location={"latitude": -6.9,
                                                       "longitude": 110.2}))
    assert location is not None and location.kind is Kind.UNSUPPORTED
    in_group = transport.to_incoming(_update({"message": {
        "message_id": 4, "date": 0, "chat": {"id": -100, "type": "supergroup", "title": "G"},
        "from": person, "text": "/mulai"}}))
    assert in_group is not None and in_group.chat_type is ChatType.GROUP
    assert in_group.chat_id == "-100"
    pressed = transport.to_incoming(_update({"callback_query": {
        "id": "q", "from": person, "chat_instance": "c", "data": "rel:art",
        "message": {"message_id": 8, "date": 0, "chat": private, "text": "?"}}}))
    assert pressed is not None and (pressed.kind, pressed.payload, pressed.message_id) == (
        Kind.BUTTON, "rel:art", "8")


# -- webhook -------------------------------------------------------------------------------


async def test_webhook_mode_sets_the_webhook_and_processes_pushed_updates_once(
    fake: FakeTelegram, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        sqlite_url, telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
        telegram_webhook_url="https://bot.example.go.id/telegram/webhook",
        telegram_webhook_secret="s3cret-token",
    )
    async with migrated_app(settings, roster=True) as app:
        with caplog.at_level(logging.INFO, logger="bot.telegram"):
            await set_telegram_webhook(app)
        assert fake.webhook["url"] == "https://bot.example.go.id/telegram/webhook"
        assert fake.webhook["secret_token"] == "s3cret-token"
        assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
        assert "asn-peduli serve" in caplog.text and "s3cret" not in caplog.text
        assert webhook_secret_ok(settings, "s3cret-token")
        assert not webhook_secret_ok(settings, "wrong") and not webhook_secret_ok(settings, None)

        runner = make_bot(app)
        await runner.start(polling=False)
        try:
            fake.push_text(USER, "/start")  # makes the chat known to the fake
            data = {"update_id": 77, "message": {
                "message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"},
                "from": fake.user(USER), "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
            assert await process_webhook_update(runner, data) is True
            assert await process_webhook_update(runner, data) is False  # Telegram retried
            await TelegramUser(fake, app).settle(77)
            assert "Selamat datang" in texts(fake.messages(USER))
            assert fake.calls_of("getUpdates") == []
        finally:
            await runner.stop()


async def test_the_bot_needs_a_token_and_a_webhook_url(sqlite_url: str) -> None:
    app = create_app(make_settings(sqlite_url))
    try:
        with pytest.raises(TelegramNotConfigured, match="TELEGRAM_BOT_TOKEN"):
            TelegramBot(app)
    finally:
        await app.close()
    app = create_app(make_settings(sqlite_url, telegram_bot_token=""))
    try:
        with pytest.raises(TelegramNotConfigured, match="TELEGRAM_BOT_TOKEN"):
            TelegramBot(app)
    finally:
        await app.close()
    # An empty value, as `NAME=` in .env.example gives, counts as missing.
    for webhook, secret, missing in (
        (None, "s", "TELEGRAM_WEBHOOK_URL"),
        ("https://bot.example.go.id/hook", None, "TELEGRAM_WEBHOOK_SECRET"),
        ("https://bot.example.go.id/hook", "", "TELEGRAM_WEBHOOK_SECRET"),
    ):
        settings = make_settings(sqlite_url, telegram_bot_token="123456:TEST",
                                 telegram_api_base_url="http://127.0.0.1:9",
                                 telegram_webhook_url=webhook,
                                 telegram_webhook_secret=secret)
        app = create_app(settings)
        try:
            with pytest.raises(TelegramNotConfigured, match=missing):
                await set_telegram_webhook(app)
            assert not webhook_secret_ok(settings, "")
        finally:
            await app.close()
