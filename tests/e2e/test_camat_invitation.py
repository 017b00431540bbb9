"""A camat on Telegram asks for the invitation: the real python-telegram-bot client learns the
bot's username from the fake Bot API's getMe, and the invitation goes out as a sendPhoto (the
QR code) with the t.me link in its caption, accepted as Telegram would accept it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import App
from bot.telegram.channel import TelegramBot
from tests.conftest import BUDI, make_settings, migrated_app
from tests.e2e.test_telegram import FAST_CHAT_RATE, TelegramUser, identify, make_bot
from tests.support.fake_telegram import FakeTelegram
from tests.support.route import grant_role


@pytest.fixture
async def tg_app(sqlite_url: str, fake: FakeTelegram) -> AsyncIterator[App]:
    settings = make_settings(sqlite_url, telegram_bot_token=fake.token,
                             telegram_api_base_url=fake.url,
                             telegram_rate_private_chat=FAST_CHAT_RATE)
    async with migrated_app(settings, roster=True) as application:
        yield application


@pytest.fixture
async def bot(tg_app: App) -> AsyncIterator[TelegramBot]:
    runner = make_bot(tg_app)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


class _Granting:
    """What tests.support.route.grant_role needs of a chat client: the app."""

    def __init__(self, app: App) -> None:
        self.app = app


async def test_the_invitation_is_a_photo_with_the_getme_username_link(
        fake: FakeTelegram, tg_app: App, bot: TelegramBot) -> None:
    user = TelegramUser(fake, tg_app)
    await identify(user)
    await grant_role(_Granting(tg_app), "camat", "Patebon", BUDI.nip)  # type: ignore[arg-type]

    await user.send("/siaran")
    shown = await user.press("📨 Undangan untuk ASN")

    photos = [message for message in shown if message.photo]
    assert len(photos) == 1
    [invitation] = photos
    assert invitation.photo.startswith(b"\x89PNG\r\n\x1a\n")
    assert f"https://t.me/{fake.username}?start=undangan" in invitation.text
    assert "Undangan ASN Peduli dari Camat Patebon" in invitation.text
    assert fake.rejected == []
