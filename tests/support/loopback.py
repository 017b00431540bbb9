"""Serving and waiting on 127.0.0.1, for the fake platforms and the end-to-end tests.

- `bind_free()`: a socket bound to a free 127.0.0.1 port (bound before serving: no race).
- `LoopbackServer`: an ASGI app under the real uvicorn on such a socket, as a task.
- `wait_until(condition, within, what)`: poll a condition (sync or async) until it holds.
- `loopback_only(monkeypatch)`: refuse any connection leaving 127.0.0.1.
- `multipart_form(content_type, body)`: the parts of an upload, as the fakes receive them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Generic, TypeVar

import pytest
import uvicorn

HOST = "127.0.0.1"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")


def bind_free() -> tuple[socket.socket, str]:
    """A socket bound to a free port of 127.0.0.1, and its http:// URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    return sock, f"http://{HOST}:{sock.getsockname()[1]}"


async def wait_until(condition: Callable[[], Any], within: float = 10.0,
                     what: str | Callable[[], str] = "the condition",
                     every: float = 0.02) -> None:
    """Poll `condition()` (sync or async) every `every` seconds until it is true; at most
    `within` seconds, then an AssertionError naming `what` (a callable is asked only then,
    so it can show the state at the end)."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(what() if callable(what) else f"not within {within} s: {what}")
        await asyncio.sleep(every)


Sent = TypeVar("Sent")


class Unread(Generic[Sent]):
    """What a fake platform sent to one chat, read as its user reads it: each call gives the
    messages that came since the call before (at first, since the user started reading)."""

    def __init__(self, sent: Callable[[], list[Sent]]) -> None:
        self._sent = sent
        self._seen = len(sent())

    def __call__(self) -> list[Sent]:
        messages = self._sent()
        new, self._seen = messages[self._seen:], len(messages)
        return new


def latest(messages: list[Sent], has: Callable[[Sent], object], what: str) -> Sent:
    """The newest of `messages` that `has` something (buttons, choices) the user can tap."""
    for message in reversed(messages):
        if has(message):
            return message
    raise AssertionError(f"no message with {what} yet")


async def wait_for_sent(sent: Callable[[], list[Sent]], n: int, within: float,
                        shown: Callable[[list[Sent]], object], to: object,
                        rejected: Callable[[], list[str]]) -> list[Sent]:
    """What a fake platform sent `to` a chat, once there are at least `n` messages (at most
    `within` seconds; an AssertionError shows what was sent and what it refused instead)."""
    await wait_until(
        lambda: len(sent()) >= n, within,
        lambda: (f"expected {n} messages to {to}, got {shown(sent())}; "
                 f"rejected: {rejected()}"))
    return sent()


class LoopbackServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a task of the running loop."""

    def __init__(self, app: Any, name: str) -> None:
        self._app = app
        self._name = name
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self.url = ""

    async def start(self) -> None:
        sock, self.url = bind_free()
        self._socket = sock
        config = uvicorn.Config(
            self._app, log_config=None, access_log=False, lifespan="off", ws="none",
            http="h11", timeout_graceful_shutdown=2, log_level="warning",
        )
        server = self._server = uvicorn.Server(config)
        task = self._task = asyncio.create_task(server.serve(sockets=[sock]), name=self._name)

        def started() -> bool:
            if task.done():
                task.result()  # it failed to start: say why
            return server.started

        await wait_until(started, 5, f"{self._name} did not start", every=0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)
        if self._socket is not None:
            self._socket.close()


def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No request may leave 127.0.0.1 (until `monkeypatch` undoes it): proxies off, other
    addresses refused. tests/e2e/conftest.py applies it to every end-to-end test."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1", "::1"
        ):
            self.close()  # the caller does not expect an AssertionError, and would leak it
            raise AssertionError(f"network access outside loopback: {address!r}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@dataclass(frozen=True)
class FormPart:
    """One field of a multipart/form-data body."""

    data: bytes
    content_type: str
    filename: str | None
    charset: str | None


def multipart_form(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The fields of a multipart/form-data body by name, read with the standard library."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    fields: dict[str, FormPart] = {}
    for part in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = FormPart(payload if isinstance(payload, bytes) else b"",
                                    part.get_content_type(), part.get_filename(),
                                    part.get_content_charset())
    return fields
