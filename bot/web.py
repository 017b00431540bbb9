"""The web server of `asn-peduli serve`: the Telegram and WhatsApp webhooks and a health check.

    POST /telegram/webhook   X-Telegram-Bot-Api-Secret-Token must equal TELEGRAM_WEBHOOK_SECRET
    GET  /whatsapp/webhook   Meta's verification: hub.verify_token must equal WHATSAPP_VERIFY_TOKEN
    POST /whatsapp/webhook   X-Hub-Signature-256 must be the HMAC-SHA256 of the body (app secret)
    GET  /health             the database answers; inbox backlog

A delivery is checked in this order, and refused before anything of it is kept: the channel
is configured (else 404), the Telegram secret is there and right (401 missing, 403 wrong), the
body is at most WEB_MAX_BODY_BYTES (413, counted while reading, before any parsing), the
WhatsApp signature is there and right (401 / 403; secrets and signatures are compared in
constant time), the body is JSON of the platform's outline nested at most MAX_JSON_DEPTH levels
(400). A WhatsApp body with nothing for our number (another number of the app, an account
notice) is answered 200 and dropped.

Slow or greedy clients cannot tie the server up (`LimitedH11Protocol`): a request must arrive
whole, headers and body, within WEB_REQUEST_TIMEOUT_SECONDS, else its connection is closed;
and at most WEB_MAX_CONNECTIONS connections are open at once, one more is closed as soon as it
is accepted.

An accepted delivery is written, encrypted, to the inbox table and answered 200 at once; the
inbox worker (a background task) dispatches it and deletes it. The platform is thus answered
in milliseconds whatever the flow costs, and a crash after the answer loses nothing: the row
is dispatched at the next start. The dispatcher drops a message it has processed before (the
Telegram update id, the WhatsApp message id), so a redelivered or replayed webhook changes
nothing. Deliveries of one chat are dispatched in the order they arrived, also when several
servers share one PostgreSQL inbox (the inbox claims per chat); other chats move on beside
them. When the database does not answer, a delivery is answered 503 (the platform sends it
again later; nothing was confirmed) and its user hears once in a while that the message
will be processed; the inbox worker waits and goes on when the database is back.

The process also runs the outbox sender (`App.run_background`), so replies leave from here;
`asn-peduli worker` processes may share that work. SIGINT/SIGTERM stop it cleanly: no new
requests, the requests in flight and the inbox batch in hand are finished, the sender stops,
the connections close, exit code 0. Logs carry no personal data and no query strings (the
verification request carries the verify token in its query): uvicorn's access log is off and
refusals are logged by reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Generator, Iterable, Mapping
from datetime import timedelta
from typing import Any, ClassVar, Protocol

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.app import App, on_stop_signals
from bot.dispatcher import numeric_id
from bot.logs import hold_libraries_at_their_floors
from bot.settings import NotConfigured
from bot.telegram.api import telegram_configured
from bot.telegram.channel import TelegramBot
from bot.telegram.webhook import process_webhook_update, webhook_secret_ok
from bot.transport import Transport
from bot.unavailable import Apologies, database_unavailable, error_summary
from bot.waits import first_of
from bot.whatsapp.api import whatsapp_configured
from bot.whatsapp.transport import WhatsAppTransport
from bot.whatsapp.webhook import SIGNATURE_HEADER, is_webhook_body, signature_ok, verify_token_ok
from storage.delivery import SqlDelivery
from storage.inbox import InboxItem, SqlInbox

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
INBOX_BATCH = 50
# Chats dispatched at once, on PostgreSQL (keep it below the database pool). SQLite takes one
# writer at a time: more than one dispatch at once only queues in its busy handler, which
# halved the throughput when measured (38 instead of 70 updates/s), so there it is one.
INBOX_CONCURRENCY = 16
INBOX_MAX_ATTEMPTS = 10
INBOX_HOLD = timedelta(minutes=2)
# What a claimed delivery that was not handled, through no fault of its own, is marked with:
# it is released, no attempt counted.
WAITING = "WaitingForEarlierDelivery"
UNAVAILABLE = "DatabaseUnavailable"
MAX_RETRY_DELAY = timedelta(minutes=5)
# How long storing a delivery may take before the database counts as not answering (a
# connection attempt to a host that does not answer would otherwise wait a minute).
KEEP_SECONDS = 10.0
# How deep a webhook body may nest. The platforms' bodies nest about 10 levels; 1,000 make
# the JSON parser (and anything else recursing over the body: PTB's de_json, the inbox's
# encoding) raise RecursionError, so a deeper body is refused before anything recurses over it.
MAX_JSON_DEPTH = 32


class ServeNotConfigured(NotConfigured):
    """The server has no channel to serve, or a channel's settings are incomplete."""


