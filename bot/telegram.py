"""The Telegram channel over python-telegram-bot: updates in, outbox bodies out.

Only translation lives here. `TelegramTransport` turns a `telegram.Update` into a frozen
`Incoming` and an outbox body into a `sendMessage` call (`sendPhoto` with an attachment),
mapping Telegram's errors once into `TransientSendError` / `PermanentSendError` /
`RecipientUnreachable` (blocked, deactivated, no such chat). `TelegramBot` runs it
in-process: PTB's `Application` fetches updates (long polling) and hands each to
`TelegramBot.process`, which calls the dispatcher; the outbox sender runs beside it as a
background task. Webhook mode uses the same `process` through `process_webhook_update`, for
the web server to call. `asn-peduli worker` uses only the sending half (bot/worker.py).

What reaches the dispatcher, and what does not:

- a new message in a private chat or a group: text (a command when it starts with "/"),
  a contact card, or anything else (sticker, photo, voice, location ...) as UNSUPPORTED so the
  flow can explain what it expects. In groups only text and commands pass: media and service
  messages (members joining, pins) are no one's answer to anything.
- a pressed inline button (callback query), as BUTTON with the button's payload. The query is
  then answered (the client stops its spinner) and the pressed message loses its inline
  keyboard, so an old button cannot be pressed twice.
- nothing else: edited messages (an edit of an earlier answer is not a new answer, and acting
  on it would change data behind the user's back), channel posts (no user), membership changes
  and every other kind of update. `ALLOWED_UPDATES` asks Telegram not to send them at all.

Personal data (texts, phone numbers from contacts) is never logged here; the logs name only
update kinds and error classes.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from pydantic import SecretStr
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
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
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.app import App, on_stop_signals
from bot.settings import NotConfigured, Settings
from bot.transport import PermanentSendError, RecipientUnreachable, TransientSendError
from flows.events import Channel, ChatType, Incoming, Kind, SharedContact

log = logging.getLogger(__name__)

# Only these update kinds are asked for, in polling and in webhook mode alike.
ALLOWED_UPDATES: Final = (Update.MESSAGE, Update.CALLBACK_QUERY)

CHAT_TYPES: Final = {
    "private": ChatType.PRIVATE,
    "group": ChatType.GROUP,
    "supergroup": ChatType.GROUP,
}

# Checked in this order: an animation also carries a `document`.
ATTACHMENTS: Final = (
    "sticker", "photo", "animation", "video", "video_note", "voice", "audio", "document",
    "location", "venue", "poll", "dice", "game", "story", "paid_media", "invoice",
)

# Updates handled at the same time. The dispatcher serialises one conversation with a lock,
# so this bounds only how many conversations move at once; keep it below the database pool.
CONCURRENT_UPDATES: Final = 16

# A photo's caption holds at most this many characters (after its HTML is parsed).
MAX_CAPTION: Final = 1024
HTML_TAG: Final = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?>")
# Bad Request descriptions that mean the chat cannot be reached at all (no such chat, or the
# account is gone), not that this one message was wrong.
UNREACHABLE_SIGNS: Final = ("chat not found", "user is deactivated", "peer_id_invalid",
                            "user not found")

# The commands shown in Telegram's "/" menu, described by labels `command_<name>`.
MENU_COMMANDS: Final = ("mulai", "kembali", "bantuan", "batal")


class TelegramNotConfigured(NotConfigured):
    """A setting the Telegram channel needs is missing or malformed (token, webhook)."""


def use_timedelta_periods() -> None:
    """Opt in to PTB's `datetime.timedelta` time periods (PTB_TIMEDELTA).

    PTB 22 warns (PTBDeprecationWarning) whenever a time period such as
    `RetryAfter.retry_after` is read as an int, even while building the error. Opting in is
    PTB's documented way out; our code reads periods through `_seconds`, which takes both.
    """
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def _seconds(period: int | float | timedelta) -> float:
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


def _secret(value: SecretStr | None) -> str | None:
    """A secret setting, with an empty one (`NAME=` as in .env.example) taken as unset."""
    return value.get_secret_value() if value is not None else None


def telegram_configured(settings: Settings) -> bool:
    """Whether a bot token is given (an empty `TELEGRAM_BOT_TOKEN=` is none)."""
    return _secret(settings.telegram_bot_token) is not None


def _token(settings: Settings) -> str:
    token = _secret(settings.telegram_bot_token)
    if token is None:
        raise TelegramNotConfigured(["TELEGRAM_BOT_TOKEN"])
    return token


def build_application(
    settings: Settings, concurrent_updates: int = CONCURRENT_UPDATES
) -> Application[Any, Any, Any, Any, Any, Any]:
    """PTB's Application pointed at TELEGRAM_API_BASE_URL (the real API, a local Bot API
    server, or a test's fake) with concurrent updates."""
    use_timedelta_periods()
    base = settings.telegram_api_base_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(_token(settings))
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(concurrent_updates)
        .build()
    )


