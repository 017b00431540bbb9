"""Helpers of the end-to-end tests: what the database says about an update, and the real
`asn-peduli` command started as a child process (`serve` among them, ready once healthy)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.settings import Settings
from storage.conversations import ConversationKey, SqlConversationRepository
from storage.models import Base, InboxUpdate, OutboxMessage, ProcessedUpdate
from tests.support.fake_graph import FakeGraph, until_healthy
from tests.support.loopback import HOST, bind_free, wait_until

PENDING = OutboxMessage.status == "pending"


async def _count(session: AsyncSession, model: type[Base], *where: ColumnElement[bool]
                 ) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def count(app: App, model: type[Base], *where: ColumnElement[bool]) -> int:
    """How many rows of `model` (matching `where`) there are now."""
    async with app.sessions() as session:
        return await _count(session, model, *where)


async def none_left(app: App, model: type[Base], *where: ColumnElement[bool]) -> bool:
    return await count(app, model, *where) == 0


async def processed_and_delivered(app: App, channel: str, update_id: str) -> bool:
    """The update is committed (its id is in processed_updates), the inbox is empty and
    nothing waits in the outbox: what the user saw for it has reached the platform."""
    async with app.sessions() as session:
        done = await session.scalar(select(ProcessedUpdate.id).where(
            ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == update_id))
        return (done is not None and await _count(session, InboxUpdate) == 0
                and await _count(session, OutboxMessage, PENDING) == 0)


async def settle(app: App, channel: str, update_id: str, within: float = 10.0,
                 what: str | Callable[[], str] | None = None) -> None:
    """Until `processed_and_delivered`."""
    await wait_until(lambda: processed_and_delivered(app, channel, update_id), within,
                     what or f"{channel} update {update_id} not processed and delivered")


async def conversation_state(app: App, bot_id: int, user_id: int
                             ) -> tuple[str | None, dict[str, Any]]:
    """The state and data of a private chat's conversation, read from the database."""
    key = ConversationKey(bot_id=bot_id, chat_id=user_id, user_id=user_id)
    async with app.sessions() as session:
        return await SqlConversationRepository(session, app.cipher).load(key)


# -- the command in a child process ----------------------------------------------------------


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a child `asn-peduli`: the test's database and keys, no proxy, and
    `extra` (setting names in capitals). A clock moved by libfaketime
    (tests/support/clock_sweep.py) is kept, so the child agrees with the test on the time."""
    keep = {name: value for name, value in os.environ.items()
            if name in {"PATH", "HOME", "LANG", "SYSTEMROOT", "LD_PRELOAD"}
            or name.startswith("FAKETIME")}
    return {
        **keep,
        "DATABASE_URL": settings.database_url,
        "DATA_ENCRYPTION_KEYS": settings.data_encryption_keys.get_secret_value(),
        "NIK_HASH_KEY": settings.nik_hash_key.get_secret_value(),
        "NO_PROXY": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


async def start_cli(command: str, env: dict[str, str], workdir: Path, log: Path,
                    ready: Callable[[asyncio.subprocess.Process], Awaitable[Any]]
                    ) -> asyncio.subprocess.Process:
    """`asn-peduli <command>` in its own process, its output appended to `log`; returned
    once `ready(child)` has returned (killed and reaped when it raises instead)."""
    executable = Path(sys.executable).parent / "asn-peduli"
    with log.open("ab") as output:
        child = await asyncio.create_subprocess_exec(
            str(executable), command, cwd=workdir, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
        )
    try:
        await ready(child)
    except BaseException:
        kill(child)
        await child.wait()
        raise
    return child


def kill(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.kill()


@dataclass(frozen=True)
class Serving:
    """A child `asn-peduli serve`: the process, its address and its log."""

    child: asyncio.subprocess.Process
    url: str
    log: Path

    def alive(self) -> None:
        """Raises, with the log, once the child has exited."""
        assert self.child.returncode is None, self.log.read_text()


async def start_serve(settings: Settings, graph: FakeGraph, workdir: Path, **extra: str
                      ) -> Serving:
    """`asn-peduli serve` as an operator runs it: on a free loopback port, with `graph`'s
    WhatsApp settings and `extra` (setting names in capitals); returned once /health
    answers."""
    sock, url = bind_free()
    port = sock.getsockname()[1]
    sock.close()  # a free port, for the child to bind
    env = cli_env(settings, WEB_HOST=HOST, WEB_PORT=str(port), **extra,
                  **{name.upper(): str(value) for name, value in graph.settings().items()})
    log = workdir / "serve.log"
    child = await start_cli("serve", env, workdir, log, lambda started: until_healthy(
        url, Serving(started, url, log).alive, 30, what=log.read_text, every=0.05))
    return Serving(child, url, log)
