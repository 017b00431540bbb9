"""A fake Telegram Bot API server on 127.0.0.1, for end-to-end tests of the real PTB client.

It speaks the HTTP API the way python-telegram-bot uses it (form-encoded parameters whose
non-string values are JSON, `{"ok": ..., "result": ...}` answers, error codes and
`parameters.retry_after`), keeps a queue of updates served by long polling with Telegram's
offset semantics, and records every call so a test can check what the user saw.

Like Telegram it refuses what Telegram refuses: malformed HTML with parse_mode HTML, a text
over 4,096 characters or a caption over 1,024, callback data over 64 bytes, messages to a
chat that never wrote to the bot ("chat not found"), a blocked or deactivated user (403),
answering a callback query twice. A test can also plan faults for the next calls of a method
(`plan`): an error answer (429 with retry_after, 500 ...), an answer later than the client
waits (the call is then carried out all the same, as Telegram would), or a connection reset
without any answer (the call is not carried out); `fail_once` plans one error, `throttle`
refuses the next sends to one chat with 429.
Photos come as multipart uploads (sendPhoto), as PTB sends them; `chats()` makes chats known
without an update (a broadcast to 2,000 people who wrote to the bot before).

    async with FakeTelegram() as fake:
        settings = make_settings(url, telegram_bot_token=fake.token,
                                 telegram_api_base_url=fake.url)
        fake.push_command(1001, "start")
        [reply] = await fake.wait_for_messages(1001, 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from telegram import Bot

from tests.support.loopback import LoopbackServer, multipart_form, wait_until

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
# Parameters PTB sends JSON-encoded; the rest stay strings (so "0812..." stays a string).
JSON_PARAMS = frozenset({
    "reply_markup", "allowed_updates", "entities", "commands", "scope",
    "link_preview_options", "reply_parameters", "drop_pending_updates", "show_alert",
    "disable_notification", "protect_content",
})
INT_PARAMS = frozenset({"offset", "limit", "timeout", "message_id", "cache_time"})
# Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
})
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
# Where the ASGI wrapper leaves the connection's transport for a planned reset.
TRANSPORT_KEY = "fake_telegram.transport"


class TelegramApiError(Exception):
    """An error answer of the fake API (HTTP status, description, optional parameters)."""

    def __init__(self, status: int, description: str,
                 parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class _WithTransport:
    """An ASGI app with the connection's transport at hand for a planned reset (uvicorn's
    `send` is a method of the request cycle that holds it)."""

    def __init__(self, app: Starlette) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            scope[TRANSPORT_KEY] = transport
        await self._app(scope, receive, send)


class _Reset(Exception):
    """The planned connection reset happened: the call has no answer."""


@dataclass(frozen=True)
class Call:
    """One request the bot made: the method and its decoded parameters."""

    method: str
    params: dict[str, Any]
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass(frozen=True)
class SentMessage:
    """One accepted sendMessage (or sendPhoto: `photo` holds the bytes, `text` the caption),
    as the bot asked for it."""

    message_id: int
    chat_id: str
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    photo: bytes | None = None
    filename: str | None = None

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def reply_buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [button for row in rows for button in row]

    @property
    def labels(self) -> list[str]:
        return [button["text"] for button in self.inline_buttons + self.reply_buttons]

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))

    def callback_data(self, label: str) -> str:
        """The payload of the inline button with this label (exact, else by prefix)."""
        buttons = self.inline_buttons
        found = [b for b in buttons if b["text"] == label] or [
            b for b in buttons if b["text"].startswith(label)
        ]
        if not found:
            raise AssertionError(f"no inline button {label!r} in {[b['text'] for b in buttons]}")
        return str(found[0]["callback_data"])


@dataclass(frozen=True)
class Fault:
    """What one planned call gets instead of its normal answer: first a wait of `delay`
    seconds (the client may have given up by then), then a connection reset (`reset`: no
    answer at all, the call not carried out), an error answer (`status`), or, with neither,
    the normal answer: the call carried out late, as Telegram does after a client timeout."""

    status: int | None = None
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0
    reset: bool = False

    @classmethod
    def error(cls, status: int, description: str, retry_after: int | None = None) -> Fault:
        return cls(status=status, description=description, retry_after=retry_after)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls(delay=seconds)

    @classmethod
    def connection_reset(cls) -> Fault:
        return cls(reset=True)


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None


def check_html(text: str) -> None:
    """Raise like Telegram for text its HTML parse mode cannot parse."""
    stack: list[str] = []
    for match in TAG.finditer(text):
        closing, name = match.group(1), match.group(2).lower()
        if name not in HTML_TAGS:
            raise TelegramApiError(400, f"Bad Request: can't parse entities: Unsupported start "
                                        f"tag \"{name}\" at byte offset {match.start()}")
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            raise TelegramApiError(400, "Bad Request: can't parse entities: Unmatched end tag "
                                        f"at byte offset {match.start()}, expected \"{name}\"")
    if stack:
        raise TelegramApiError(400, "Bad Request: can't parse entities: Can't find end tag "
                                    f"corresponding to start tag \"{stack[-1]}\"")
    rest = TAG.sub("", text)
    if "<" in rest or ">" in rest:
        raise TelegramApiError(400, "Bad Request: can't parse entities: unescaped < or >")
    if "&" in ENTITY.sub("", rest):
        raise TelegramApiError(400, "Bad Request: can't parse entities: unsupported entity")


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text as the user reads it (Telegram returns it without tags)."""
    if parse_mode and parse_mode.upper() == "HTML":
        return html.unescape(TAG.sub("", text))
    return text