def _parse_mode(body: Mapping[str, Any]) -> str | None:
    return ParseMode.HTML if body.get("markup") == "html" else None


def caption_length(text: str, parse_mode: str | None) -> int:
    """The length Telegram counts for a caption: the text without its HTML tags, in UTF-16
    code units (an emoji counts two)."""
    if parse_mode == ParseMode.HTML:
        text = html.unescape(HTML_TAG.sub("", text))
    return len(text.encode("utf-16-le")) // 2


def _chat_id(value: str) -> int | str:
    """Telegram ids are integers; anything else ("@channel") is passed as is."""
    return int(value) if value.lstrip("-").isdigit() else value


def keyboard(
    body: Mapping[str, Any],
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The reply markup an outbox body asks for.

    Inline buttons come back as callback queries carrying their payload. A reply keyboard is
    what Telegram needs for "share my contact" (request_contact); note that a plain button of
    a reply keyboard comes back as its label's text, not its payload, so flows use reply
    keyboards for the contact button only.
    """
    rows = body.get("buttons") or []
    if rows and body.get("inline", True):
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(button["label"], callback_data=button["payload"])
                 for button in row]
                for row in rows
            ]
        )
    if rows:
        return ReplyKeyboardMarkup(
            [
                [KeyboardButton(button["label"], request_contact=bool(button.get("contact")))
                 for button in row]
                for row in rows
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if body.get("remove_keyboard"):
        return ReplyKeyboardRemove()
    return None


class TelegramTransport:
    """Translates between Telegram and the dispatcher; holds no conversation state."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot) -> None:
        use_timedelta_periods()
        self._bot = bot
        # Known after the bot is initialised (getMe); used to ignore "/cmd@other_bot".
        self.username: str | None = None

    # -- delivery ------------------------------------------------------------------------

    async def send(self, chat_id: str, body: dict[str, Any]) -> str | None:
        """Send one rendered message; errors are mapped once, here, for the sender.

        A body with an "attachment" (the sender adds it for an "image") goes as a photo with
        the text as its caption; a text too long for a caption follows the photo as a
        message of its own. The id returned is the message's, or "photo id,text id"."""
        try:
            attachment = body.get("attachment")
            if isinstance(attachment, Mapping):
                return await self._send_photo(_chat_id(chat_id), body, attachment)
            message = await self._send_text(_chat_id(chat_id), body)
        except RetryAfter as error:
            seconds = _seconds(error.retry_after)
            raise TransientSendError(f"flood control, retry in {seconds:g} s",
                                     retry_after=seconds) from error
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
        return str(message.message_id)

    async def _send_text(self, chat_id: int | str, body: Mapping[str, Any]) -> Message:
        return await self._bot.send_message(
            chat_id=chat_id,
            text=body["text"],
            parse_mode=_parse_mode(body),
            reply_markup=keyboard(body),
        )

    async def _send_photo(self, chat_id: int | str, body: Mapping[str, Any],
                          attachment: Mapping[str, Any]) -> str:
        text = str(body.get("text") or "")
        fits = caption_length(text, _parse_mode(body)) <= MAX_CAPTION
        photo = await self._bot.send_photo(
            chat_id=chat_id,
            photo=InputFile(bytes(attachment["data"]),
                            filename=str(attachment.get("filename") or "gambar.png")),
            caption=text if text and fits else None,
            parse_mode=_parse_mode(body) if text and fits else None,
            reply_markup=keyboard(body) if fits else None,
        )
        if fits or not text.strip():
            return str(photo.message_id)
        message = await self._send_text(chat_id, body)
        return f"{photo.message_id},{message.message_id}"

    # -- reception -----------------------------------------------------------------------

    def to_incoming(self, update: Update) -> Incoming | None:
        """The update as the dispatcher sees it, or None when no flow should see it."""
        if update.callback_query is not None:
            return self._button(update)
        message = update.message
        if message is None:  # edited message, channel post, membership change, poll ...
            return None
        user = message.from_user
        chat_type = CHAT_TYPES.get(message.chat.type)
        if user is None or chat_type is None:
            return None
        fields: dict[str, Any] = {
            "channel": Channel.TELEGRAM,
            "chat_id": str(message.chat.id),
            "user_id": str(user.id),
            "chat_type": chat_type,
            "update_id": str(update.update_id),
            "message_id": str(message.message_id),
        }
        if message.text is not None:
            text = message.text
            if text.startswith("/"):
                if not self._addressed_to_me(text):
                    return None
                return Incoming(kind=Kind.COMMAND, text=text, **fields)
            return Incoming(kind=Kind.TEXT, text=text, **fields)
        if chat_type is not ChatType.PRIVATE:
            return None
        contact = message.contact
        if contact is not None:
            card = SharedContact(
                phone=contact.phone_number,
                user_id=str(contact.user_id) if contact.user_id else None,
            )
            return Incoming(kind=Kind.CONTACT, contact=card, **fields)
        return Incoming(kind=Kind.UNSUPPORTED, text=self._attachment(message), **fields)

    def _button(self, update: Update) -> Incoming | None:
        query = update.callback_query
        assert query is not None
        message = query.message  # None for buttons under inline-mode messages (unused)
        if message is None or query.data is None:
            return None
        chat_type = CHAT_TYPES.get(message.chat.type)
        if chat_type is None:
            return None
        return Incoming(
            channel=Channel.TELEGRAM,
            chat_id=str(message.chat.id),
            user_id=str(query.from_user.id),
            kind=Kind.BUTTON,
            chat_type=chat_type,
            payload=query.data,
            update_id=str(update.update_id),
            message_id=str(message.message_id),
        )

    def _addressed_to_me(self, text: str) -> bool:
        """In groups "/start@other_bot" is meant for another bot."""
        word = text.split(maxsplit=1)[0] if text.strip() else text
        _, at, name = word.partition("@")
        if not at or self.username is None:
            return True
        return name.lower() == self.username.lower()

    @staticmethod
    def _attachment(message: Message) -> str:
        """What kind of thing was sent ("sticker", "photo" ...): safe to log, not content."""
        for name in ATTACHMENTS:
            if getattr(message, name, None):
                return name
        return "other"

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


class TelegramBot:
    """The Telegram channel running in this process: PTB application, transport, sender.

    `start()` registers the transport with the application (so the sender can deliver on
    Telegram), starts long polling unless told otherwise, and runs the outbox sender as a
    background task; `stop()` undoes all of it in order. Tests start and stop it in-process.
    """

    def __init__(self, app: App, concurrent_updates: int = CONCURRENT_UPDATES,
                 poll_timeout: float = 10, sender_poll_seconds: float = 1.0) -> None:
        self.app = app
        self.bot_id = bot_id_from_token(_token(app.settings))
        self.application = build_application(app.settings, concurrent_updates)
        self.transport = TelegramTransport(self.application.bot)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self._poll_timeout = poll_timeout
        self._sender_poll_seconds = sender_poll_seconds
        self._sender_stop = asyncio.Event()
        self._sender_task: asyncio.Task[None] | None = None
        self._initialized = False

    async def initialize(self) -> None:
        """Ask Telegram who we are (getMe) and register the transport with the app."""
        if self._initialized:
            return
        await self.application.initialize()
        self._initialized = True
        self.transport.username = self.application.bot.username
        self.app.add_transport(self.transport, bot_id=self.bot_id)

    async def start(self, polling: bool = True) -> None:
        """Start the sender and, unless `polling` is False (webhook mode), long polling."""
        await self.initialize()
        await self.publish_commands()
        self._sender_stop.clear()
        self._sender_task = asyncio.create_task(
            self.app.run_background(self._sender_stop, poll_seconds=self._sender_poll_seconds),
            name="telegram-background-work",
        )
        if polling:
            await self.application.start()
            updater = self.application.updater
            assert updater is not None  # the builder always makes one unless told not to
            await updater.start_polling(
                timeout=timedelta(seconds=self._poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
            )
            log.info("telegram: polling for updates as bot %s", self.bot_id)

    async def stop(self) -> None:
        """Stop fetching, finish the updates already fetched, stop the sender, close.

        PTB's Updater confirms the fetched updates to Telegram on stop; a crash instead
        (SIGKILL) leaves unconfirmed ones to be fetched again, and the dispatcher drops those
        it already processed.
        """
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        if self._sender_task is not None:
            self._sender_stop.set()
            await self._sender_task
            self._sender_task = None
        if self._initialized:
            await self.application.shutdown()
            self._initialized = False

    async def process(self, update: Update) -> bool:
        """One update, polled or pushed by webhook: translate, dispatch, acknowledge.

        The dispatcher runs before the callback query is answered: it takes the
        conversation's lock before its first real wait, so updates of one chat keep their
        order even when PTB runs several updates at once. False when nothing was done (an
        ignored kind of update, or a duplicate).
        """
        incoming = self.transport.to_incoming(update)
        handled = False
        if incoming is not None:
            handled = await self.app.dispatcher.handle(incoming)
        await self.transport.acknowledge(update)
        return handled

    async def set_webhook(self) -> str:
        """Point Telegram at TELEGRAM_WEBHOOK_URL with the secret token; the URL's host.

        The secret is required: without it anyone who learns the URL could post a forged
        update, e.g. a contact card "of their own" that proves someone else's phone.
        """
        settings = self.app.settings
        if not settings.telegram_webhook_url:
            raise TelegramNotConfigured(["TELEGRAM_WEBHOOK_URL"])
        secret = _secret(settings.telegram_webhook_secret)
        if secret is None:
            raise TelegramNotConfigured(["TELEGRAM_WEBHOOK_SECRET"])
        await self.initialize()
        await self.application.bot.set_webhook(
            url=settings.telegram_webhook_url,
            secret_token=secret,
            allowed_updates=list(ALLOWED_UPDATES),
        )
        return urlsplit(settings.telegram_webhook_url).netloc

    async def publish_commands(self) -> None:
        """Fill Telegram's "/" menu from the labels `command_<name>`."""
        commands = [(name, self.app.renderer.label(f"command_{name}")) for name in MENU_COMMANDS]
        try:
            await self.application.bot.set_my_commands(commands)
        except TelegramError as error:
            log.warning("telegram: setting the command menu failed: %s", type(error).__name__)

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            await self.process(update)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Only the database being down gets here (the dispatcher apologises for the rest).
        The update is not logged: it carries personal data."""
        kind = type(update).__name__
        log.error("telegram: processing an update (%s) failed", kind, exc_info=context.error)


async def process_webhook_update(bot: TelegramBot, data: dict[str, Any]) -> bool:
    """One webhook body (Telegram's JSON) processed exactly as a polled update.

    Answer Telegram only after this returns, or after storing the update durably as
    bot/web.py's inbox does: an exception means the update is not committed, a non-2xx
    answer makes Telegram send it again, and the dispatcher drops an update it has already
    processed.
    """
    update = Update.de_json(data, bot.application.bot)
    return await bot.process(update)


def webhook_secret_ok(settings: Settings, header: str | None) -> bool:
    """Whether X-Telegram-Bot-Api-Secret-Token matches TELEGRAM_WEBHOOK_SECRET (a plain
    function over the header, testable without a server). No secret configured: False."""
    secret = _secret(settings.telegram_webhook_secret)
    if secret is None:
        return False
    return header is not None and hmac.compare_digest(header.encode(), secret.encode())


def keep_token_out_of_logs() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the bot token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)


async def run_telegram(app: App, webhook: bool) -> None:
    """`asn-peduli run`: long polling until SIGINT/SIGTERM, or set the webhook and return.

    In webhook mode Telegram pushes updates to TELEGRAM_WEBHOOK_URL; receiving them (and
    calling `process_webhook_update`) is the web server's job (`asn-peduli serve`), not this
    command's, so after setting the webhook this command only says so and ends.
    """
    keep_token_out_of_logs()
    bot = TelegramBot(app)
    if webhook:
        try:
            host = await bot.set_webhook()
        finally:
            await bot.stop()
        log.info(
            "telegram: webhook set to %s; updates now go to the web server "
            "(`asn-peduli serve`), which receives them and sends replies. Polling is off until "
            "`asn-peduli run` is started without --webhook.", host,
        )
        return

    stop = asyncio.Event()
    with on_stop_signals(stop.set):
        try:
            await bot.start(polling=True)
            await stop.wait()
            log.info("telegram: stopping")
        finally:
            await bot.stop()
