"""A fake WhatsApp Cloud API (Graph API) on 127.0.0.1, playing Meta in both directions.

Outgoing: it answers what pywa's async client calls (POST /v{version}/{phone-number-id}/messages
and /media) the way the Cloud API does (`{"messages": [{"id": "wamid..."}]}`, errors as
`{"error": {"code", "message", "error_data": {"details"}}}`), and like the Cloud API it refuses
what Meta refuses: a wrong token (190), more than 3 reply buttons, a button title over 20
characters or twice the same, more than 10 list rows, a row title over 24 characters, a body
over its limit, a template that is not approved or whose parameter holds a newline, a tab or
more than four spaces in a row, an image id never uploaded. A free-form message to a user
whose 24-hour window is closed is refused with 131047 at once (the Cloud API sends that
failure as a status callback instead; answering at once tests the same fallback sooner).
A number not on WhatsApp gets its message accepted and a "failed" status (131026) queued, as
the Cloud API does. `fail_once(code)` makes the next send fail with any error code.

Incoming: it builds webhook bodies from the real payloads kept in tests/data/whatsapp/ (text,
button and list replies, template quick replies, stickers, locations, statuses ...), signs
them with the app secret (X-Hub-Signature-256) and posts them to our server.

    async with FakeGraph() as graph:
        settings = make_settings(url, **graph.settings())
        body = graph.text("6281234567890", "halo")
        await graph.post(server_url, body)
        [reply] = graph.messages("6281234567890")
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.web import WebServer, serve
from tests.support.loopback import (
    LoopbackServer,
    bind_free,
    multipart_form,
    wait_for_sent,
    wait_until,
)

DATA = Path(__file__).parents[1] / "data" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAGtest0access0token"
APP_SECRET = "fake-app-secret-3f9c"
VERIFY_TOKEN = "fake-verify-token-81ab"
API_VERSION = "21.0"
DEFAULT_TEMPLATES = {
    # name: (languages, has an IMAGE header)
    "asn_peduli_kabar": ({"id"}, False),
    "asn_peduli_pengingat": ({"id"}, False),
    "asn_peduli_siaran": ({"id"}, False),
    "asn_peduli_laporan": ({"id"}, True),
}


class GraphError(Exception):
    """An error answer of the fake Cloud API."""

    def __init__(self, code: int, message: str, details: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.status = status


@dataclass(frozen=True)
class SentWhatsApp:
    """One message the Cloud API accepted, as the bot asked for it."""

    wamid: str
    to: str
    type: str
    payload: dict[str, Any]
    at: float = 0.0

    @property
    def interactive(self) -> dict[str, Any]:
        return self.payload.get("interactive") or {}

    @property
    def text(self) -> str:
        """What the user reads as the message's text."""
        if self.type == "text":
            return str(self.payload["text"]["body"])
        if self.type == "interactive":
            return str(self.interactive["body"]["text"])
        if self.type == "image":
            return str(self.payload["image"].get("caption", ""))
        if self.type == "template":
            return " ".join(
                parameter.get("text", "")
                for component in self.payload["template"].get("components", [])
                for parameter in component.get("parameters", [])
            )
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(title, id) of the reply buttons."""
        if self.interactive.get("type") != "button":
            return []
        return [(b["reply"]["title"], b["reply"]["id"])
                for b in self.interactive["action"]["buttons"]]

    @property
    def rows(self) -> list[tuple[str, str]]:
        """(title, id) of the list's rows, in order."""
        if self.interactive.get("type") != "list":
            return []
        return [(row["title"], row["id"]) for section in self.interactive["action"]["sections"]
                for row in section["rows"]]

    @property
    def choices(self) -> list[str]:
        return [title for title, _ in self.buttons + self.rows]

    def choice(self, title: str) -> tuple[str, str, str]:
        """("button_reply" | "list_reply", id, title) of the choice with this title (exact,
        else by prefix)."""
        kind = "button_reply" if self.buttons else "list_reply"
        options = self.buttons or self.rows
        found = [o for o in options if o[0] == title] or [
            o for o in options if o[0].startswith(title)]
        if not found:
            raise AssertionError(f"no choice {title!r} in {self.choices}")
        return kind, found[0][1], found[0][0]


@dataclass
class _Failure:
    code: int
    message: str
    status: int = 400


@dataclass
class Upload:
    data: bytes
    mime_type: str


