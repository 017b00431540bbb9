"""`TelegramTransport`: an `OutgoingMessage` as a Bot API call, Telegram's errors mapped once.

A message goes as `sendMessage`, or as `sendPhoto` when it carries an attachment (the monthly
chart); Telegram's errors become `TransientSendError` / `PermanentSendError` /
`RecipientUnreachable` (blocked, deactivated, no such chat) here and nowhere else. The
transport also reads updates (bot/telegram/updates.py) with the bot's own username, and
acknowledges a pressed button.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Final

from telegram import Bot, InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.invitations import telegram_link
from bot.telegram.api import seconds, use_timedelta_periods
from bot.telegram.keyboards import keyboard
from bot.telegram.updates import to_incoming
from bot.transport import PermanentSendError, RecipientUnreachable, TransientSendError
from flows.events import Attachment, Channel, Incoming, Markup, OutgoingMessage

log = logging.getLogger("bot.telegram")

# A photo's caption holds at most this many characters (after its HTML is parsed).
MAX_CAPTION: Final = 1024
HTML_TAG: Final = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?>")
# Bad Request descriptions that mean the chat cannot be reached at all (no such chat, or the
# account is gone), not that this one message was wrong.
UNREACHABLE_SIGNS: Final = ("chat not found", "user is deactivated", "peer_id_invalid",
                            "user not found")


def _parse_mode(message: OutgoingMessage) -> str | None:
    return ParseMode.HTML if message.markup is Markup.HTML else None


def caption_length(text: str, parse_mode: str | None) -> int:
    """The length Telegram counts for a caption: the text without its HTML tags, in UTF-16
    code units (an emoji counts two)."""
    if parse_mode == ParseMode.HTML:
        text = html.unescape(HTML_TAG.sub("", text))
    return len(text.encode("utf-16-le")) // 2


def _chat_id(value: str) -> int | str:
    """Telegram ids are integers; anything else ("@channel") is passed as is."""
    return int(value) if value.lstrip("-").isdigit() else value


class TelegramTransport:
    """Translates between Telegram and the dispatcher; holds no conversation state."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot) -> None:
        use_timedelta_periods()
        self._bot = bot
        # Known after the bot is initialised (getMe); used to ignore "/cmd@other_bot".
        self.username: str | None = None

    @property
    def chat_link(self) -> str | None:
        """The t.me link a camat's invitation carries, once getMe has told the username."""
        return telegram_link(self.username) if self.username else None

    # -- delivery ------------------------------------------------------------------------

    async def send(self, chat_id: str, message: OutgoingMessage) -> str | None:
        """Send one rendered message; errors are mapped once, here, for the sender.

        A message with an attachment (the sender loads it for an `image`) goes as a photo
        with the text as its caption; a text too long for a caption follows the photo as a
        message of its own. The id returned is the message's, or "photo id,text id"."""
        try:
            if message.attachment is not None:
                return await self._send_photo(_chat_id(chat_id), message, message.attachment)
            sent = await self._send_text(_chat_id(chat_id), message)
        except RetryAfter as error:
            wait = seconds(error.retry_after)
            raise TransientSendError(f"flood control, retry in {wait:g} s",
                                     retry_after=wait) from error
        except ChatMigrated as error:
            # A group became a supergroup; its link to an OPD must be updated (issue 3).
            raise PermanentSendError(f"chat migrated to {error.new_chat_id}") from error
        except Forbidden as error:
            # Blocked by the user, user deactivated, bot removed from the group.
            raise RecipientUnreachable(f"forbidden: {error.message}") from error
        except BadRequest as error:
            if any(sign in error.message.lower() for sign in UNREACHABLE_SIGNS):
                raise RecipientUnreachable(f"bad request: {error.message}") from error
            # Malformed markup, a text too long: resending cannot help.
            raise PermanentSendError(f"bad request: {error.message}") from error
        except InvalidToken as error:
            # The operator's mistake, not the recipient's: let the row wait for a fixed token.
            raise TransientSendError(f"invalid token: {error.message}") from error
        except NetworkError as error:  # TimedOut is a NetworkError; so are 5xx answers
            raise TransientSendError(f"network: {type(error).__name__}: {error.message}"
                                     ) from error
        except TelegramError as error:
            raise TransientSendError(f"telegram: {type(error).__name__}: {error.message}"
                                     ) from error
        return str(sent.message_id)

    async def _send_text(self, chat_id: int | str, message: OutgoingMessage) -> Message:
        # A confidential message (a NIK in full) cannot be forwarded or saved from the chat.
        protected = {"protect_content": True} if message.confidential else {}
        return await self._bot.send_message(
            chat_id=chat_id,
            text=message.text,
            parse_mode=_parse_mode(message),
            reply_markup=keyboard(message),
            **protected,
        )

    async def _send_photo(self, chat_id: int | str, message: OutgoingMessage,
                          attachment: Attachment) -> str:
        text = message.text
        fits = caption_length(text, _parse_mode(message)) <= MAX_CAPTION
        photo = await self._bot.send_photo(
            chat_id=chat_id,
            photo=InputFile(attachment.data, filename=attachment.filename or "gambar.png"),
            caption=text if text and fits else None,
            parse_mode=_parse_mode(message) if text and fits else None,
            reply_markup=keyboard(message) if fits else None,
        )
        if fits or not text.strip():
            return str(photo.message_id)
        sent = await self._send_text(chat_id, message)
        return f"{photo.message_id},{sent.message_id}"

    # -- reception -----------------------------------------------------------------------

    def to_incoming(self, update: Update) -> Incoming | None:
        """The update as the dispatcher sees it, or None when no flow should see it."""
        return to_incoming(update, self.username)

    async def acknowledge(self, update: Update) -> None:
        """After a button press: answer the query and take the pressed keyboard away.

        Failures are logged and swallowed: the query may be too old to answer, or a
        redelivered update may find the keyboard already gone; the user's answer was
        processed either way.
        """
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()
        except TelegramError as error:
            log.info("answering a callback query failed: %s", type(error).__name__)
        message = query.message
        if not isinstance(message, Message) or message.reply_markup is None:
            return
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
            )
        except TelegramError as error:
            log.info("removing a pressed keyboard failed: %s", type(error).__name__)

