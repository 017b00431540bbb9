"""Abusive clients against the web server (`asn-peduli serve`), the real uvicorn server on
127.0.0.1: requests that never finish arriving, more connections than the server keeps, and
JSON nested deeper than any platform sends. Each is cut off or refused, /health answers
again within the request timeout, and nothing of them is stored.

Bounds are generous (a loaded machine may be slow); no test asserts a speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import App
from bot.settings import Settings
from bot.web import web_server_from_settings
from storage.models import InboxUpdate, ProcessedUpdate
from tests.conftest import BUDI, make_settings, migrated_app
from tests.support.fake_graph import FakeGraph, RunningServer, running, until_healthy
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import HOST, wait_until
from tests.support.processes import count, start_serve

REQUEST_TIMEOUT = 2  # WEB_REQUEST_TIMEOUT_SECONDS here, so the tests wait little
CLOSED_WITHIN = REQUEST_TIMEOUT + 20  # what a loaded machine may add to it
TELEGRAM_SECRET = "tg-secret-a7c1"
OPEN_FILES = 256  # the child's RLIMIT_NOFILE in the file-limit test
WEBHOOK = b"POST /whatsapp/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
# What a slow (or malicious) client leaves the server waiting for, on a fresh connection.
HALF_SENT = (
    b"",                                                          # nothing at all
    WEBHOOK + b"Content-Type: applica",                           # headers that never end
    WEBHOOK + b"Content-Length: 1000\r\n\r\n{",                   # a body that never comes
)
HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
def settings(sqlite_url: str, graph: FakeGraph, fake: FakeTelegram) -> Settings:
    """Both channels, the default body limit (room for a deeply nested body), a short
    request timeout and room for every connection the timeout test opens."""
    return make_settings(
        sqlite_url, web_request_timeout_seconds=REQUEST_TIMEOUT, web_max_connections=1000,
        telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
        telegram_webhook_secret=TELEGRAM_SECRET, **graph.settings())


# -- raw connections -------------------------------------------------------------------------


class Connections:
    """Raw TCP connections to the server; every one is closed at the end (`connections`)."""

    def __init__(self, url: str) -> None:
        self.port = int(url.rsplit(":", 1)[1])
        self._writers: dict[asyncio.StreamReader, asyncio.StreamWriter] = {}
        self._dribblers: list[asyncio.Task[None]] = []

    async def open(self, sent: bytes = b"") -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        self._writers[reader] = writer
        await self.send(reader, sent)
        return reader

    async def send(self, reader: asyncio.StreamReader, data: bytes) -> None:
        if data:
            self._writers[reader].write(data)
            await self._writers[reader].drain()

    async def dribble(self, every: float = 0.3) -> asyncio.StreamReader:
        """A connection sending request headers one byte at a time, never ending them,
        until the server closes it."""
        reader = await self.open(WEBHOOK)
        writer = self._writers[reader]

        async def keep_sending() -> None:
            while not reader.at_eof() and not writer.is_closing():
                with contextlib.suppress(OSError):
                    writer.write(b"X")
                    await writer.drain()
                await asyncio.sleep(every)

        self._dribblers.append(asyncio.create_task(keep_sending()))
        return reader

    def close(self, reader: asyncio.StreamReader) -> None:
        self._writers[reader].close()

    async def aclose(self) -> None:
        for task in self._dribblers:
            task.cancel()
        await asyncio.gather(*self._dribblers, return_exceptions=True)
        for writer in self._writers.values():
            writer.close()
        for writer in self._writers.values():
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def connections(url: str) -> AsyncIterator[Connections]:
    opened = Connections(url)
    try:
        yield opened
    finally:
        await opened.aclose()


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bytes:
    """What the server sent before it closed the connection; at most `within` seconds."""
    async def until_closed() -> bytes:
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""

    return await asyncio.wait_for(until_closed(), within)


async def all_closed_by_server(readers: Iterable[asyncio.StreamReader], within: float
                               ) -> list[bytes]:
    return await asyncio.gather(*(closed_by_server(reader, within) for reader in readers))


async def read_response(reader: asyncio.StreamReader) -> bytes:
    """One whole HTTP response (it has a Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    [length] = [int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")]
    return head + await reader.readexactly(length)


async def health(url: str) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        return (await client.get(f"{url}/health")).status_code


async def nothing_stored(app: App) -> bool:
    return await count(app, InboxUpdate) == 0 and await count(app, ProcessedUpdate) == 0


async def nothing_kept_a_moment_later(app: App) -> bool:
    """Nothing stored even after the inbox worker had time to pick up anything kept."""
    await asyncio.sleep(0.2)
    return await nothing_stored(app)


# -- requests that never finish arriving -----------------------------------------------------


async def test_requests_that_never_finish_arriving_are_cut_off_and_health_still_answers(
    server: RunningServer, web_app: App
) -> None:
    """Whatever part of a request is missing, and however its bytes trickle in, the
    connection is closed once WEB_REQUEST_TIMEOUT_SECONDS pass without the whole request."""
    async with connections(server.url) as opened:
        readers = [await opened.open(sent) for _ in range(40) for sent in HALF_SENT]
        # A second request that never ends, on a connection kept alive after a first one.
        kept_alive = []
        for _ in range(10):
            reader = await opened.open(HEALTH)
            assert b" 200 " in await read_response(reader)
            await opened.send(reader, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nAcc")
            kept_alive.append(reader)
        # Headers arriving a byte at a time: each byte is news, but the request never ends.
        dribbling = [await opened.dribble() for _ in range(5)]
        assert await health(server.url) == 200  # while they hang
        answers = await all_closed_by_server([*readers, *kept_alive, *dribbling], CLOSED_WITHIN)
        assert answers == [b""] * len(answers)  # no response: the request never came whole
        assert await health(server.url) == 200
    assert await nothing_stored(web_app)


# -- more connections than the server keeps --------------------------------------------------


async def test_connections_over_the_limit_are_closed_at_once(sqlite_url: str, graph: FakeGraph
                                                             ) -> None:
    """With WEB_MAX_CONNECTIONS open, one more is closed as soon as it is accepted, long
    before the request timeout; when one of them goes, a new one is served."""
    settings = make_settings(sqlite_url, web_max_connections=8, web_request_timeout_seconds=300,
                             **graph.settings())
    async with migrated_app(settings) as app, running(web_server_from_settings(app)) as server, \
            connections(server.url) as opened:
        held = [await opened.open() for _ in range(8)]
        extra = [await opened.open() for _ in range(16)]
        assert await all_closed_by_server(extra, CLOSED_WITHIN) == [b""] * 16
        with pytest.raises(httpx.TransportError):
            await health(server.url)
        assert not any(reader.at_eof() for reader in held)
        opened.close(held[0])

        async def healthy() -> bool:
            with contextlib.suppress(httpx.TransportError):
                return await health(server.url) == 200
            return False

        await wait_until(healthy, CLOSED_WITHIN, "a freed connection is not served again")


async def test_serve_under_a_low_open_file_limit_outlasts_300_half_sent_requests(
    graph: FakeGraph, settings: Settings, web_app: App, tmp_path: Path,
    children: list[asyncio.subprocess.Process],
) -> None:
    """`asn-peduli serve` as an operator runs it, with the default connection limit, under
    `ulimit -n 256` (set on the running process, Linux's prlimit): 300 connections that
    never finish their requests cannot use up its files; /health answers, and they are all
    closed within the request timeout."""
    resource = pytest.importorskip("resource")
    if not hasattr(resource, "prlimit"):
        pytest.skip("needs Linux's prlimit")
    serving = await start_serve(settings, graph, tmp_path,
                                WEB_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT))
    child, url, log = serving.child, serving.url, serving.log
    children.append(child)
    resource.prlimit(child.pid, resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
    async with connections(url) as opened:
        readers = [await opened.open(HALF_SENT[n % len(HALF_SENT)]) for n in range(300)]
        await until_healthy(url, serving.alive, CLOSED_WITHIN, what=log.read_text)
        assert await all_closed_by_server(readers, CLOSED_WITHIN) == [b""] * 300
    assert await health(url) == 200
    child.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(child.wait(), 20) == 0
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in output and "Too many open files" not in output, output


# -- JSON nested deeper than any platform sends ----------------------------------------------


def nested(depth: int) -> Any:
    """1 inside `depth` levels of {"a": ...}, built without recursion."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# Bodies the JSON parser cannot take: it recurses once a level and gives up at about 1,000.
TOO_DEEP = (b"[" * 100_000, b"[" * 5_000 + b"]" * 5_000, deep_json(1_500))


async def test_json_nested_too_deep_is_refused_and_nothing_is_kept(
    graph: FakeGraph, server: RunningServer, web_app: App
) -> None:
    # And one it takes, still far deeper than the platforms' bodies (about 10 levels).
    whatsapp = graph.text(BUDI.phone.lstrip("+"), "halo")
    whatsapp["entry"][0]["changes"][0]["value"]["messages"][0]["text"] = nested(200)
    for raw in (*TOO_DEEP, json.dumps(whatsapp).encode()):
        response = await graph.post(server.url, raw)  # correctly signed
        assert response.status_code == 400, raw[:20]
    assert await nothing_kept_a_moment_later(web_app)
    assert graph.sent == []


async def test_telegram_json_nested_too_deep_is_refused_and_nothing_is_kept(
    fake: FakeTelegram, server: RunningServer, web_app: App
) -> None:
    update = {"update_id": 800_001, "message": nested(200)}
    async with httpx.AsyncClient(timeout=10) as client:
        for raw in (*TOO_DEEP, json.dumps(update).encode()):
            response = await client.post(
                f"{server.url}/telegram/webhook", content=raw,
                headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                         "Content-Type": "application/json"})
            assert response.status_code == 400, raw[:20]
    assert await nothing_kept_a_moment_later(web_app)
