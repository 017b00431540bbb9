"""Two `asn-peduli serve` and two `asn-peduli worker` processes on one PostgreSQL database,
fed the same Telegram webhooks from several users at once with duplicates mixed in.

Ten ASN enrol a worker at the same time, the whole conversation. Each update is posted to one
of the two servers, and a good share twice: to the same server again, to the other one at the
same moment, or to the other one after the reply came (Telegram redelivering). Four senders
(one in each process) share the outbox. What the users see must be exactly what one process
taking the same updates one by one shows them (the reference run, on SQLite): every reply,
in order, once. The database must hold each update processed once, each enrolment submitted
once, the same audit entries and the same final conversations as the reference.

The same is then asked of bursts: a user's fifteen updates posted at once, before any reply.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from admin.demo_data import DemoPerson, demo_people, write_demo_data
from bot.app import App
from bot.settings import Settings
from bot.telegram.channel import TelegramBot
from bot.telegram.webhook import process_webhook_update
from storage.models import (
    Asn,
    AuditLog,
    Enrollment,
    InboxUpdate,
    OutboxMessage,
    ProcessedUpdate,
)
from tests.conftest import make_settings, migrated_app
from tests.support.fake_graph import until_healthy
from tests.support.fake_telegram import FakeTelegram
from tests.support.loopback import bind_free, wait_until
from tests.support.processes import cli_env, conversation_state, start_cli
from tests.support.webhooks import Poster, Step, update

pytestmark = pytest.mark.postgres

USERS = 10
ASN = 40  # demo ASN in the roster; the users are numbers 1..USERS (not the demo ASN)
FIRST_USER = 6_100_000
SECRET = "tg-secret-multi"
FAST = "1000"  # messages per second: pacing has its own tests


def _nik(index: int) -> str:
    """A valid NIK per user that no demo worker holds (region 3324 99)."""
    return f"332499{index + 1:02d}0{index % 9 + 1}85{index:04d}"


def script(person: DemoPerson, index: int) -> list[Step]:
    """The whole enrolment: identify, then a worker from relationship to agreed deduction."""
    text, button = (lambda v: Step("text", v)), (lambda v: Step("button", v))
    return [
        text("/mulai"), text(person.nip), Step("contact", person.phone.lstrip("+")),
        button("menu:enrol"), button("rel:art"), text(_nik(index)), text("Siti Aminah"),
        button("dob:nik"), button("job:pedagang"), button("phone:skip"), text("Patebon"),
        text("Kumpulrejo"), button("consent:yes"), button("sum:save"), button("ded:agree"),
    ]


@dataclass
class User:
    chat: int
    steps: list[Step]
    asn_nip: str

    def update_id(self, step: int) -> int:
        return self.chat * 100 + step


def users() -> list[User]:
    people = demo_people(ASN)[1:USERS + 1]
    return [User(FIRST_USER + i, script(person, i), person.nip)
            for i, person in enumerate(people)]


def last_buttons(fake: FakeTelegram, chat: int) -> int:
    """The id of the latest message to `chat` with inline buttons (1 before any)."""
    for message in reversed(fake.messages(chat)):
        if message.inline_buttons:
            return message.message_id
    return 1


def fast_settings(database_url: str, fake: FakeTelegram) -> Settings:
    return make_settings(database_url, telegram_bot_token=fake.token,
                         telegram_api_base_url=fake.url, telegram_webhook_secret=SECRET,
                         telegram_rate_private_chat=float(FAST),
                         telegram_rate_overall=float(FAST))


# -- what one process shows, taking the updates one by one ---------------------------------


@dataclass
class Outcome:
    """What the users saw (per chat, per step) and what the database holds of their run."""

    shown: dict[int, list[list[str]]]
    states: dict[int, tuple[str | None, dict[str, Any]]]
    audit: Counter[str]
    enrolments: list[tuple[str, str]]  # (ASN's NIP, status), one per enrolment


async def audit_actions(app: App) -> Counter[str]:
    async with app.sessions() as session:
        rows = (await session.execute(
            select(AuditLog.action, func.count()).group_by(AuditLog.action))).all()
    return Counter({action: count for action, count in rows})


async def enrolments(app: App, people: list[User]) -> list[tuple[str, str]]:
    """The users' enrolments, the demo data's (one of them protects a worker) included."""
    async with app.sessions() as session:
        rows = (await session.execute(
            select(Asn.nip, Enrollment.status).join(Asn, Enrollment.asn_id == Asn.id)
            .where(Asn.nip.in_([user.asn_nip for user in people])))).all()
    return sorted((nip, status) for nip, status in rows)


async def states(app: App, bot_id: int, people: list[User]
                 ) -> dict[int, tuple[str | None, dict[str, Any]]]:
    return {user.chat: await conversation_state(app, bot_id, user.chat) for user in people}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """The users' conversations taken one update at a time by one process (SQLite)."""
    return asyncio.run(_reference(tmp_path_factory.mktemp("reference") / "asn.db"))


