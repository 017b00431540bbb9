"""The Bot API client: the token, the `telegram.Bot` built from the settings, PTB's periods.

PTB's `Application` was used for nothing but its `.bot` (updates are fetched by
bot/telegram/polling.py, dispatched by bot/dispatcher.py), so the `telegram.Bot` is built
here directly, with the two connection pools ApplicationBuilder gave it: many connections for
sending, one for the long poll.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Final

from pydantic import SecretStr
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.settings import NotConfigured, Settings

# Seconds a Bot API answer may take before the call counts as failed (PTB's default); a long
# poll adds its own timeout to it.
READ_TIMEOUT: Final = 5.0
# Connections for sending (ApplicationBuilder's default) and for getUpdates (one long poll).
SEND_CONNECTIONS: Final = 256
POLL_CONNECTIONS: Final = 1


class TelegramNotConfigured(NotConfigured):
    """A setting the Telegram channel needs is missing or malformed (token, webhook)."""


def use_timedelta_periods() -> None:
    """Opt in to PTB's `datetime.timedelta` time periods (PTB_TIMEDELTA).

    PTB 22 warns (PTBDeprecationWarning) whenever a time period such as
    `RetryAfter.retry_after` is read as an int, even while building the error. Opting in is
    PTB's documented way out; our code reads periods through `seconds`, which takes both.
    """
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def seconds(period: int | float | timedelta) -> float:
    """A PTB time period in seconds, whichever form PTB hands out."""
    if isinstance(period, timedelta):
        return period.total_seconds()
    return float(period)


def bot_id_from_token(token: str) -> int:
    """The bot's numeric id: the part of the token before ':' (aiogram's StorageKey.bot_id)."""
    head = token.split(":", 1)[0]
    if not head.isdigit():
        raise TelegramNotConfigured(["TELEGRAM_BOT_TOKEN"], "malformed")
    return int(head)


def secret(value: SecretStr | None) -> str | None:
    """A secret setting, with an empty one (`NAME=` as in .env.example) taken as unset."""
    return value.get_secret_value() if value is not None else None


def telegram_configured(settings: Settings) -> bool:
    """Whether a bot token is given (an empty `TELEGRAM_BOT_TOKEN=` is none)."""
    return secret(settings.telegram_bot_token) is not None


def bot_token(settings: Settings) -> str:
    token = secret(settings.telegram_bot_token)
    if token is None:
        raise TelegramNotConfigured(["TELEGRAM_BOT_TOKEN"])
    return token


def build_bot(settings: Settings, read_timeout: float = READ_TIMEOUT) -> Bot:
    """PTB's Bot pointed at TELEGRAM_API_BASE_URL (the real API, a local Bot API server, or a
    test's fake)."""
    use_timedelta_periods()
    base = settings.telegram_api_base_url.rstrip("/")
    return Bot(
        bot_token(settings),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=HTTPXRequest(connection_pool_size=SEND_CONNECTIONS, read_timeout=read_timeout),
        get_updates_request=HTTPXRequest(connection_pool_size=POLL_CONNECTIONS,
                                         read_timeout=read_timeout),
    )