class BodyTooLarge(Exception):
    """The request body is larger than WEB_MAX_BODY_BYTES."""


# -- what each channel does with a stored delivery -------------------------------------------


class ChannelWebhook(Protocol):
    channel: str

    @property
    def transport(self) -> Transport:
        """What sends on this channel: the apology goes straight through it while the
        database is down."""
        ...

    def chats(self, body: Mapping[str, Any]) -> set[str]:
        """The chats a delivery concerns (their ids): deliveries sharing one are dispatched
        in order, and each hears the apology when the delivery cannot be kept."""
        ...

    async def handle(self, body: Mapping[str, Any]) -> None:
        """Dispatch one stored delivery; raises when it should be tried again."""
        ...


class TelegramWebhook:
    channel = "telegram"

    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot

    @property
    def transport(self) -> Transport:
        return self.bot.transport

    def chats(self, body: Mapping[str, Any]) -> set[str]:
        message = body.get("message") or (body.get("callback_query") or {}).get("message") or {}
        chat = (message.get("chat") or {}).get("id") if isinstance(message, dict) else None
        return {str(chat)} if chat is not None else set()

    async def handle(self, body: Mapping[str, Any]) -> None:
        await process_webhook_update(self.bot, dict(body))


class WhatsAppWebhook:
    channel = "whatsapp"

    def __init__(self, app: App, transport: WhatsAppTransport) -> None:
        self.app = app
        self.whatsapp = transport

    @property
    def transport(self) -> Transport:
        return self.whatsapp

    def chats(self, body: Mapping[str, Any]) -> set[str]:
        return {incoming.chat_id for incoming in self.whatsapp.read(body).messages}

    async def handle(self, body: Mapping[str, Any]) -> None:
        """Messages through the dispatcher, in order; then the status reports in one
        transaction. A message already processed (a retried row) is dropped there."""
        content = self.whatsapp.read(body)
        for incoming in content.messages:
            await self.app.dispatcher.handle(incoming)
        if content.statuses:
            now = self.app.clock()
            async with self.app.sessions.begin() as session:
                delivery = SqlDelivery(session)
                for report in content.statuses:
                    await delivery.apply(report, now)


# -- the inbox worker ------------------------------------------------------------------------


