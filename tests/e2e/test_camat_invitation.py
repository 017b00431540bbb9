"""A camat on Telegram asks for the invitation: the real python-telegram-bot client learns the
bot's username from the fake Bot API's getMe, and the invitation goes out as a sendPhoto (the
QR code) with the t.me link in its caption, accepted as Telegram would accept it."""

from __future__ import annotations

from bot.app import App
from bot.telegram.channel import TelegramBot
from tests.conftest import BUDI
from tests.support.fake_telegram import FakeTelegram
from tests.support.route import grant_role
from tests.support.telegram_user import TelegramUser, identify


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
