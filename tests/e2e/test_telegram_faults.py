"""Telegram faults end to end: the Bot API failing under the bot (429, 500, an answer later
than the client waits, a connection reset) and the database going away while it polls.

The real python-telegram-bot client talks to the fake Bot API on 127.0.0.1, which injects the
faults (tests/support/fake_telegram.py, `FakeTelegram.plan`); SQLite and PostgreSQL run for real.
What is checked is what a user sees (every reply once, in order) and what the database holds
(every update processed once, the conversation where it would be without the fault).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.telegram.channel import TelegramBot
from storage.models import OutboxMessage, ProcessedUpdate
from tests.conftest import BUDI, _postgres_admin, migrated_app
from tests.support.fake_telegram import FakeTelegram, Fault, SentMessage
from tests.support.loopback import wait_until
from tests.support.processes import cli_env, conversation_state, settle, start_cli
from tests.support.telegram_user import (
    BOT_ID,
    FAST_CHAT_RATE,
    NIK,
    USER,
    TelegramUser,
    fast_settings,
    identify,
)

# A Bot API answer may take this long before the client gives up; a long poll waits this
# plus POLL_TIMEOUT. Planned slow answers come later than that.
READ_TIMEOUT = 1.5
POLL_TIMEOUT = 1.0
WELCOME, ASK_NIP = "Selamat datang", "ketik <b>NIP</b>"
APOLOGY = "sedang mengalami gangguan"


def faulty_bot(app: App) -> TelegramBot:
    """Short timeouts and waits (at most 1 s between tries) keep the faults quick."""
    return TelegramBot(app, poll_timeout=POLL_TIMEOUT, sender_poll_seconds=0.1,
                       read_timeout=READ_TIMEOUT, max_retry=1.0)


async def processed_count(app: App, update_ids: list[int]) -> dict[int, int]:
    """How often each update is recorded as processed (1 when processed exactly once)."""
    async with app.sessions() as session:
        rows = await session.execute(
            select(ProcessedUpdate.update_id, func.count()).where(
                ProcessedUpdate.channel == "telegram",
                ProcessedUpdate.update_id.in_([str(i) for i in update_ids]),
            ).group_by(ProcessedUpdate.update_id))
        counts = {int(update_id): n for update_id, n in rows.all()}
    return {update_id: counts.get(update_id, 0) for update_id in update_ids}


def texts_of(messages: list[SentMessage]) -> list[str]:
    return [message.text for message in messages]


def assert_in_order(messages: list[SentMessage], markers: list[str]) -> None:
    """One message per marker, each containing its marker, in this order."""
    assert len(messages) == len(markers), texts_of(messages)
    for message, marker in zip(messages, markers, strict=True):
        assert marker in message.text, (marker, message.text)


# -- getUpdates ------------------------------------------------------------------------------


async def test_get_updates_faults_do_not_stop_polling_and_lose_nothing(
    fake: FakeTelegram, tg_app: App
) -> None:
    """The first five long polls meet 429, 500, an answer too late, a reset and 502; the
    loop goes on and each waiting update is processed once."""
    fake.plan("getUpdates",
              Fault.error(429, "Too Many Requests: retry after 1", retry_after=1),
              Fault.error(500, "Internal Server Error"),
              Fault.slow(READ_TIMEOUT + POLL_TIMEOUT + 1.5),
              Fault.connection_reset(),
              Fault.error(502, "Bad Gateway"))
    waiting = [fake.push_text(user, "/start") for user in (USER, 2002, 3003)]
    bot = faulty_bot(tg_app)
    await bot.start()
    try:
        for update_id in waiting:
            await settle(tg_app, "telegram", str(update_id), within=30)
        assert fake.faults_left("getUpdates") == 0 and len(fake.faulted) == 5
        polls = fake.calls_of("getUpdates")
        throttled = fake.faulted[0][0]
        after_429 = polls[polls.index(throttled) + 1]
        assert after_429.at - throttled.at >= 0.95  # waited the retry_after Telegram asked
        for user in (USER, 2002, 3003):
            assert_in_order(fake.messages(user), [WELCOME, ASK_NIP])
        # The conversation goes on over the same loop.
        nip = fake.push_text(USER, BUDI.nip)
        await settle(tg_app, "telegram", str(nip))
        assert "Bagikan nomor HP" in fake.messages(USER)[-1].text
        assert await processed_count(tg_app, [*waiting, nip]) == dict.fromkeys(
            [*waiting, nip], 1)
        await fake.wait_until_confirmed(nip)
    finally:
        await bot.stop()


# -- sendMessage -----------------------------------------------------------------------------


async def sent_rows(app: App) -> list[tuple[str, str, int]]:
    async with app.sessions() as session:
        rows = await session.execute(select(OutboxMessage.chat_id, OutboxMessage.status,
                                            OutboxMessage.attempts).order_by(OutboxMessage.id))
        return [(chat_id, status, attempts) for chat_id, status, attempts in rows.all()]


async def test_send_faults_are_retried_and_every_reply_arrives_once_in_order(
    fake: FakeTelegram, tg_app: App
) -> None:
    """429, 500 and a reset on three sends: each is tried again and delivered once; a chat
    that does not exist (400) is given up on at the first answer, not retried."""
    bot = faulty_bot(tg_app)
    await bot.start()
    try:
        fake.plan("sendMessage",
                  Fault.error(429, "Too Many Requests: retry after 1", retry_after=1),
                  Fault.error(500, "Internal Server Error"),
                  Fault.connection_reset())
        users = (USER, 2002, 3003)
        updates = [fake.push_text(user, "/start") for user in users]
        for update_id in updates:
            await settle(tg_app, "telegram", str(update_id), within=30)
        assert len(fake.faulted) == 3
        for user in users:
            assert_in_order(fake.messages(user), [WELCOME, ASK_NIP])
        rows = await sent_rows(tg_app)
        assert {status for _, status, _ in rows} == {"sent"}
        assert sum(attempts for _, _, attempts in rows) == len(rows) + 3

        fake.plan("sendMessage", Fault.error(400, "Bad Request: chat not found"))
        gone = fake.push_text(4004, "/start")
        await settle(tg_app, "telegram", str(gone))
        assert fake.messages(4004) == []
        to_gone = [c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == "4004"]
        assert len(to_gone) == 1  # the welcome once; the question after it not even tried
        assert [(s, a) for chat, s, a in await sent_rows(tg_app) if chat == "4004"] == [
            ("unreachable", 1), ("unreachable", 0)]
    finally:
        await bot.stop()


async def test_a_send_answered_after_the_timeout_is_the_one_repeat(
    fake: FakeTelegram, tg_app: App
) -> None:
    """Telegram delivered, but its answer came after the client stopped waiting: the sender
    cannot know the message arrived and sends it again. That one repeat is inherent (the Bot
    API has no idempotency key), and the late copy may even land after the next message;
    nothing else repeats."""
    bot = faulty_bot(tg_app)
    await bot.start()
    try:
        fake.plan("sendMessage", Fault.slow(READ_TIMEOUT + 1.5))
        update_id = fake.push_text(USER, "/start")
        await settle(tg_app, "telegram", str(update_id), within=30)
        await asyncio.sleep(READ_TIMEOUT + 1.5)  # the late answer has surely been carried out
        shown = texts_of(fake.messages(USER))
        assert len(shown) == 3
        assert sum(WELCOME in text for text in shown) == 2
        assert sum(ASK_NIP in text for text in shown) == 1
        assert [(status, attempts) for _, status, attempts in await sent_rows(tg_app)] == [
            ("sent", 2), ("sent", 1)]
    finally:
        await bot.stop()


# -- one batch, one user ---------------------------------------------------------------------


async def test_ten_updates_of_one_user_in_one_batch_are_processed_in_order(
    fake: FakeTelegram, tg_app: App
) -> None:
    """Each answer depends on the one before (a wrong NIP, then the right one, then the
    contact ...): processed out of order, the replies and the state would differ."""
    burst = [
        fake.push_text(USER, "/start"), fake.push_text(USER, "12345"),
        fake.push_text(USER, BUDI.nip), fake.push_contact(USER, "6281234567890", USER),
        fake.push_text(USER, "/bantuan"), fake.push_text(USER, "halo"),
        fake.push_sticker(USER), fake.push_text(USER, "/batal"), fake.push_text(USER, "/mulai"),
        fake.push_text(USER, "/bantuan"),
    ]
    bot = faulty_bot(tg_app)
    await bot.start()
    try:
        await settle(tg_app, "telegram", str(burst[-1]), within=20)
        assert fake.batches[0] == burst  # all ten came in one getUpdates answer
        assert_in_order(fake.messages(USER), [
            WELCOME, ASK_NIP, "NIP belum sesuai", "Bagikan nomor HP", "sudah terhubung",
            "Menu utama", "Bantuan", "Menu utama", "Silakan pilih", "stiker",
            "Tidak ada isian", "Menu utama", "Menu utama", "Bantuan", "Menu utama",
        ])
        assert await conversation_state(tg_app, BOT_ID, USER) == ("Menu:main", {})
        assert await processed_count(tg_app, burst) == dict.fromkeys(burst, 1)
    finally:
        await bot.stop()


# -- the database goes away ------------------------------------------------------------------


class Outage:
    """Takes the database away and brings it back.

    SQLite: its folder is moved away, so no connection can open the file; connections open
    already would keep working on the moved file, so they are closed too (the pool's and the
    dispatcher's own), as a restart of the server closes them on PostgreSQL. PostgreSQL: the
    database refuses new connections (ALLOW_CONNECTIONS false) and its open ones are
    terminated.
    """

    def __init__(self, app: App, url: str, folder: Path | None) -> None:
        self._app = app
        self._name = url.rsplit("/", 1)[-1]
        self._folder = folder

    async def begin(self) -> None:
        if self._folder is not None:
            self._folder.rename(self._folder.with_name("away"))
            await self._app.engine.dispose()
            await self._app.updates.close()
            return
        await _postgres_admin(f'ALTER DATABASE "{self._name}" ALLOW_CONNECTIONS false')
        await _postgres_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              f"WHERE datname = '{self._name}'")

    async def end(self) -> None:
        if self._folder is not None:
            self._folder.with_name("away").rename(self._folder)
            return
        await _postgres_admin(f'ALTER DATABASE "{self._name}" ALLOW_CONNECTIONS true')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outage_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path | None]:
    """The database, and for SQLite the folder holding its file (moved away in an outage)."""
    if request.param == "sqlite":
        folder = tmp_path / "db"
        return f"sqlite+aiosqlite:///{folder / 'asn.db'}", folder
    return request.getfixturevalue("postgres_url"), None


async def test_the_database_down_while_polling_loses_nothing_and_apologises_once(
    fake: FakeTelegram, outage_url: tuple[str, Path | None]
) -> None:
    url, folder = outage_url
    async with migrated_app(fast_settings(url, fake), roster=True) as app:
        bot = faulty_bot(app)
        await bot.start()
        try:
            user = TelegramUser(fake, app)
            await identify(user)
            await user.press("➕ Daftarkan pekerja")
            relationship = user.last_with_buttons
            seen = len(fake.messages(USER))
            outage = Outage(app, url, folder)
            await outage.begin()
            burst = [
                fake.press(relationship, "Asisten rumah tangga"),
                fake.push_text(2002, "/start"),
                fake.push_text(USER, NIK),
                fake.push_text(USER, "Siti Aminah"),
            ]
            try:
                await fake.wait_for_messages(USER, seen + 1, within=20)
                await fake.wait_for_messages(2002, 1, within=20)
                # The batch is fetched again and again from its first update, while both
                # chats keep their one apology.
                await wait_until(lambda: sum(
                    1 for call in fake.calls_of("getUpdates")
                    if call.params.get("offset") == burst[0]) >= 4, 20,
                    "the batch was not fetched again")
                assert fake.confirmed_offset <= burst[0]
            finally:
                await outage.end()
            for update_id in burst:
                await settle(app, "telegram", str(update_id), within=20)
            await fake.wait_until_confirmed(burst[-1])
            assert_in_order(fake.messages(USER)[seen:], [
                APOLOGY, "NIK", "nama", "lahir"])
            assert_in_order(fake.messages(2002), [APOLOGY, WELCOME, ASK_NIP])
            assert await processed_count(app, burst) == dict.fromkeys(burst, 1)
            state, data = await conversation_state(app, BOT_ID, USER)
            assert state == "Enrollment:birth_date"
            assert data["name"] == "SITI AMINAH" and data["relationship"] == "art"
            # The conversation goes on as if there had been no outage (three answers would
            # go: /batal asks, a second /batal confirms).
            await settle(app, "telegram", str(fake.push_text(USER, "/batal")))
            await settle(app, "telegram", str(fake.push_text(USER, "/batal")))
            assert (await conversation_state(app, BOT_ID, USER))[0] == "Menu:main"
        finally:
            await bot.stop()


# -- the real command ------------------------------------------------------------------------


async def test_the_cli_bot_rides_out_get_updates_faults_and_confirms_on_sigterm(
    fake: FakeTelegram, tmp_path: Path, children: list[asyncio.subprocess.Process]
) -> None:
    """`asn-peduli run` meets a reset, a 500 and a 429 on getUpdates and goes on; SIGTERM
    while an update is being processed (the database's write lock is held elsewhere) lets it
    finish that update and confirm it to Telegram with one last getUpdates, then exit 0."""
    db = tmp_path / "asn.db"
    settings = fast_settings(f"sqlite+aiosqlite:///{db}", fake)
    async with migrated_app(settings, roster=True):
        pass
    fake.plan("getUpdates", Fault.connection_reset(), Fault.error(500, "Internal Server Error"),
              Fault.error(429, "Too Many Requests: retry after 1", retry_after=1))
    first = fake.push_text(USER, "/start")
    env = cli_env(settings, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
                  TELEGRAM_RATE_PRIVATE_CHAT=str(FAST_CHAT_RATE))
    log = tmp_path / "bot.log"
    child = await start_cli("run", env, tmp_path, log,
                            lambda _: fake.wait_for_messages(USER, 2, within=30))
    children.append(child)
    assert_in_order(fake.messages(USER), [WELCOME, ASK_NIP])
    await fake.wait_until_confirmed(first)
    assert fake.faults_left("getUpdates") == 0

    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the bot's next transaction waits for this one
        held = fake.push_text(USER, BUDI.nip)
        await wait_until(lambda: any(held in batch for batch in fake.batches), 10,
                         "the update was not fetched")  # fetched, now waiting on the lock
        await asyncio.sleep(0.5)
        child.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert child.returncode is None  # finishing the update in hand
        assert fake.confirmed_offset <= held
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    started = time.monotonic()
    assert await asyncio.wait_for(child.wait(), 30) == 0
    assert time.monotonic() - started < 30
    last = fake.calls_of("getUpdates")[-1]
    assert (last.params.get("offset"), last.params.get("timeout")) == (held + 1, 0)
    assert fake.confirmed_offset == held + 1
    async with migrated_app(settings) as app:
        assert await processed_count(app, [first, held]) == {first: 1, held: 1}
    output = log.read_text(encoding="utf-8", errors="replace")
    assert BUDI.nip not in output and fake.token not in output
