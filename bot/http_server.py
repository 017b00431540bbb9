"""The HTTP server under the web server: uvicorn with the limits it lacks, as a part of the
service (bot/service.py) that serves until its stop is set.

Slow or greedy clients cannot tie the server up (`LimitedH11Protocol`): a request must arrive
whole, headers and body, within WEB_REQUEST_TIMEOUT_SECONDS, else its connection is closed;
and at most WEB_MAX_CONNECTIONS connections are open at once, one more is closed as soon as it
is accepted. Stopped, it takes no new requests and finishes those in flight (at most 10 s).
uvicorn's access log is off: the verification request carries the verify token in its query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import ClassVar

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.settings import Settings

log = logging.getLogger(__name__)


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


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: the service stops it on SIGINT and
    SIGTERM itself, so the channels are closed afterwards and the exit code is 0 (uvicorn
    would raise the signal again after shutting down, ending the process before that)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def uvicorn_config(asgi: ASGIApp, settings: Settings, host: str, port: int) -> uvicorn.Config:
    protocol = LimitedH11Protocol.limited(settings.web_request_timeout_seconds,
                                          settings.web_max_connections)
    return uvicorn.Config(
        asgi, host=host, port=port, http=protocol, log_config=None, access_log=False,
        lifespan="off", ws="none", server_header=False, timeout_graceful_shutdown=10,
    )


async def serve_http(asgi: ASGIApp, settings: Settings, host: str, port: int,
                     sockets: list[socket.socket] | None, stop: asyncio.Event) -> None:
    """Serve `asgi` on `host:port` (or on `sockets`, already bound) until `stop` is set."""
    server = _Server(uvicorn_config(asgi, settings, host, port))

    async def exit_on_stop() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(exit_on_stop())
    try:
        await server.serve(sockets=sockets)
    finally:
        watcher.cancel()