class InboxWorker:
    """Dispatches stored deliveries: in arrival order per chat, whichever process holds the
    chat (the claim is per chat), up to INBOX_CONCURRENCY chats at once; a delivery whose
    handling raised is tried again later with a growing delay. While the database does not
    answer nothing is counted against a delivery: it waits, and goes on when it is back."""

    def __init__(self, app: App, handlers: Iterable[ChannelWebhook],
                 batch_size: int = INBOX_BATCH, concurrency: int | None = None,
                 max_attempts: int = INBOX_MAX_ATTEMPTS) -> None:
        self._app = app
        self._handlers = {handler.channel: handler for handler in handlers}
        self._batch_size = batch_size
        if concurrency is None:
            sqlite = app.engine.dialect.name == "sqlite"
            concurrency = 1 if sqlite else INBOX_CONCURRENCY
        self._slots = asyncio.Semaphore(concurrency)
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        """Called after a delivery was stored."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Dispatch until `stop` is set; wakes on new deliveries or every `poll_seconds` (rows
        left by a crash, or waiting for a retry, or the database coming back)."""
        self._stop = stop
        while not stop.is_set():
            try:
                handled = await self.process_due()
            except Exception as error:
                if database_unavailable(error):
                    log.error("inbox: the database does not answer (%s); trying again "
                              "shortly", type(error).__name__)
                else:
                    log.error("inbox: reading due deliveries failed (%s); retrying shortly",
                              error_summary(error))
                handled = 0
            if handled:
                continue
            self._wake.clear()
            await first_of(self._wake, stop, seconds=poll_seconds)

    async def process_due(self) -> int:
        """Claim one batch, dispatch it, record the outcome; the number of rows claimed."""
        app = self._app
        async with app.sessions.begin() as session:
            items = await SqlInbox(session, app.cipher).claim(
                app.clock(), self._batch_size, INBOX_HOLD, self.max_attempts, self._chats)
        if not items:
            return 0
        previous: dict[str, asyncio.Task[str | None]] = {}
        tasks: list[asyncio.Task[str | None]] = []
        for item in items:
            keys = self._chats(item.channel, item.body)
            after = {previous[key] for key in keys if key in previous}
            task = asyncio.create_task(self._handle_after(after, item))
            for key in keys:
                previous[key] = task
            tasks.append(task)
        outcomes = await asyncio.gather(*tasks)
        await self._record(list(zip(items, outcomes, strict=True)))
        return len(items)

    async def _record(self, results: list[tuple[InboxItem, str | None]]) -> None:
        """Delete what was handled, free what waited, schedule the failures' retries. While
        the database does not answer this is tried again (the rows stay held meanwhile):
        a delivery done but not deleted would be dispatched again and dropped as a
        duplicate, but would wait out its hold first."""
        while True:
            try:
                await self._record_once(results)
                return
            except Exception as error:
                if not database_unavailable(error) or self._stop.is_set():
                    raise
                log.error("inbox: recording outcomes failed, the database does not answer "
                          "(%s); trying again shortly", type(error).__name__)
                await first_of(self._stop, seconds=1.0)

    async def _record_once(self, results: list[tuple[InboxItem, str | None]]) -> None:
        app = self._app
        now = app.clock()
        async with app.sessions.begin() as session:
            inbox = SqlInbox(session, app.cipher)
            await inbox.done([item.id for item, error in results if error is None])
            await inbox.release([item.id for item, error in results
                                 if error in (WAITING, UNAVAILABLE)])
            for item, error in results:
                if error is None or error in (WAITING, UNAVAILABLE):
                    continue
                delay = min(timedelta(seconds=2 ** item.attempts), MAX_RETRY_DELAY)
                await inbox.retry(item.id, error, delay, now)
                if item.attempts + 1 >= self.max_attempts:
                    log.error("inbox: %s delivery %s failed %s times and is left for an "
                              "operator (%s)", item.channel, item.id, item.attempts + 1, error)

    def _chats(self, channel: str, body: dict[str, Any]) -> set[str]:
        """The delivery's chats as `channel:chat` keys (an odd body: none, it goes alone and
        its handler reports the problem)."""
        handler = self._handlers.get(channel)
        if handler is None:
            return set()
        try:
            return {f"{channel}:{chat}" for chat in handler.chats(body)}
        except Exception:
            return set()

    async def _handle_after(self, after: set[asyncio.Task[str | None]], item: InboxItem
                            ) -> str | None:
        """Wait for the earlier deliveries of the same chats, then handle this one; None when
        done, else what went wrong (a class name: safe to log and store)."""
        if after:
            await asyncio.wait(after)
            if any(task.result() is not None for task in after):
                # An earlier delivery of the same chat failed: this one waits for its retry
                # (the claim holds the chat's later rows behind it), so the chat's messages
                # are still taken in the order they came.
                return WAITING
        handler = self._handlers.get(item.channel)
        if handler is None:
            return f"{item.channel} channel not configured"
        async with self._slots:
            try:
                await handler.handle(item.body)
            except Exception as error:
                if database_unavailable(error):
                    log.error("inbox: a %s delivery waits, the database does not answer (%s)",
                              item.channel, type(error).__name__)
                    return UNAVAILABLE
                log.warning("inbox: dispatching a %s delivery failed: %s", item.channel,
                            error_summary(error))
                return type(error).__name__
        return None


