"""`asn-peduli serve` while its PostgreSQL database does not answer, and after it is back.

The server reaches the database through a TCP proxy on 127.0.0.1 that the test cuts (every
connection dropped, new ones refused) and restores. While it is cut a webhook delivery cannot
be kept: it is answered 503, so Telegram keeps it and delivers it again later, and the user
hears once that the message will be processed. Once the database is back the redelivered
updates are processed, each once, and nothing is lost or doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.settings import Settings
from storage.models import InboxUpdate, OutboxMessage, ProcessedUpdate
from tests.conftest import make_settings, migrated_app
from tests.support.fake_graph import until_healthy
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import HOST, bind_free, wait_until
from tests.support.processes import PENDING, cli_env, none_left, start_cli
from tests.support.webhooks import Poster, Step, update

pytestmark = pytest.mark.postgres

SECRET = "tg-secret-down"
BUDI_NIP = "198503152010011001"  # the demo roster's first ASN (tests.conftest.BUDI)
FIRST, SECOND = 7_001, 7_002  # two users' chats
APOLOGY = "sedang mengalami gangguan"  # errors/unavailable


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 to the PostgreSQL server; `cut()` drops every connection
    and refuses new ones (the database does not answer), `restore()` serves again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        sock, _ = bind_free()
        self.port = sock.getsockname()[1]
        sock.close()
        await self.restore()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._connect, HOST, self.port,
                                                  reuse_address=True)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _connect(self, client_reader: asyncio.StreamReader,
                       client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        self._open |= {client_writer, server_writer}
        await asyncio.gather(self._pipe(client_reader, server_writer),
                             self._pipe(server_reader, client_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        self._open.discard(writer)
        writer.transport.abort()


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[CuttableProxy]:
    url = make_url(postgres_url)
    started = CuttableProxy((url.host or HOST, url.port or 5432))
    await started.start()
    try:
        yield started
    finally:
        await started.cut()


@pytest.fixture
def settings(postgres_url: str, proxy: CuttableProxy, fake: FakeTelegram) -> Settings:
    through_proxy = make_url(postgres_url).set(host=HOST, port=proxy.port)
    return make_settings(through_proxy.render_as_string(hide_password=False),
                         telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
                         telegram_webhook_secret=SECRET, telegram_rate_private_chat=1000.0)


def health_is(client: httpx.AsyncClient, url: str, status: int) -> Callable[[], Awaitable[bool]]:
    """A condition: GET /health answers `status`."""
    async def answers() -> bool:
        return (await client.get(f"{url}/health")).status_code == status
    return answers


async def test_deliveries_while_the_database_is_down_get_503_and_are_processed_after(
    settings: Settings, proxy: CuttableProxy, fake: FakeTelegram, tmp_path: Path,
    children: list[asyncio.subprocess.Process],
) -> None:
    fake.chats([FIRST, SECOND])
    async with migrated_app(settings, roster=True) as app:
        sock, url = bind_free()
        port = sock.getsockname()[1]
        sock.close()
        env = cli_env(settings, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
                      TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_RATE_PRIVATE_CHAT="1000",
                      WEB_HOST=HOST, WEB_PORT=str(port))
        log = tmp_path / "serve.log"

        def alive(child: asyncio.subprocess.Process) -> None:
            assert child.returncode is None, log.read_text()

        children.append(await start_cli("serve", env, tmp_path, log, lambda child: until_healthy(
            url, lambda: alive(child), 60, what=log.read_text, every=0.1)))

        async with httpx.AsyncClient(timeout=30) as client:
            poster = Poster(SECRET, client)
            start = update(fake, 900_001, FIRST, Step("text", "/mulai"), 0)
            assert (await poster.post(url, start)).status_code == 200
            await fake.wait_for_messages(FIRST, 2, within=20)  # welcome, ask for the NIP

            # Cut as the reply arrives: the sender may not have recorded it as sent yet.
            await proxy.cut()
            await wait_until(health_is(client, url, 503), 20, "/health did not say 503")
            nip = update(fake, 900_002, FIRST, Step("text", BUDI_NIP), 0)
            other = update(fake, 900_003, SECOND, Step("text", "/mulai"), 0)
            refused = [await poster.post(url, body) for body in (nip, other, nip, other)]
            assert [answer.status_code for answer in refused] == [503] * 4
            await fake.wait_for_messages(SECOND, 1, within=20)
            await asyncio.sleep(0.5)
            assert [APOLOGY in m.text for m in fake.messages(FIRST)] == [False, False, True]
            assert [APOLOGY in m.text for m in fake.messages(SECOND)] == [True]

            await proxy.restore()
            await wait_until(health_is(client, url, 200), 30, "/health did not recover")
            # Telegram delivers again what it got no 2xx for.
            for body in (nip, other):
                assert (await poster.post(url, body)).status_code == 200
            await fake.wait_for_messages(FIRST, 4, within=30)
            await fake.wait_for_messages(SECOND, 3, within=30)
            await wait_until(lambda: none_left(app, InboxUpdate), 20, "the inbox did not empty")
            await asyncio.sleep(1.5)  # time for a second send of anything to show
            await wait_until(lambda: none_left(app, OutboxMessage, PENDING), 20,
                             "the replies were not recorded as sent")
        async with app.sessions() as session:
            processed = (await session.scalars(select(ProcessedUpdate.update_id))).all()
    assert sorted(processed) == ["900001", "900002", "900003"]
    first, second = fake.messages(FIRST), fake.messages(SECOND)
    assert len(first) == 4 and "📱 Bagikan nomor HP saya" in first[3].labels  # NIP taken
    assert len(second) == 3 and "Selamat datang" in second[1].text and "NIP" in second[2].text
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "the database does not answer" in output and BUDI_NIP not in output