class FakeTelegram:
    """The fake Bot API: start it, point the bot at `url`, push updates, read what was sent."""

    def __init__(self, token: str = "123456:TEST", username: str = "asn_peduli_test_bot",
                 first_update_id: int = 500_000) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.calls: list[Call] = []
        self.sent: list[SentMessage] = []
        self.rejected: list[tuple[Call, str]] = []
        self.webhook: dict[str, Any] = {}
        self.commands: list[dict[str, Any]] = []
        self.blocked: set[str] = set()
        self.deactivated: set[str] = set()
        self._throttled: dict[str, list[int]] = {}  # chat id -> retry_after of its next sends
        self._updates: list[dict[str, Any]] = []
        self._history: dict[int, dict[str, Any]] = {}  # every update ever pushed, by id
        self._redeliveries: list[dict[str, Any]] = []
        self._confirmed = 0  # every update below this id was confirmed by an offset
        self._next_update_id = first_update_id
        self._next_message_id = 1
        self._next_query_id = 1
        self._chats: dict[str, _Chat] = {}
        self._messages: dict[tuple[str, int], dict[str, Any]] = {}
        self._queries: dict[str, bool] = {}  # callback query id -> answered
        self._faults: dict[str, list[Fault]] = {}
        self.faulted: list[tuple[Call, Fault]] = []  # every planned fault served, in order
        self.batches: list[list[int]] = []  # the update ids of each non-empty getUpdates
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._http = LoopbackServer(_WithTransport(Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
        ])), "the fake Telegram server")
        self.url = ""

    # -- server lifecycle ----------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        """Serve on a free port of 127.0.0.1."""
        await self._http.start()
        self.url = self._http.url
        return self

    async def stop(self) -> None:
        self._closing.set()  # long polls in progress answer at once
        self._wake()
        await self._http.stop()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- what a test does ----------------------------------------------------------------

    def user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"Pengguna {user_id}",
                "language_code": "id"}

    def push(self, update: dict[str, Any]) -> int:
        """Queue a raw update (its update_id is assigned); the id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._history[update_id] = {"update_id": update_id, **update}
        self._updates.append(self._history[update_id])
        self._wake()
        return update_id

    def redeliver(self, update_id: int) -> None:
        """Serve an update again, whatever the offset: what Telegram does after a crash."""
        self._redeliveries.append(dict(self._history[update_id]))
        self._wake()

    def push_message(self, user: int, chat: _Chat | None = None, **content: Any) -> int:
        chat = chat or _Chat(id=user, type="private")
        self._chats[str(chat.id)] = chat
        message = {
            "message_id": self._new_message_id(),
            "date": int(time.time()),
            "chat": self._chat_json(chat),
            "from": self.user(user),
            **content,
        }
        return self.push({"message": message})

    def push_text(self, user: int, text: str, chat: _Chat | None = None) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            word = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(word)}]
        return self.push_message(user, chat, **content)

    def push_command(self, user: int, command: str, args: str = "",
                     chat: _Chat | None = None) -> int:
        return self.push_text(user, f"/{command}" + (f" {args}" if args else ""), chat)

    def push_contact(self, user: int, phone: str, owner_id: int | None) -> int:
        """A contact card; the user's own when `owner_id == user` (the request_contact
        button), someone else's from the address book otherwise (None: not on Telegram)."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": "Kontak"}
        if owner_id is not None:
            contact["user_id"] = owner_id
        return self.push_message(user, contact=contact)

    def push_sticker(self, user: int) -> int:
        return self.push_message(user, sticker={
            "file_id": "CAACAgIAAxkBAAIBsticker", "file_unique_id": "AgADsticker",
            "type": "regular", "width": 512, "height": 512, "is_animated": False,
            "is_video": False, "emoji": "👍",
        })

    def push_photo(self, user: int) -> int:
        return self.push_message(user, photo=[{
            "file_id": "AgACAgIAAxkBAAIBphoto", "file_unique_id": "AQADphoto",
            "width": 90, "height": 90, "file_size": 1234,
        }])

    def push_callback(self, user: int, message_id: int, data: str) -> int:
        """A press of an inline button under message `message_id` of the user's chat."""
        chat_id = str(user)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise AssertionError(f"no message {message_id} in chat {chat_id}")
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        self._queries[query_id] = False
        return self.push({"callback_query": {
            "id": query_id, "from": self.user(user), "message": dict(message),
            "chat_instance": f"ci-{chat_id}", "data": data,
        }})

    def press(self, message: SentMessage, label: str) -> int:
        """Press the inline button `label` of a message the user received."""
        return self.push_callback(int(message.chat_id), message.message_id,
                                  message.callback_data(label))

    def plan(self, method: str, *faults: Fault) -> None:
        """The next calls of `method` meet these faults, one each, in order (after faults
        already planned for it)."""
        self._faults.setdefault(method, []).extend(faults)

    def fail_once(self, method: str, status: int, description: str,
                  retry_after: int | None = None) -> None:
        """Make the next call of `method` fail (429 with retry_after, 403, 500 ...)."""
        self.plan(method, Fault.error(status, description, retry_after))

    def faults_left(self, method: str) -> int:
        """Planned faults of `method` not yet served."""
        return len(self._faults.get(method, []))

    def block(self, user: int) -> None:
        """The user blocks the bot: every later message to them is refused with 403."""
        self.blocked.add(str(user))

    def deactivate(self, user: int) -> None:
        """The user deleted their account: 403 "user is deactivated" from now on."""
        self.deactivated.add(str(user))

    def throttle(self, chat_id: int | str, retry_after: int, times: int = 1) -> None:
        """The next `times` sends to this chat get 429 with this retry_after."""
        self._throttled.setdefault(str(chat_id), []).extend([retry_after] * times)

    def chats(self, chat_ids: Iterable[int | str], kind: str = "private") -> None:
        """Make chats known (as if each had written to the bot once) without an update."""
        for chat_id in chat_ids:
            self._chats[str(chat_id)] = _Chat(id=int(chat_id), type=kind)

    def messages(self, chat_id: int | str) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == str(chat_id)]

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def last_keyboard(self, chat_id: int | str) -> dict[str, Any] | None:
        """The reply markup of the latest message to this chat that had one."""
        for message in reversed(self.messages(chat_id)):
            if message.reply_markup is not None:
                return message.reply_markup
        return None

    def current_markup(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """The inline keyboard a message has now (after edits)."""
        message = self._messages.get((str(chat_id), message_id))
        return None if message is None else message.get("reply_markup")

    @property
    def confirmed_offset(self) -> int:
        return self._confirmed

    async def wait_for_messages(self, chat_id: int | str, n: int,
                                within: float = 10.0) -> list[SentMessage]:
        """All messages sent to the chat, once there are at least `n` (at most `within`
        seconds; an AssertionError shows what was sent instead)."""
        await wait_until(
            lambda: len(self.messages(chat_id)) >= n, within,
            lambda: (f"expected {n} messages to {chat_id}, got "
                     f"{[m.text[:60] for m in self.messages(chat_id)]}; "
                     f"rejected: {[r[1] for r in self.rejected]}"))
        return self.messages(chat_id)

    async def wait_for_call(self, method: str, n: int = 1, within: float = 10.0) -> list[Call]:
        await wait_until(lambda: len(self.calls_of(method)) >= n, within,
                         lambda: f"expected {n} calls of {method}")
        return self.calls_of(method)

    async def wait_until_confirmed(self, update_id: int, within: float = 10.0) -> None:
        """Until the bot has confirmed (by its getUpdates offset) the update `update_id`."""
        await wait_until(lambda: self._confirmed > update_id, within,
                         lambda: f"update {update_id} not confirmed")

    def bot(self) -> Bot:
        """A python-telegram-bot `Bot` pointed at this fake (use it as `async with`)."""
        return Bot(self.token, base_url=f"{self.url}/bot",
                   base_file_url=f"{self.url}/file/bot")

    # -- the HTTP API --------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = await self._params(request)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        if request.path_params["token"] != self.token:
            return self._error(TelegramApiError(401, "Unauthorized"))
        try:
            faults = self._faults.get(method)
            if faults:
                fault = faults.pop(0)
                self.faulted.append((call, fault))
                await self._meet(fault, request)
            handler = getattr(self, f"_api_{_snake(method)}", None)
            if handler is None:
                raise TelegramApiError(404, "Not Found")
            result = await handler(params)
        except TelegramApiError as error:
            self.rejected.append((call, error.description))
            return self._error(error)
        except _Reset:
            return JSONResponse(None, status_code=500)  # written to no one
        return JSONResponse({"ok": True, "result": result})

    async def _meet(self, fault: Fault, request: Request) -> None:
        """Wait, then reset the connection or raise the planned error; else return, and the
        call is carried out."""
        if fault.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=fault.delay)
        if fault.reset:
            transport = request.scope[TRANSPORT_KEY]
            # Linger 0: closing sends RST, the client reads "connection reset by peer".
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            await asyncio.sleep(0)  # uvicorn learns the connection is lost: nothing is sent
            raise _Reset
        if fault.status is not None:
            parameters = ({"retry_after": fault.retry_after}
                          if fault.retry_after is not None else None)
            raise TelegramApiError(fault.status, fault.description, parameters)

    @staticmethod
    def _error(error: TelegramApiError) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": error.status,
                                "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return JSONResponse(body, status_code=error.status)

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if body and content_type.startswith("application/json"):
            raw.update(json.loads(body))
            return raw
        if body and content_type.startswith("multipart/form-data"):
            raw.update(_multipart(content_type, body))
        elif body:
            raw.update(parse_qsl(body.decode(), keep_blank_values=True))
        decoded: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str) and name in JSON_PARAMS:
                value = json.loads(value)
            elif isinstance(value, str) and name in INT_PARAMS:
                value = int(value)
            decoded[name] = value
        return decoded

    async def _api_get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "ASN Peduli",
                "username": self.username, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _api_get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise TelegramApiError(409, "Conflict: can't use getUpdates method while webhook "
                                        "is active; use deleteWebhook to delete the webhook "
                                        "first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset > 0:
            self._confirmed = max(self._confirmed, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= self._confirmed]
        deadline = time.monotonic() + timeout
        while True:
            ready = self._ready(limit)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing.is_set():
                if ready:
                    self.batches.append([update["update_id"] for update in ready])
                return ready
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=remaining)

    def _ready(self, limit: int) -> list[dict[str, Any]]:
        if self._redeliveries:
            ready, self._redeliveries = self._redeliveries[:limit], self._redeliveries[limit:]
            return ready
        return [u for u in self._updates if u["update_id"] >= self._confirmed][:limit]

    async def _api_delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._confirmed = self._next_update_id
            self._updates.clear()
        return True

    async def _api_set_webhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise TelegramApiError(400, "Bad Request: bad webhook: HTTPS url must be provided "
                                        "for webhook")
        self.webhook = dict(params)
        return True

    async def _api_get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._ready(100))}

    async def _api_set_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _check_recipient(self, chat_id: str) -> None:
        throttled = self._throttled.get(chat_id)
        if throttled:
            retry_after = throttled.pop(0)
            raise TelegramApiError(429, f"Too Many Requests: retry after {retry_after}",
                                   {"retry_after": retry_after})
        if chat_id in self.blocked:
            raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.deactivated:
            raise TelegramApiError(403, "Forbidden: user is deactivated")
        if chat_id not in self._chats:
            raise TelegramApiError(400, "Bad Request: chat not found")

    async def _api_send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = str(params.get("chat_id", ""))
        caption = str(params.get("caption") or "")
        parse_mode = params.get("parse_mode")
        markup = params.get("reply_markup")
        photo = params.get("photo")
        self._check_recipient(chat_id)
        if not isinstance(photo, _Upload) or not photo.data:
            raise TelegramApiError(400, "Bad Request: there is no photo in the request")
        if caption and parse_mode and str(parse_mode).upper() == "HTML":
            check_html(caption)
        if len(plain_text(caption, parse_mode)) > MAX_CAPTION:
            raise TelegramApiError(400, "Bad Request: message caption is too long")
        self._check_markup(markup)
        message = self._store(chat_id, markup, {
            "photo": [{"file_id": f"photo-{len(self.sent) + 1}", "file_unique_id": "uq",
                       "width": 800, "height": 600, "file_size": len(photo.data)}],
            **({"caption": plain_text(caption, parse_mode)} if caption else {}),
        })
        self.sent.append(SentMessage(message["message_id"], chat_id, caption, parse_mode,
                                     markup, photo=photo.data, filename=photo.filename))
        return message

    def _store(self, chat_id: str, markup: dict[str, Any] | None,
               content: dict[str, Any]) -> dict[str, Any]:
        """A new message from the bot in this chat, as Telegram returns it."""
        message_id = self._new_message_id()
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat_json(self._chats[chat_id]),
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "ASN Peduli",
                     "username": self.username},
            **content,
        }
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes only inline keyboards
        self._messages[(chat_id, message_id)] = message
        return message

    async def _api_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = str(params.get("chat_id", ""))
        text = str(params.get("text", ""))
        parse_mode = params.get("parse_mode")
        markup = params.get("reply_markup")
        self._check_recipient(chat_id)
        if not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if parse_mode and str(parse_mode).upper() == "HTML":
            check_html(text)
        if len(plain_text(text, parse_mode)) > MAX_TEXT:
            raise TelegramApiError(400, "Bad Request: message is too long")
        self._check_markup(markup)
        message = self._store(chat_id, markup, {"text": plain_text(text, parse_mode)})
        self.sent.append(SentMessage(message["message_id"], chat_id, text, parse_mode, markup))
        return message

    async def _api_answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if self._queries.get(query_id, True):
            raise TelegramApiError(400, "Bad Request: query is too old and response timeout "
                                        "expired or query ID is invalid")
        self._queries[query_id] = True
        return True

    async def _api_edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        markup = params.get("reply_markup") or None
        if markup == message.get("reply_markup"):
            raise TelegramApiError(400, "Bad Request: message is not modified: specified new "
                                        "message content and reply markup are exactly the "
                                        "same as a current content and reply markup of the "
                                        "message")
        self._check_markup(markup)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        parse_mode = params.get("parse_mode")
        text = str(params.get("text", ""))
        if parse_mode and str(parse_mode).upper() == "HTML":
            check_html(text)
        message["text"] = plain_text(text, parse_mode)
        markup = params.get("reply_markup")
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    # -- helpers -------------------------------------------------------------------------

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("chat_id")), int(params.get("message_id") or 0))
        message = self._messages.get(key)
        if message is None:
            raise TelegramApiError(400, "Bad Request: message to edit not found")
        return message

    @staticmethod
    def _check_markup(markup: dict[str, Any] | None) -> None:
        rows = (markup or {}).get("inline_keyboard", [])
        for button in (button for row in rows for button in row):
            data = button.get("callback_data", "")
            if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise TelegramApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _new_message_id(self) -> int:
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    @staticmethod
    def _chat_json(chat: _Chat) -> dict[str, Any]:
        if chat.type == "private":
            return {"id": chat.id, "type": "private", "first_name": f"Pengguna {chat.id}"}
        return {"id": chat.id, "type": chat.type, "title": chat.title or "Grup"}

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


@dataclass(frozen=True)
class _Upload:
    """A file part of a multipart request."""

    filename: str | None
    data: bytes


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """The fields of a multipart/form-data body: text as str, files as `_Upload`."""
    return {
        name: _Upload(part.filename, part.data)
        if part.filename is not None or part.content_type != "text/plain"
        else part.data.decode(part.charset or "utf-8")
        for name, part in multipart_form(content_type, body).items()
    }


def group(chat_id: int, title: str = "Grup OPD", supergroup: bool = True) -> _Chat:
    """A group chat for `push_text(..., chat=group(-100...))`."""
    return _Chat(id=chat_id, type="supergroup" if supergroup else "group", title=title)


def _snake(method: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", method).lower()