@dataclass
class FakeGraph:
    """The fake Cloud API: start it, point the bot at `url`, post webhooks, read what was sent."""

    phone_number_id: str = PHONE_NUMBER_ID
    token: str = ACCESS_TOKEN
    app_secret: str = APP_SECRET
    verify_token: str = VERIFY_TOKEN
    api_version: str = API_VERSION
    sent: list[SentWhatsApp] = field(default_factory=list)
    rejected: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    templates: dict[str, tuple[set[str], bool]] = field(
        default_factory=lambda: copy.deepcopy(DEFAULT_TEMPLATES))
    not_on_whatsapp: set[str] = field(default_factory=set)
    closed_windows: set[str] = field(default_factory=set)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # reports Meta would post
    url: str = ""

    def __post_init__(self) -> None:
        self._failures: list[_Failure] = []
        self._counter = 0
        self._http = LoopbackServer(Starlette(routes=[
            Route("/v{version}/{phone}/messages", self._messages, methods=["POST"]),
            Route("/v{version}/{phone}/media", self._media, methods=["POST"]),
        ]), "the fake Graph API")

    # -- server lifecycle ----------------------------------------------------------------

    async def start(self) -> FakeGraph:
        """Serve on a free port of 127.0.0.1."""
        await self._http.start()
        self.url = self._http.url
        return self

    async def stop(self) -> None:
        await self._http.stop()

    async def __aenter__(self) -> FakeGraph:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def settings(self) -> dict[str, Any]:
        """The settings that point the bot at this fake."""
        return {
            "whatsapp_phone_number_id": self.phone_number_id,
            "whatsapp_access_token": self.token,
            "whatsapp_app_secret": self.app_secret,
            "whatsapp_verify_token": self.verify_token,
            "whatsapp_api_base_url": self.url,
            "whatsapp_api_version": self.api_version,
        }

    # -- what a test reads and arranges -----------------------------------------------------

    def messages(self, wa_id: str) -> list[SentWhatsApp]:
        return [message for message in self.sent if message.to == wa_id]

    def fail_once(self, code: int, message: str = "error", status: int = 400) -> None:
        """Make the next send fail with this Cloud API error code."""
        self._failures.append(_Failure(code, message, status))

    async def wait_for_messages(self, wa_id: str, n: int, within: float = 10.0
                                ) -> list[SentWhatsApp]:
        """All messages sent to `wa_id`, once there are at least `n`."""
        return await wait_for_sent(
            lambda: self.messages(wa_id), n, within,
            lambda sent: [message.text[:50] for message in sent], wa_id,
            lambda: [reason for _, reason in self.rejected])

    # -- webhook bodies, as Meta posts them ------------------------------------------------

    def new_wamid(self, incoming: bool = True) -> str:
        """A message id of the real form (base64 after "wamid."); outgoing ones are longer
        than 64 characters, as real ones can be."""
        self._counter += 1
        tail = hashlib.sha256(f"{time.time_ns()}-{self._counter}".encode()).hexdigest()
        if incoming:
            return f"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQj{tail[:32].upper()}AA=="
        return f"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYIDNFQjA{tail[:40].upper()}AA=="

    def load(self, name: str) -> dict[str, Any]:
        """A payload from tests/data/whatsapp/, addressed to this fake's phone number."""
        body = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
        for value in _values(body):
            if "metadata" in value:
                value["metadata"]["phone_number_id"] = self.phone_number_id
        return body

    def message(self, name: str, wa_id: str, wamid: str | None = None, **part: Any
                ) -> dict[str, Any]:
        """The payload `name` from `wa_id`, with a fresh message id; `part` replaces the
        message's own part (e.g. text={"body": "halo"})."""
        body = self.load(name)
        value = next(_values(body))
        for contact in value.get("contacts", []):
            contact["wa_id"] = wa_id
        message = value["messages"][0]
        message["from"] = wa_id
        message["id"] = wamid or self.new_wamid()
        message["timestamp"] = str(int(time.time()))
        message.update(part)
        self.closed_windows.discard(wa_id)  # the user wrote: the 24-hour window opens
        return body

    def text(self, wa_id: str, text: str, wamid: str | None = None) -> dict[str, Any]:
        return self.message("text", wa_id, wamid, text={"body": text})

    def reply(self, sent: SentWhatsApp, title: str) -> dict[str, Any]:
        """The user taps the button or list row `title` of a message they received."""
        kind, choice_id, full_title = sent.choice(title)
        name = "interactive_button_reply" if kind == "button_reply" else "interactive_list_reply"
        return self.message(
            name, sent.to, interactive={"type": kind, kind: {"id": choice_id,
                                                             "title": full_title}},
            context={"from": self.phone_number_id, "id": sent.wamid})

    def status(self, wamid: str, status: str, recipient: str, code: int | None = None
               ) -> dict[str, Any]:
        """A status callback for an outgoing message (sent, delivered, read, failed)."""
        body = self.load("status_failed" if status == "failed" else f"status_{status}")
        item = next(_values(body))["statuses"][0]
        item.update(id=wamid, recipient_id=recipient, timestamp=str(int(time.time())))
        if code is not None:
            item["errors"][0]["code"] = code
        return body

    def sign(self, raw: bytes, secret: str | None = None) -> str:
        key = (secret or self.app_secret).encode()
        return "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest()

    async def post(self, server_url: str, body: dict[str, Any] | bytes,
                   signature: str | bytes | bool | None = True, **headers: str
                   ) -> httpx.Response:
        """POST a webhook body to our server as Meta does: signed unless told otherwise
        (`signature=False`: no header; a string or bytes: that header)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent_headers: dict[str, str | bytes] = {"Content-Type": "application/json", **headers}
        if signature is True:
            sent_headers["X-Hub-Signature-256"] = self.sign(raw)
        elif isinstance(signature, str | bytes):
            sent_headers["X-Hub-Signature-256"] = signature
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(f"{server_url}/whatsapp/webhook", content=raw,
                                     headers=sent_headers)

    # -- the Cloud API ---------------------------------------------------------------------

    async def _messages(self, request: Request) -> JSONResponse:
        try:
            data = json.loads(await request.body())
        except ValueError:
            data = {}
        try:
            self._authorize(request)
            if self._failures:
                failure = self._failures.pop(0)
                raise GraphError(failure.code, failure.message, status=failure.status)
            return JSONResponse(self._send(data))
        except GraphError as error:
            self.rejected.append((data, f"{error.code}: {error.message} {error.details}"))
            return JSONResponse({"error": {
                "message": error.message, "type": "OAuthException", "code": error.code,
                "error_data": {"messaging_product": "whatsapp", "details": error.details},
                "fbtrace_id": "AbCdEfGh123",
            }}, status_code=error.status)

    async def _media(self, request: Request) -> JSONResponse:
        try:
            self._authorize(request)
        except GraphError as error:
            return JSONResponse({"error": {"message": error.message, "code": error.code}},
                                status_code=error.status)
        fields = multipart_form(request.headers.get("content-type", ""), await request.body())
        product = fields.get("messaging_product")
        if product is None or product.data != b"whatsapp" or "file" not in fields:
            return JSONResponse({"error": {"message": "(#100) Invalid parameter",
                                           "code": 100}}, status_code=400)
        self._counter += 1
        media_id = str(1_000_000_000_000_000 + self._counter)
        self.uploads[media_id] = Upload(fields["file"].data, fields["file"].content_type)
        return JSONResponse({"id": media_id})

    def _authorize(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise GraphError(190, "Invalid OAuth access token.", status=401)
        if request.path_params["phone"] != self.phone_number_id:
            raise GraphError(100, "Unsupported post request.")
        if request.path_params["version"] != self.api_version:
            raise GraphError(2635, "Unknown API version.")

    def _send(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("messaging_product") != "whatsapp":
            raise GraphError(100, "(#100) Invalid parameter", "messaging_product")
        to = str(data.get("to") or "")
        if not to.isdigit():
            raise GraphError(100, "(#100) Invalid parameter", "to must be a phone number")
        kind = data.get("type")
        check = {"text": self._check_text, "interactive": self._check_interactive,
                 "image": self._check_image, "template": self._check_template}.get(str(kind))
        if check is None:
            raise GraphError(100, "(#100) Invalid parameter", f"type {kind}")
        check(data.get(str(kind)) or {})
        if kind != "template" and to in self.closed_windows:
            raise GraphError(131047, "Re-engagement message",
                             "More than 24 hours have passed since the recipient last "
                             "replied to the sender number.")
        wamid = self.new_wamid(incoming=False)
        self.sent.append(SentWhatsApp(wamid, to, str(kind), data, time.monotonic()))
        if to in self.not_on_whatsapp:
            self.statuses.append(self.status(wamid, "failed", to, code=131026))
        answer: dict[str, Any] = {"messaging_product": "whatsapp",
                                  "contacts": [{"input": to, "wa_id": to}],
                                  "messages": [{"id": wamid}]}
        if kind == "template":
            answer["messages"][0]["message_status"] = "accepted"
        return answer

    @staticmethod
    def _check_text(part: dict[str, Any]) -> None:
        body = part.get("body")
        if not isinstance(body, str) or not body.strip():
            raise GraphError(100, "(#100) The parameter text['body'] is required.")
        if len(body) > 4096:
            raise GraphError(100, "(#100) Param text['body'] must be at most 4096 characters")

    @staticmethod
    def _check_interactive(part: dict[str, Any]) -> None:
        kind = part.get("type")
        body = (part.get("body") or {}).get("text")
        if not isinstance(body, str) or not body.strip():
            raise GraphError(131009, "(#131009) Parameter value is not valid", "body required")
        action = part.get("action") or {}
        if kind == "button":
            if len(body) > 1024:
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "body text too long")
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= 3:
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "buttons: 1 to 3")
            titles = [b["reply"]["title"] for b in buttons]
            ids = [b["reply"]["id"] for b in buttons]
            if any(not 1 <= len(t) <= 20 for t in titles):
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "Button title length invalid. Min length: 1, Max length: 20")
            if len(set(titles)) < len(titles) or len(set(ids)) < len(ids):
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "Button title and id must be unique")
            if any(not 1 <= len(i) <= 256 for i in ids):
                raise GraphError(131009, "(#131009) Parameter value is not valid", "button id")
            return
        if kind == "list":
            if len(body) > 4096:
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "body text too long")
            if not 1 <= len(action.get("button") or "") <= 20:
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "list button text: 1 to 20 characters")
            sections = action.get("sections") or []
            rows = [row for section in sections for row in section.get("rows", [])]
            if not 1 <= len(sections) <= 10 or not 1 <= len(rows) <= 10:
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "Total row count exceed max allowed count: 10")
            if len(sections) > 1 and any(not s.get("title") for s in sections):
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "section title required")
            if any(len(s.get("title") or "") > 24 for s in sections):
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "section title too long")
            if any(not 1 <= len(row["title"]) <= 24 for row in rows):
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "Row title length invalid. Min length: 1, Max length: 24")
            if any(len(row.get("description") or "") > 72 for row in rows):
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "row description too long")
            ids = [row["id"] for row in rows]
            if len(set(ids)) < len(ids) or any(not 1 <= len(i) <= 200 for i in ids):
                raise GraphError(131009, "(#131009) Parameter value is not valid",
                                 "Row ids must be unique")
            return
        raise GraphError(131009, "(#131009) Parameter value is not valid", f"type {kind}")

    def _check_image(self, part: dict[str, Any]) -> None:
        if part.get("id") not in self.uploads:
            raise GraphError(131053, "Media upload error", "unknown media id")
        if len(part.get("caption") or "") > 1024:
            raise GraphError(131009, "(#131009) Parameter value is not valid", "caption")

    def _check_template(self, part: dict[str, Any]) -> None:
        name = part.get("name")
        language = (part.get("language") or {}).get("code")
        if name not in self.templates or language not in self.templates[str(name)][0]:
            raise GraphError(132001, "Template name does not exist in the translation",
                             f"template name ({name}) does not exist in {language}")
        has_header = self.templates[str(name)][1]
        components = {c.get("type", "").lower(): c for c in part.get("components") or []}
        body = components.get("body")
        if body is None or len(body.get("parameters") or []) != 1:
            raise GraphError(132000, "Number of parameters does not match the expected "
                                     "number of params")
        value = body["parameters"][0].get("text") or ""
        if not value or len(value) > 1024 or re.search(r"[\n\t]| {5,}", value):
            raise GraphError(132018, "There was an issue with the parameters in your "
                                     "template.", "Param text cannot have new-line/tab "
                                                  "characters or more than 4 consecutive spaces")
        header = components.get("header")
        if has_header != (header is not None):
            raise GraphError(132012, "Parameter format does not match format in the created "
                                     "template", "header")
        if header is not None:
            image = header["parameters"][0].get("image") or {}
            if image.get("id") not in self.uploads:
                raise GraphError(131053, "Media upload error", "unknown media id")


def _values(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in body.get("entry", []):
        for change in entry.get("changes", []):
            yield change["value"]


def messages_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of a webhook body built here (a list: append to batch another)."""
    return next(_values(body))["messages"]


