"""The Telegram channel over python-telegram-bot: updates in, outbox bodies out.

`TelegramTransport` turns a `telegram.Update` into a frozen `Incoming` and an outbox body
into a `sendMessage` call (`sendPhoto` with an attachment), mapping Telegram's errors once
into `TransientSendError` / `PermanentSendError` / `RecipientUnreachable` (blocked,
deactivated, no such chat). `TelegramBot` runs it in-process: `Polling` fetches updates
(long polling on PTB's `Bot.get_updates`) and hands each to `TelegramBot.process`, which
calls the dispatcher; the outbox sender runs beside it as a background task. Webhook mode
uses the same `process` through `process_webhook_update`, for the web server to call.
`asn-peduli worker` uses only the sending half (bot/worker.py).

Long polling confirms an update to Telegram (by asking for the updates after it) only once
the dispatcher has committed it and every earlier update of its batch: a crash or a database
outage leaves it with Telegram, which delivers it again, and the dispatcher drops the copies
of those it had already committed. PTB's own Updater confirmed a batch as soon as it fetched
the next one, before processing had finished, so it is not used. What goes wrong and what
then happens:

- the database does not answer (`bot.unavailable.database_unavailable`): the user is told so
  once per 5 minutes (`Apologies`), nothing is confirmed from that update on, and the batch
  is fetched again after a growing wait (up to 30 s) until the database is back.
- getUpdates fails: 429 waits the retry_after Telegram asks for; timeouts, 5xx, connection
  resets and every other error wait a growing, jittered time (up to 30 s). The loop never
  stops on its own.
- SIGTERM: the batch in hand is finished and confirmed with one last getUpdates
  (offset past it, timeout 0); a long poll in progress is abandoned.

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
import contextlib
import hmac
import html
import logging
import os
import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from telegram.ext import Application, ApplicationBuilder

from bot.app import App, on_stop_signals
from bot.invitations import telegram_link
from bot.logs import hold_libraries_at_their_floors
from bot.settings import NotConfigured, Settings
from bot.transport import PermanentSendError, RecipientUnreachable, TransientSendError
from bot.unavailable import Apologies, database_unavailable, error_summary
from bot.waits import first_of
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

# Updates handled at the same time. Polling runs one chat's updates one after the other, so
# this bounds how many conversations move at once; keep it below the database pool.
CONCURRENT_UPDATES: Final = 16
# Seconds a Bot API answer may take before the call counts as failed (PTB's default); a long
# poll adds its own timeout to it.
READ_TIMEOUT: Final = 5.0
# The waits between failed getUpdates calls, or fetching a batch again while the database is
# down: from FIRST_RETRY doubling up to MAX_RETRY seconds, each drawn from its upper half.
FIRST_RETRY: Final = 0.5
MAX_RETRY: Final = 30.0
# An update whose processing failed for another reason than the database being down (a bug
# the dispatcher's apology could not catch) is tried this often, then left behind and logged:
# one poisoned update must not hold up everyone's after it.
MAX_UPDATE_ATTEMPTS: Final = 3

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
    settings: Settings, read_timeout: float = READ_TIMEOUT
) -> Application[Any, Any, Any, Any, Any, Any]:
    """PTB's Application pointed at TELEGRAM_API_BASE_URL (the real API, a local Bot API
    server, or a test's fake), without its Updater: `Polling` fetches the updates."""
    use_timedelta_periods()
    base = settings.telegram_api_base_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(_token(settings))
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .read_timeout(read_timeout)
        .get_updates_read_timeout(read_timeout)
        .updater(None)
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

    @property
    def chat_link(self) -> str | None:
        """The t.me link a camat's invitation carries, once getMe has told the username."""
        return telegram_link(self.username) if self.username else None

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
        # A confidential message (a NIK in full) cannot be forwarded or saved from the chat.
        protected = {"protect_content": True} if body.get("confidential") else {}
        return await self._bot.send_message(
            chat_id=chat_id,
            text=body["text"],
            parse_mode=_parse_mode(body),
            reply_markup=keyboard(body),
            **protected,
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


class Backoff:
    """Growing waits with jitter: FIRST_RETRY, doubling, at most `cap` seconds, each drawn
    from the upper half of its step so many bots do not retry in step."""

    def __init__(self, first: float = FIRST_RETRY, cap: float = MAX_RETRY) -> None:
        self._first = first
        self._cap = cap
        self._failures = 0

    def next(self) -> float:
        step = min(self._cap, self._first * 2 ** min(self._failures, 32))
        self._failures += 1
        return step * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._failures = 0


def _chat_of(update: Update) -> int:
    """What orders updates: one chat's go one after the other. An update without a chat
    (ignored kinds) stands alone."""
    chat = update.effective_chat
    return chat.id if chat is not None else -(2**62) - update.update_id


class Polling:
    """Long polling that confirms an update only after `handle` returned for it.

    `offset` is the next update to ask Telegram for; it moves past an update once it and
    every earlier update of its batch were handled. A batch's updates of different chats run
    concurrently (at most `concurrent` at once), one chat's in order; an update whose
    handling failed stops its chat's line, and the batch is fetched again from the first such
    update after a wait. `handle` raising an error that says the database is down is retried
    as long as that lasts; any other error at most MAX_UPDATE_ATTEMPTS times.
    """

    def __init__(self, bot: Bot, handle: Callable[[Update], Awaitable[object]],
                 timeout: float, concurrent: int = CONCURRENT_UPDATES,
                 max_retry: float = MAX_RETRY) -> None:
        self._bot = bot
        self._handle = handle
        self._timeout = timedelta(seconds=timeout)
        self._slots = asyncio.Semaphore(concurrent)
        self._fetch_backoff = Backoff(cap=max_retry)
        self._outage_backoff = Backoff(cap=max_retry)
        self._attempts: dict[int, int] = {}
        self.offset: int | None = None
        self._confirmed: int | None = None  # the offset Telegram last received

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; then confirm what was handled."""
        if await self._until_done(stop, self._delete_webhook):
            while not stop.is_set():
                updates = await self._fetch(stop)
                if updates and not await self._process(updates):
                    await first_of(stop, seconds=self._outage_backoff.next())
        await self._confirm()

    async def _delete_webhook(self) -> None:
        """getUpdates is refused while a webhook is set (`asn-peduli run --webhook`)."""
        await self._bot.delete_webhook()

    async def _until_done(self, stop: asyncio.Event,
                          call: Callable[[], Awaitable[None]]) -> bool:
        """Call until it succeeds (True) or `stop` is set (False), waiting between tries."""
        while not stop.is_set():
            try:
                await call()
            except Exception as error:
                await first_of(stop, seconds=self._retry_in(error))
            else:
                self._fetch_backoff.reset()
                return True
        return False

    async def _fetch(self, stop: asyncio.Event) -> Sequence[Update]:
        """One long poll, abandoned when `stop` is set; nothing when it failed."""
        fetch = asyncio.ensure_future(self._bot.get_updates(
            offset=self.offset, timeout=self._timeout, allowed_updates=list(ALLOWED_UPDATES)))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((fetch, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return ()
        error = fetch.exception()
        if error is not None:
            await first_of(stop, seconds=self._retry_in(error))
            return ()
        self._confirmed = self.offset
        self._fetch_backoff.reset()
        return fetch.result()

    def _retry_in(self, error: BaseException) -> float:
        """How long to wait after a failed Bot API call: what a 429 asks, else a backoff."""
        if isinstance(error, RetryAfter):
            seconds = _seconds(error.retry_after)
            log.warning("telegram: getUpdates throttled; retrying in %g s", seconds)
            return seconds
        delay = self._fetch_backoff.next()
        log.warning("telegram: calling the Bot API failed (%s); retrying in %.1f s",
                    type(error).__name__, delay)
        return delay

    async def _process(self, updates: Sequence[Update]) -> bool:
        """Handle a batch; move `offset` past what is done. False when some must come again."""
        lines: dict[int, list[Update]] = {}
        for update in sorted(updates, key=lambda update: update.update_id):
            lines.setdefault(_chat_of(update), []).append(update)
        failed: list[int] = []

        async def run_line(line: list[Update]) -> None:
            for update in line:
                async with self._slots:
                    done = await self._handle_one(update)
                if not done:
                    failed.append(update.update_id)
                    return

        await asyncio.gather(*(run_line(line) for line in lines.values()))
        last = max(update.update_id for update in updates)
        self.offset = min(failed) if failed else last + 1
        if not failed:
            self._outage_backoff.reset()
        return not failed

    async def _handle_one(self, update: Update) -> bool:
        """Whether the update is done with (handled, or given up on)."""
        try:
            await self._handle(update)
        except Exception as error:
            if database_unavailable(error):
                log.warning("telegram: the database does not answer (%s); update %s will be "
                            "fetched again", type(error).__name__, update.update_id)
                return False
            attempts = self._attempts.get(update.update_id, 0) + 1
            if attempts < MAX_UPDATE_ATTEMPTS:
                self._attempts[update.update_id] = attempts
                log.error("telegram: update %s failed (%s); it will be fetched again",
                          update.update_id, error_summary(error))
                return False
            log.error("telegram: update %s failed %d times (%s); left behind",
                      update.update_id, attempts, error_summary(error))
        self._attempts.pop(update.update_id, None)
        return True

    async def _confirm(self) -> None:
        """Tell Telegram the updates handled since the last fetch are done: one getUpdates
        with the next offset and no long poll. Failing, they come again on the next start
        and the dispatcher drops them as duplicates."""
        if self.offset is None or self.offset == self._confirmed:
            return
        try:
            await self._bot.get_updates(offset=self.offset, limit=1,
                                        timeout=timedelta(seconds=0),
                                        allowed_updates=list(ALLOWED_UPDATES))
            self._confirmed = self.offset
        except TelegramError as error:
            log.warning("telegram: confirming the last updates failed (%s); they will be "
                        "fetched again and dropped as duplicates", type(error).__name__)


class TelegramBot:
    """The Telegram channel running in this process: PTB application, transport, sender.

    `start()` registers the transport with the application (so the sender can deliver on
    Telegram), starts long polling (`Polling`) unless told otherwise, and runs the outbox
    sender as a background task; `stop()` undoes all of it in order. Tests start and stop it
    in-process. `apologies` tells users when the database is down (polling here, the
    webhook's inbox in bot/web.py).
    """

    def __init__(self, app: App, concurrent_updates: int = CONCURRENT_UPDATES,
                 poll_timeout: float = 10, sender_poll_seconds: float = 1.0,
                 read_timeout: float = READ_TIMEOUT, max_retry: float = MAX_RETRY) -> None:
        self.app = app
        self.bot_id = bot_id_from_token(_token(app.settings))
        self.application = build_application(app.settings, read_timeout)
        self.transport = TelegramTransport(self.application.bot)
        self.apologies = Apologies(app.renderer)
        self._polling = Polling(self.application.bot, self._handle_polled, poll_timeout,
                                concurrent_updates, max_retry)
        self._sender_poll_seconds = sender_poll_seconds
        self._sender_stop = asyncio.Event()
        self._sender_task: asyncio.Task[None] | None = None
        self._polling_stop = asyncio.Event()
        self._polling_task: asyncio.Task[None] | None = None
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
            self._polling_stop.clear()
            self._polling_task = asyncio.create_task(self._polling.run(self._polling_stop),
                                                     name="telegram-polling")
            log.info("telegram: polling for updates as bot %s", self.bot_id)

    async def stop(self) -> None:
        """Stop fetching, finish and confirm the updates in hand, stop the sender, close.

        A crash instead (SIGKILL) leaves the unconfirmed updates with Telegram to be fetched
        again, and the dispatcher drops those it already processed.
        """
        # Each step runs even when an earlier one raised (the exit stack raises it at the
        # end): a connection left open would leak into whatever runs next in the process.
        async with contextlib.AsyncExitStack() as steps:  # runs last pushed first
            if self._initialized:
                steps.push_async_callback(self._shutdown)
            if self._sender_task is not None:
                steps.push_async_callback(self._finish, self._sender_task, self._sender_stop)
                self._sender_task = None
            if self._polling_task is not None:
                steps.push_async_callback(self._finish, self._polling_task, self._polling_stop)
                self._polling_task = None

    @staticmethod
    async def _finish(task: asyncio.Task[None], stop: asyncio.Event) -> None:
        stop.set()
        await task

    async def _shutdown(self) -> None:
        self._initialized = False
        await self.application.shutdown()

    async def process(self, update: Update) -> bool:
        """One update, polled or pushed by webhook: translate, dispatch, acknowledge.

        The dispatcher runs before the callback query is answered, and raises when the
        database does not answer: the query then stays unanswered and the update
        unconfirmed, to come again. False when nothing was done (an ignored kind of update,
        or a duplicate).
        """
        incoming = self.transport.to_incoming(update)
        handled = False
        if incoming is not None:
            handled = await self.app.dispatcher.handle(incoming)
        await self.transport.acknowledge(update)
        return handled

    async def _handle_polled(self, update: Update) -> None:
        """`process`, telling the user when the database is down (Polling fetches the update
        again). The update itself is not logged: it carries personal data."""
        try:
            await self.process(update)
        except Exception as error:
            if database_unavailable(error):
                incoming = self.transport.to_incoming(update)
                if incoming is not None:
                    await self.apologies.tell(self.transport, incoming.chat_id)
            raise

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


async def run_telegram(app: App, webhook: bool) -> None:
    """`asn-peduli run`: long polling until SIGINT/SIGTERM, or set the webhook and return.

    In webhook mode Telegram pushes updates to TELEGRAM_WEBHOOK_URL; receiving them (and
    calling `process_webhook_update`) is the web server's job (`asn-peduli serve`), not this
    command's, so after setting the webhook this command only says so and ends.
    """
    # httpx logs request URLs (a Bot API URL holds the token), PTB call bodies at DEBUG.
    hold_libraries_at_their_floors()
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
