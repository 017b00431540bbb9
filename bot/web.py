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

Slow or greedy clients cannot tie the server up (bot/http_server.py: a whole request within
WEB_REQUEST_TIMEOUT_SECONDS, at most WEB_MAX_CONNECTIONS connections).

An accepted delivery is written, encrypted, to the inbox table and answered 200 at once; the
inbox worker (bot/inbox_worker.py) dispatches it and deletes it. The platform is thus
answered in milliseconds whatever the flow costs. The dispatcher drops a message it has
processed before (the Telegram update id, the WhatsApp message id), so a redelivered or
replayed webhook changes nothing. When the database does not answer, a delivery is answered
503 (the platform sends it again later; nothing was confirmed) and its user hears once in a
while that the message will be processed.

The process also runs the outbox sender, so replies leave from here; `asn-peduli worker`
processes may share that work. SIGINT/SIGTERM stop it cleanly (bot/service.py): no new
requests, the requests in flight and the inbox batch in hand are finished, the sender stops,
the connections close, exit code 0. Logs carry no personal data and no query strings:
refusals are logged by reason.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.app import App
from bot.http_server import serve_http
from bot.inbox_worker import INBOX_MAX_ATTEMPTS, InboxWorker
from bot.request_body import BodyTooLarge, parse_json, read_body
from bot.service import Service
from bot.settings import NotConfigured
from bot.telegram.api import telegram_configured
from bot.telegram.channel import TelegramBot
from bot.telegram.webhook import webhook_secret_ok
from bot.unavailable import Apologies
from bot.webhooks import ChannelWebhook, TelegramWebhook, WhatsAppWebhook
from bot.whatsapp.api import whatsapp_configured
from bot.whatsapp.transport import WhatsAppTransport
from bot.whatsapp.webhook import SIGNATURE_HEADER, is_webhook_body, signature_ok, verify_token_ok
from storage.inbox import SqlInbox
from storage.outages import database_unavailable

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long storing a delivery may take before the database counts as not answering (a
# connection attempt to a host that does not answer would otherwise wait a minute).
KEEP_SECONDS = 10.0


class ServeNotConfigured(NotConfigured):
    """The server has no channel to serve, or a channel's settings are incomplete."""


# -- the HTTP endpoints ----------------------------------------------------------------------


def _refuse(status: int, reason: str, request: Request) -> JSONResponse:
    log.warning("web: %s %s refused with %s: %s", request.method, request.url.path, status,
                reason)
    return JSONResponse({"error": reason}, status_code=status)


class WebServer:
    """The Starlette application with its channels' webhooks and the inbox worker they feed.
    Nothing here runs by itself: `serve` runs the worker and the HTTP server."""

    def __init__(self, app: App, telegram: TelegramBot | None = None,
                 whatsapp: WhatsAppTransport | None = None,
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
        self.apologies = Apologies(app.renderer, now=app.clock)
        self.asgi = Starlette(routes=[
            Route("/telegram/webhook", self.telegram_webhook, methods=["POST"]),
            Route("/whatsapp/webhook", self.whatsapp_webhook, methods=["GET", "POST"]),
            Route("/health", self.health, methods=["GET"]),
        ])

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
        data = parse_json(body)
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
        data = parse_json(body)
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


async def serve(web: WebServer, host: str, port: int, *,
                sockets: list[socket.socket] | None = None,
                stop: asyncio.Event | None = None, schedule: bool = False) -> None:
    """Serve `web` until SIGINT/SIGTERM, or until `stop` is set when one is given (tests:
    the process's signals are then left alone): its channels opened, the sender (and with
    `schedule` the scheduler), the inbox worker and the HTTP server run as one service."""
    app = web.app
    async with Service(app, schedule=schedule) as service:
        if web.telegram is not None:
            await service.open_telegram(web.telegram, menu=True)
        if web.whatsapp is not None:
            service.open_whatsapp(web.whatsapp)
        service.add("web-inbox", web.inbox.run)
        service.add("web-http", lambda halt: serve_http(web.asgi, app.settings, host, port,
                                                        sockets, halt))
        log.info("web: serving %s", ", ".join(web.channel_names))
        await service.run(stop)
        log.info("web: stopping")


async def run_server(app: App, *, schedule: bool = False) -> None:
    """`asn-peduli serve`: the configured channels on WEB_HOST:WEB_PORT until SIGINT/SIGTERM."""
    web = web_server_from_settings(app)
    await serve(web, app.settings.web_host, app.settings.web_port, schedule=schedule)