def wamid_of(body: dict[str, Any]) -> str:
    """The id of the (first) message of a webhook body built here."""
    return str(messages_of(body)[0]["id"])


# -- our web server, started for a test --------------------------------------------------


@dataclass
class RunningServer:
    url: str
    web: WebServer
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)


async def until_healthy(url: str, alive: Callable[[], object], within: float = 10.0,
                        what: str | Callable[[], str] = "the web server did not start",
                        every: float = 0.02) -> None:
    """Until our server at `url` answers GET /health with 200; `alive()` is asked before
    each try and raises when the server died meanwhile."""
    async with httpx.AsyncClient(timeout=2) as client:
        async def healthy() -> bool:
            alive()
            with contextlib.suppress(httpx.TransportError):
                return (await client.get(f"{url}/health")).status_code == 200
            return False

        await wait_until(healthy, within, what, every)


async def start_server(web: WebServer) -> RunningServer:
    """`bot.web.serve` (the real uvicorn server) on a free 127.0.0.1 port; returns once
    /health answers 200."""
    sock, url = bind_free()
    stop = asyncio.Event()
    host, port = sock.getsockname()
    task = asyncio.create_task(serve(web, host, port, sockets=[sock], stop=stop))
    # A server that failed to start says why (its task's exception).
    await until_healthy(url, lambda: task.done() and task.result())
    return RunningServer(url, web, stop, task)


@contextlib.asynccontextmanager
async def running(web: WebServer) -> AsyncIterator[RunningServer]:
    server = await start_server(web)
    try:
        yield server
    finally:
        await server.close()