# -- the HTTP endpoints ----------------------------------------------------------------------


def _refuse(status: int, reason: str, request: Request) -> JSONResponse:
    log.warning("web: %s %s refused with %s: %s", request.method, request.url.path, status,
                reason)
    return JSONResponse({"error": reason}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes (by its
    Content-Length, or while reading a body sent without one)."""
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise BodyTooLarge
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
    return b"".join(parts)


class WebServer:
    """The Starlette application with its channels, inbox worker and outbox sender."""

    def __init__(self, app: App, telegram: TelegramBot | None = None,
                 whatsapp: WhatsAppTransport | None = None,
                 inbox_poll_seconds: float = 1.0, sender_poll_seconds: float = 1.0,
                 inbox_max_attempts: int = INBOX_MAX_ATTEMPTS) -> None:
        if telegram is None and whatsapp is None:
            raise ServeNotConfigured([], "no_channel")
        self.app = app
        self.telegram = telegram
        self.whatsapp = whatsapp
        handlers: list[ChannelWebhook] = []
        if telegram is not None:
            handlers.append(TelegramWebhook(telegram))
        if whatsapp is not None:
            handlers.append(WhatsAppWebhook(app, whatsapp))
        self._handlers = {handler.channel: handler for handler in handlers}
        self.inbox = InboxWorker(app, handlers, max_attempts=inbox_max_attempts)
        self.apologies = Apologies(app.renderer)
        self._inbox_poll = inbox_poll_seconds
        self._sender_poll = sender_poll_seconds
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.asgi = Starlette(routes=[
            Route("/telegram/webhook", self.telegram_webhook, methods=["POST"]),
            Route("/whatsapp/webhook", self.whatsapp_webhook, methods=["GET", "POST"]),
            Route("/health", self.health, methods=["GET"]),
        ])

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Register the channels with the application and start the background work."""
        telegram, whatsapp = self.telegram, self.whatsapp
        if whatsapp is not None:
            self.app.add_transport(whatsapp, bot_id=numeric_id(whatsapp.phone_number_id))
        if telegram is not None:
            await telegram.initialize()  # getMe; registers the Telegram transport
            await telegram.publish_commands()
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self.inbox.run(self._stop, self._inbox_poll), name="web-inbox"),
            asyncio.create_task(self.app.run_background(self._stop, self._sender_poll),
                                name="web-background-work"),
        ]
        log.info("web: serving %s", ", ".join(self.channel_names))

    async def stop(self) -> None:
        """Finish the batch in hand, stop the sender, close the channels' connections."""
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await task
        self._tasks = []
        if self.telegram is not None:
            await self.telegram.stop()
        if self.whatsapp is not None:
            await self.whatsapp.close()

    @property
    def channel_names(self) -> list[str]:
        return [name for name, configured in (("telegram", self.telegram),
                                              ("whatsapp", self.whatsapp))
                if configured is not None]

    # -- endpoints ---------------------------------------------------------------------------

    async def telegram_webhook(self, request: Request) -> Response:
        bot = self.telegram
        if bot is None:
            return _refuse(404, "telegram channel not configured", request)
        header = request.headers.get(TELEGRAM_SECRET_HEADER)
        if header is None:
            return _refuse(401, "secret token missing", request)
        if not webhook_secret_ok(self.app.settings, header):
            return _refuse(403, "secret token wrong", request)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        data = _json(body)
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return _refuse(400, "not a Telegram update", request)
        try:
            Update.de_json(data, bot.bot)
        except Exception:
            return _refuse(400, "not a Telegram update", request)
        return await self._keep("telegram", data)

    async def whatsapp_webhook(self, request: Request) -> Response:
        transport = self.whatsapp
        if transport is None:
            return _refuse(404, "whatsapp channel not configured", request)
        if request.method == "GET":
            query = request.query_params
            if not verify_token_ok(self.app.settings, query.get("hub.mode"),
                                   query.get("hub.verify_token")):
                return _refuse(403, "verification refused", request)
            log.info("web: WhatsApp webhook verified")
            return PlainTextResponse(query.get("hub.challenge", ""))
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return _refuse(401, "signature missing", request)
        if not signature_ok(self.app.settings, body, header):
            return _refuse(403, "signature wrong", request)
        data = _json(body)
        if not is_webhook_body(data):
            return _refuse(400, "not a WhatsApp webhook body", request)
        assert isinstance(data, dict)
        if transport.read(data).empty:
            return JSONResponse({"ok": True, "kept": False})
        return await self._keep("whatsapp", data)

    async def health(self, request: Request) -> Response:
        try:
            # The count proves the database answers (within KEEP_SECONDS, like a delivery).
            async with asyncio.timeout(KEEP_SECONDS), self.app.sessions() as session:
                counts = await SqlInbox(session, self.app.cipher).counts(self.inbox.max_attempts)
        except Exception as error:
            log.error("web: health check: the database does not answer (%s)",
                      type(error).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"},
                                status_code=503)
        return JSONResponse({
            "status": "ok", "database": "ok", "channels": self.channel_names,
            "inbox": {"waiting": counts.waiting, "stuck": counts.stuck},
        })

    async def _body(self, request: Request) -> bytes | Response:
        try:
            return await read_body(request, self.app.settings.web_max_body_bytes)
        except BodyTooLarge:
            return _refuse(413, "body too large", request)
        except ClientDisconnect:
            return Response(status_code=400)

    async def _keep(self, channel: str, data: dict[str, Any]) -> Response:
        """Store the verified delivery, then answer: from here on it cannot be lost. When the
        database does not answer (within KEEP_SECONDS), 503: the platform delivers it again
        later, and its users hear once in a while that their message will be processed."""
        try:
            async with asyncio.timeout(KEEP_SECONDS), self.app.sessions.begin() as session:
                SqlInbox(session, self.app.cipher).add(channel, data, self.app.clock())
        except Exception as error:
            if not database_unavailable(error):
                raise
            log.error("web: a %s delivery could not be kept, the database does not answer "
                      "(%s); answered 503", channel, type(error).__name__)
            handler = self._handlers[channel]
            for chat in sorted(handler.chats(data)):
                await self.apologies.tell(handler.transport, chat)
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        self.inbox.wake()
        return JSONResponse({"ok": True, "kept": True})


