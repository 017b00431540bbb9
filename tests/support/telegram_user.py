"""A Telegram user talking to the bot through the fake Bot API (tests/support/fake_telegram.py)
with the real python-telegram-bot client, and the steps every Telegram conversation test
walks: identify as Budi, enrol a worker up to the NIK, and from the name to the agreement.

Each step waits until the update is committed (its id is in processed_updates) and the
outbox is empty, so what a step returns is exactly what the user saw for it.
"""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.settings import Settings
from bot.telegram.channel import TelegramBot
from tests.conftest import BUDI, make_settings
from tests.support.chat import texts
from tests.support.fake_telegram import FakeTelegram, SentMessage
from tests.support.loopback import Unread, latest
from tests.support.processes import conversation_state, settle

USER = 1001  # Budi's Telegram user id (and private chat id)
BOT_ID = 123456  # the fake's bot (its token starts with it)
NIK = "3324015708800001"
WORKER_PHONE = "0857-1111-2222"
# Telegram's one message a second per chat would make every step of these conversations
# wait a second per message of a reply; pacing has its own tests on a fake clock
# (tests/bot/test_pacing.py), so here a chat may take its replies at once.
FAST_CHAT_RATE = 1000.0


def fast_settings(database_url: str, fake: FakeTelegram) -> Settings:
    """Settings for the bot on `database_url` against `fake`, a chat's replies unpaced."""
    return make_settings(database_url, telegram_bot_token=fake.token,
                         telegram_api_base_url=fake.url,
                         telegram_rate_private_chat=FAST_CHAT_RATE)


def make_bot(app: App) -> TelegramBot:
    """Short long-poll and sender intervals keep stops quick; the fake wakes polls at once."""
    return TelegramBot(app, poll_timeout=1, sender_poll_seconds=0.1)


class TelegramUser:
    """One Telegram user talking to the bot through the fake server."""

    def __init__(self, fake: FakeTelegram, app: App, user_id: int = USER) -> None:
        self.fake = fake
        self.app = app
        self.user_id = user_id
        self._unread = Unread(lambda: fake.messages(user_id))

    async def settle(self, update_id: int, within: float = 10.0) -> list[SentMessage]:
        """Wait until the update is committed and the outbox delivered; the new messages."""
        await settle(self.app, "telegram", str(update_id), within)
        return self._unread()

    async def send(self, text: str) -> list[SentMessage]:
        return await self.settle(self.fake.push_text(self.user_id, text))

    async def press(self, label: str) -> list[SentMessage]:
        """Press a button of the latest message that has inline buttons."""
        return await self.settle(self.fake.press(self.last_with_buttons, label))

    async def share_contact(self, phone: str, owner: int | None = None) -> list[SentMessage]:
        owner = self.user_id if owner is None else owner
        return await self.settle(self.fake.push_contact(self.user_id, phone, owner))

    async def sticker(self) -> list[SentMessage]:
        return await self.settle(self.fake.push_sticker(self.user_id))

    @property
    def last(self) -> SentMessage:
        return self.fake.messages(self.user_id)[-1]

    @property
    def last_with_buttons(self) -> SentMessage:
        return latest(self.fake.messages(self.user_id), lambda message: message.inline_buttons,
                      "inline buttons")

    async def state(self) -> tuple[str | None, dict[str, Any]]:
        return await conversation_state(self.app, BOT_ID, self.user_id)


async def identify(user: TelegramUser) -> None:
    """/start, NIP, own contact: Budi is linked and sees the main menu."""
    shown = await user.send("/start")
    assert "Selamat datang" in texts(shown) and "NIP" in shown[-1].text
    shown = await user.send(BUDI.nip)
    [ask_phone] = shown
    # The contact can only be shared through a reply keyboard with request_contact.
    assert ask_phone.reply_markup == {
        "keyboard": [[{"text": "📱 Bagikan nomor HP saya", "request_contact": True}]],
        "one_time_keyboard": True, "resize_keyboard": True,
    }
    shown = await user.share_contact("6281234567890")  # Telegram sends it without "+"
    assert "Budi Santoso" in texts(shown) and "Menu utama" in shown[-1].text
    assert shown[0].removes_keyboard


async def enrol_until_nik(user: TelegramUser) -> None:
    shown = await user.press("➕ Daftarkan pekerja")
    assert "hubungan" in shown[-1].text.lower()
    await user.press("Asisten rumah tangga")
    shown = await user.send(NIK)
    assert "nama" in shown[-1].text.lower()


async def enrol_from_name(user: TelegramUser) -> list[SentMessage]:
    """From the name to the agreed deduction; the last step's messages."""
    await user.send("Siti Aminah")
    shown = await user.press("✅ Ya")  # the birth date read from the NIK
    await user.press("Pedagang kecil")
    await user.send(WORKER_PHONE)
    await user.press("Patebon")
    await user.send("Kumpulrejo")
    shown = await user.press("✅ Pekerja setuju")
    summary = shown[-1]
    assert "3324••••••••0001" in summary.text and NIK not in summary.text
    assert "17 Agustus 1980" in summary.text
    shown = await user.press("💾 Simpan")
    assert "Rp16.800" in texts(shown)
    return await user.press("✅ Saya setuju")