async def _reference(database: Path) -> Outcome:
    people = users()
    async with FakeTelegram() as fake:
        fake.chats(user.chat for user in people)
        settings = fast_settings(f"sqlite+aiosqlite:///{database}", fake)
        async with migrated_app(settings) as app:
            await write_demo_data(app, asn_count=ASN)
            before = await audit_actions(app)
            bot = TelegramBot(app)
            await bot.initialize()
            try:
                shown: dict[int, list[list[str]]] = {}
                for user in people:
                    shown[user.chat] = []
                    for n, step in enumerate(user.steps):
                        seen = len(fake.messages(user.chat))
                        await process_webhook_update(bot, update(
                            fake, user.update_id(n), user.chat, step,
                            last_buttons(fake, user.chat)))
                        await app.sender.drain()
                        shown[user.chat].append(
                            [m.text for m in fake.messages(user.chat)[seen:]])
            finally:
                await bot.stop()
            return Outcome(shown, await states(app, fake.bot_id, people),
                           await audit_actions(app) - before, await enrolments(app, people))


# -- two servers and two workers on PostgreSQL ---------------------------------------------


@dataclass
class Cluster:
    app: App
    fake: FakeTelegram
    servers: list[str]
    audit_before: Counter[str]


@pytest.fixture
async def cluster(postgres_url: str, fake: FakeTelegram, tmp_path: Path,
                  children: list[asyncio.subprocess.Process]) -> AsyncIterator[Cluster]:
    settings = fast_settings(postgres_url, fake)
    fake.chats(user.chat for user in users())
    async with migrated_app(settings) as app:
        await write_demo_data(app, asn_count=ASN)
        env = cli_env(settings, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
                      TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_RATE_PRIVATE_CHAT=FAST,
                      TELEGRAM_RATE_OVERALL=FAST)
        servers: list[str] = []
        starting = []
        for n in range(2):
            sock, url = bind_free()
            port = sock.getsockname()[1]
            sock.close()  # a free port, for the child to bind
            servers.append(url)
            log = tmp_path / f"serve-{n}.log"
            starting.append(start_cli(
                "serve", env | {"WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)}, tmp_path,
                log, lambda child, url=url, log=log: until_healthy(
                    url, lambda: _alive(child, log), 60, what=log.read_text, every=0.1)))
        asked = len(fake.calls_of("getMe"))
        for n in range(2):
            starting.append(start_cli("worker", env, tmp_path, tmp_path / f"worker-{n}.log",
                                      lambda _: asyncio.sleep(0)))
        children.extend(await asyncio.gather(*starting))
        # Each of the four asks Telegram who it is once it is up.
        await fake.wait_for_call("getMe", asked + 4, within=60)
        yield Cluster(app, fake, servers, await audit_actions(app))


def _alive(child: asyncio.subprocess.Process, log: Path) -> None:
    assert child.returncode is None, log.read_text()


async def deliver(poster: Poster, cluster: Cluster, body: dict[str, Any], rng: random.Random,
                  late: list[dict[str, Any]]) -> None:
    """Post `body` once or twice: once; twice to one server; to both at the same moment; or
    once now and again later (into `late`). Every answer must be 200."""
    first, other = rng.sample(cluster.servers, 2)
    plan = rng.random()
    if plan < 0.4:
        answers = [await poster.post(first, body)]
    elif plan < 0.6:
        answers = [await poster.post(first, body), await poster.post(first, body)]
    elif plan < 0.85:
        answers = list(await asyncio.gather(poster.post(first, body),
                                            poster.post(other, body)))
    else:
        answers = [await poster.post(first, body)]
        late.append(body)
    assert [answer.status_code for answer in answers] == [200] * len(answers)


async def redeliver(poster: Poster, cluster: Cluster, late: list[dict[str, Any]],
                    rng: random.Random) -> None:
    for body in late:
        assert (await poster.post(rng.choice(cluster.servers), body)).status_code == 200


async def converse(cluster: Cluster, poster: Poster, user: User, expected: list[list[str]],
                   seed: int) -> None:
    """A user who answers each reply once it has arrived: they wait for the texts the
    reference run showed for that step (not for a count of messages, which a message from
    the scheduler would also make up)."""
    rng = random.Random(seed)
    fake = cluster.fake
    late: list[dict[str, Any]] = []
    awaited: list[str] = []
    for n, step in enumerate(user.steps):
        body = update(fake, user.update_id(n), user.chat, step, last_buttons(fake, user.chat))
        await deliver(poster, cluster, body, rng, late)
        awaited += expected[n]
        await arrived_in_order(fake, user.chat, list(awaited))
        await redeliver(poster, cluster, late, rng)
        late.clear()


async def arrived_in_order(fake: FakeTelegram, chat: int, awaited: list[str]) -> None:
    """Until the chat has received `awaited` in this order (others may stand between)."""

    def arrived() -> bool:
        remaining = iter(message.text for message in fake.messages(chat))
        return all(text in remaining for text in awaited)

    await wait_until(arrived, 60, lambda: f"chat {chat} did not get, in order: {awaited}")


async def burst(cluster: Cluster, poster: Poster, user: User, seed: int) -> None:
    """A user whose updates all come at once (arrival order kept: each is answered before
    the next is posted); some are delivered again after the burst."""
    rng = random.Random(seed)
    late: list[dict[str, Any]] = []
    for n, step in enumerate(user.steps):
        await deliver(poster, cluster, update(cluster.fake, user.update_id(n), user.chat, step,
                                              1), rng, late)
    await redeliver(poster, cluster, late, rng)


async def check(cluster: Cluster, reference: Outcome) -> None:
    """What every user saw and what the database holds equal the reference run."""
    app, fake, people = cluster.app, cluster.fake, users()
    expected = {chat: [text for step in steps for text in step]
                for chat, steps in reference.shown.items()}
    for user in people:
        await fake.wait_for_messages(user.chat, len(expected[user.chat]), within=60)
    await wait_until(lambda: _settled(app), 30, "the inbox or the outbox did not empty")
    await asyncio.sleep(2)  # long enough for any second send of a message to show
    for user in people:
        assert [m.text for m in fake.messages(user.chat)] == expected[user.chat], user.chat

    update_ids = {str(user.update_id(n)) for user in people for n in range(len(user.steps))}
    async with app.sessions() as session:
        processed = (await session.scalars(select(ProcessedUpdate.update_id).where(
            ProcessedUpdate.channel == "telegram"))).all()
        assert sorted(processed) == sorted(update_ids)
        sent = Counter((await session.scalars(select(OutboxMessage.chat_id).where(
            OutboxMessage.status == "sent"))).all())
    assert sent == Counter({str(chat): len(texts) for chat, texts in expected.items()})
    assert await enrolments(app, people) == reference.enrolments
    assert Counter(status for _, status in reference.enrolments)["submitted"] >= USERS - 2
    assert await audit_actions(app) - cluster.audit_before == reference.audit
    assert await states(app, fake.bot_id, people) == reference.states


async def _settled(app: App) -> bool:
    async with app.sessions() as session:
        inbox = await session.scalar(select(func.count()).select_from(InboxUpdate))
        waiting = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status != "sent"))
    return inbox == 0 and waiting == 0


async def test_users_answering_each_reply_see_every_reply_once_in_order(
    cluster: Cluster, reference: Outcome
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        poster = Poster(SECRET, client)
        await asyncio.gather(*(converse(cluster, poster, user, reference.shown[user.chat], n)
                               for n, user in enumerate(users())))
    await check(cluster, reference)


async def test_bursts_of_updates_are_taken_in_order_once(
    cluster: Cluster, reference: Outcome
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        poster = Poster(SECRET, client)
        await asyncio.gather(*(burst(cluster, poster, user, 100 + n)
                               for n, user in enumerate(users())))
        await wait_until(lambda: _settled(cluster.app), 120, "the bursts were not processed")
    await check(cluster, reference)