def _json(body: bytes) -> object:
    """The body's JSON; None when it is not JSON or nests deeper than MAX_JSON_DEPTH (the
    parser itself raises RecursionError at about 1,000 levels)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return None if _nests_deeper_than(data, MAX_JSON_DEPTH) else data


def _nests_deeper_than(value: object, limit: int) -> bool:
    """Whether arrays and objects in `value` nest more than `limit` levels deep; counted level
    by level, not by recursion (which is what such a value breaks)."""
    level = [value]
    for _ in range(limit + 1):
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            return False
        level = [child for item in containers
                 for child in (item.values() if isinstance(item, dict) else item)]
    return True


# -- building and running ------------------------------------------------------------------


def web_server_from_settings(app: App) -> WebServer:
    """The channels the settings configure: Telegram when TELEGRAM_BOT_TOKEN is set (its
    webhook secret is then required), WhatsApp when WHATSAPP_PHONE_NUMBER_ID is set."""
    settings = app.settings
    telegram = None
    if telegram_configured(settings):
        if settings.telegram_webhook_secret is None:  # the Telegram webhook needs it
            raise ServeNotConfigured(["TELEGRAM_WEBHOOK_SECRET"])
        telegram = TelegramBot(app)
    whatsapp = None
    if whatsapp_configured(settings):
        whatsapp = WhatsAppTransport(settings, app.renderer, clock=app.clock)
    return WebServer(app, telegram, whatsapp)


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: `run_server` stops it on SIGINT and
    SIGTERM itself, so the channels are closed afterwards and the exit code is 0 (uvicorn
    would raise the signal again after shutting down, ending the process before that)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class LimitedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11) with the two limits it lacks, set per server by
    `limited`.

    uvicorn starts no timer before its first response on a connection, nor while a request is
    arriving: a client that connects and sends nothing, or headers without their end, or less
    body than its Content-Length, holds its socket for good, and a few hundred of them use up
    the process's open files (accept fails with EMFILE, /health goes unanswered). Here a
    request must arrive whole within `request_timeout` seconds of the connection being ready
    for it (opened, or its previous response sent), however its bytes trickle in; else the
    connection is closed, and an endpoint reading the body sees the client disconnect. And at
    most `max_connections` are open: one more is closed as soon as it is accepted, so the
    files the connections hold stay bounded (uvicorn's limit_concurrency answers 503 to
    requests but keeps their connections open).
    """

    request_timeout: ClassVar[float]
    max_connections: ClassVar[int]
    _deadline: asyncio.TimerHandle | None = None

    @classmethod
    def limited(cls, request_timeout: float, max_connections: int
                ) -> type[LimitedH11Protocol]:
        """The protocol with these limits: uvicorn takes a class and makes one per connection."""
        return type(cls.__name__, (cls,), {"request_timeout": request_timeout,
                                           "max_connections": max_connections})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            log.warning("web: %s connections are open (WEB_MAX_CONNECTIONS); one more was "
                        "closed", self.max_connections)
            transport.close()
            return
        self._restart_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if not self._awaiting_request():
            self._cancel_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._awaiting_request():
            self._restart_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _awaiting_request(self) -> bool:
        """The client owes a request, or the rest of one: none begun since the connection was
        made or the last response sent, or one begun whose headers or body are not all in."""
        return (not self.transport.is_closing()
                and self.conn.their_state in (h11.IDLE, h11.SEND_BODY))

    def _restart_deadline(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.request_timeout, self._deadline_passed)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.warning("web: no whole request came within %s s (WEB_REQUEST_TIMEOUT_SECONDS); "
                        "the connection was closed", self.request_timeout)
            self.transport.close()


