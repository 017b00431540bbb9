"""Webhook mode: an update Telegram pushes, processed exactly as a polled one, and the check of
the secret header that proves Telegram sent it. Receiving the HTTP request is bot/web.py's."""

from __future__ import annotations

import hmac
from typing import Any

from telegram import Update

from bot.settings import Settings
from bot.telegram.api import secret
from bot.telegram.channel import TelegramBot


async def process_webhook_update(bot: TelegramBot, data: dict[str, Any]) -> bool:
    """One webhook body (Telegram's JSON) processed exactly as a polled update.

    Answer Telegram only after this returns, or after storing the update durably as
    bot/web.py's inbox does: an exception means the update is not committed, a non-2xx
    answer makes Telegram send it again, and the dispatcher drops an update it has already
    processed.
    """
    update = Update.de_json(data, bot.bot)
    return await bot.process(update)


def webhook_secret_ok(settings: Settings, header: str | None) -> bool:
    """Whether X-Telegram-Bot-Api-Secret-Token matches TELEGRAM_WEBHOOK_SECRET (a plain
    function over the header, testable without a server). No secret configured: False."""
    expected = secret(settings.telegram_webhook_secret)
    if expected is None:
        return False
    return header is not None and hmac.compare_digest(header.encode(), expected.encode())