def uvicorn_config(server: WebServer, host: str, port: int) -> uvicorn.Config:
    settings = server.app.settings
    protocol = LimitedH11Protocol.limited(settings.web_request_timeout_seconds,
                                          settings.web_max_connections)
    return uvicorn.Config(
        server.asgi, host=host, port=port, http=protocol, log_config=None, access_log=False,
        lifespan="off", ws="none", server_header=False, timeout_graceful_shutdown=10,
    )


async def serve(web: WebServer, host: str, port: int, *,
                sockets: list[socket.socket] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve `web` until SIGINT/SIGTERM, or until `stop` is set when one is given (tests:
    the process's signals are then left alone); start its work first, stop it after."""
    server = _Server(uvicorn_config(web, host, port))

    def request_exit() -> None:
        server.should_exit = True

    with contextlib.ExitStack() as stack:
        if stop is None:
            stack.enter_context(on_stop_signals(request_exit))
        else:
            watcher = asyncio.create_task(stop.wait())
            watcher.add_done_callback(lambda _: request_exit())
            stack.callback(watcher.cancel)
        await web.start()
        try:
            await server.serve(sockets=sockets)
            log.info("web: stopping")
        finally:
            await web.stop()


async def run_server(app: App) -> None:
    """`asn-peduli serve`: the configured channels on WEB_HOST:WEB_PORT until SIGINT/SIGTERM."""
    hold_libraries_at_their_floors()  # the token is in Bot API URLs httpx logs
    web = web_server_from_settings(app)
    await serve(web, app.settings.web_host, app.settings.web_port)
