"""Pacing, on a fake clock: the real sender over SQLite sends through a transport that notes
the (fake) time of every send, and the sender's sleeps move that clock instead of waiting.

Telegram: at most 20 messages in any minute to one group, one a second to one chat, 30 in
any second overall; WhatsApp 80 a second; a 429's retry_after pauses exactly that chat for
exactly that long while the others go on.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from bot.app import App, create_app
from bot.pacing import Limit, Pacer, Window, paces_from_settings
from bot.sender import is_group_chat
from bot.transport import TransientSendError
from flows.events import Channel
from storage.models import Chat, OutboxMessage
from tests.conftest import make_settings
from tests.support.sending import FakeClock, add_messages


class TimedTransport:
    """The network edge: notes when each message went; a chat can be refused with 429s."""

    def __init__(self, channel: Channel, clock: FakeClock) -> None:
        self.channel = channel
        self.clock = clock
        self.sent: list[tuple[datetime, str, str]] = []
        self.refused: list[tuple[datetime, str]] = []
        self.throttled: dict[str, list[float]] = defaultdict(list)

    async def send(self, chat_id, message):
        waits = self.throttled.get(chat_id)
        if waits:
            self.refused.append((self.clock(), chat_id))
            raise TransientSendError("429", retry_after=waits.pop(0))
        self.sent.append((self.clock(), chat_id, message.text))
        return str(len(self.sent))

    def times(self, chat_id: str | None = None) -> list[datetime]:
        return [at for at, chat, _ in self.sent if chat_id is None or chat == chat_id]

    def texts(self, chat_id: str) -> list[str]:
        return [text for _, chat, text in self.sent if chat == chat_id]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def paced(sqlite_url, clock):
    """The app with Telegram's and WhatsApp's default paces, and a timed transport each."""
    app = create_app(make_settings(sqlite_url, sender_batch_size=50), clock=clock)
    await app.migrate()
    transports = {}
    for channel in (Channel.TELEGRAM, Channel.WHATSAPP):
        transports[channel.value] = TimedTransport(channel, clock)
        app.add_transport(transports[channel.value])
    yield app, transports
    await app.close()


def most_in_any_window(times: list[datetime], window: timedelta) -> int:
    """The most sends in any window [t, t + window) — each starting at a send is enough."""
    ordered = sorted(times)
    return max((bisect_left(ordered, start + window) - i for i, start in enumerate(ordered)),
               default=0)


async def pending(app: App) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status == "pending")) or 0


async def test_one_group_chat_gets_at_most_20_messages_a_minute(paced) -> None:
    app, transports = paced
    telegram = transports["telegram"]
    group = "-1001234567890"
    await add_messages(app, "telegram", [(group, f"pesan {n}") for n in range(1000)],
                       kind="report")

    await app.sender.drain(wait=True)

    times = telegram.times(group)
    assert telegram.texts(group) == [f"pesan {n}" for n in range(1000)]  # all, in order
    assert most_in_any_window(times, timedelta(minutes=1)) == 20
    assert min(b - a for a, b in pairwise(times)) >= timedelta(seconds=1)
    # Not slower than the limit either: 20 a minute, one a second within the minute.
    assert times[-1] - times[0] == timedelta(minutes=49, seconds=19)
    assert await pending(app) == 0


async def test_1000_private_chats_get_30_a_second_overall_and_one_a_second_each(paced) -> None:
    app, transports = paced
    telegram = transports["telegram"]
    chats = [str(100_000 + n) for n in range(1000)]
    await add_messages(app, "telegram", [(chat, "Ayo lindungi pekerja rentan") for chat in chats],
                       kind="broadcast")
    # Ten of them also get a short conversation's worth: three messages each.
    await add_messages(app, "telegram", [(chat, f"balasan {n}") for chat in chats[:10]
                                         for n in range(3)], kind="news")

    await app.sender.drain(wait=True)

    times = telegram.times()
    assert len(times) == 1030 and len({chat for _, chat, _ in telegram.sent}) == 1000
    assert most_in_any_window(times, timedelta(seconds=1)) == 30
    for chat in chats[:10]:
        own = telegram.times(chat)
        assert telegram.texts(chat) == ["Ayo lindungi pekerja rentan", "balasan 0",
                                        "balasan 1", "balasan 2"]
        assert most_in_any_window(own, timedelta(seconds=1)) == 1
    # The pace is the limit: 1,030 messages at 30 a second take 34.3 s.
    assert timedelta(seconds=34.2) < times[-1] - times[0] < timedelta(seconds=34.4)


async def test_whatsapp_goes_at_80_a_second(paced) -> None:
    app, transports = paced
    whatsapp = transports["whatsapp"]
    await add_messages(app, "whatsapp", [(f"62812{n:07d}", "Halo") for n in range(1000)],
                       kind="broadcast")

    await app.sender.drain(wait=True)

    times = whatsapp.times()
    assert len(times) == 1000
    assert most_in_any_window(times, timedelta(seconds=1)) == 80
    assert timedelta(seconds=12.4) < times[-1] - times[0] < timedelta(seconds=12.5)


async def test_a_429_pauses_that_chat_exactly_that_long_while_others_go_on(paced) -> None:
    app, transports = paced
    telegram = transports["telegram"]
    slow = "555"
    others = [str(200_000 + n) for n in range(1200)]  # 40 s of sending at 30 a second
    await add_messages(app, "telegram", [(slow, f"pesan {n}") for n in range(3)], kind="reply")
    await add_messages(app, "telegram", [(chat, "Siaran") for chat in others], kind="broadcast")
    telegram.throttled[slow] = [12.0]

    await app.sender.drain(wait=True)

    [(refused_at, chat)] = telegram.refused
    assert chat == slow
    slow_times = telegram.times(slow)
    assert telegram.texts(slow) == ["pesan 0", "pesan 1", "pesan 2"]
    # The answer to a user went first; after the 429 it waits 12 s and not one slot more
    # (1/30 s is the overall spacing it shares with the broadcast).
    assert refused_at < telegram.times()[0]
    assert timedelta(seconds=12) <= slow_times[0] - refused_at < timedelta(seconds=12 + 1 / 30)
    assert [b - a for a, b in pairwise(slow_times)] == [
        timedelta(seconds=1)] * 2
    during = [at for at, chat, _ in telegram.sent if refused_at < at < slow_times[0]]
    assert len(during) >= 12 * 30 - 1  # the broadcast went on at full pace meanwhile
    assert most_in_any_window(telegram.times(), timedelta(seconds=1)) == 30


async def test_a_429_alone_resumes_exactly_after_retry_after(paced) -> None:
    app, transports = paced
    telegram = transports["telegram"]
    await add_messages(app, "telegram", [("555", "satu"), ("555", "dua"), ("777", "lain")],
                       kind="reply")
    telegram.throttled["555"] = [30.0]

    await app.sender.drain(wait=True)

    [(refused_at, _)] = telegram.refused
    assert telegram.sent == [
        (telegram.times("777")[0], "777", "lain"),
        (refused_at + timedelta(seconds=30), "555", "satu"),
        (refused_at + timedelta(seconds=31), "555", "dua"),
    ]


async def test_a_group_is_known_by_its_chat_record_or_a_negative_telegram_id(paced) -> None:
    app, transports = paced
    whatsapp = transports["whatsapp"]
    assert is_group_chat("telegram", "-100123", None)
    assert not is_group_chat("telegram", "123", None)
    assert is_group_chat("whatsapp", "120363", "group")
    assert not is_group_chat("telegram", "-100123", "private")
    async with app.sessions.begin() as session:
        session.add(Chat(channel="telegram", chat_id="4242", chat_type="group"))
    await add_messages(app, "telegram", [("4242", f"laporan {n}") for n in range(25)],
                       kind="report")
    await app.sender.drain(wait=True)
    times = transports["telegram"].times("4242")
    assert len(times) == 25 and most_in_any_window(times, timedelta(minutes=1)) == 20
    assert whatsapp.sent == []


def test_limits_from_settings_and_rates() -> None:
    settings = make_settings("sqlite+aiosqlite:///never-opened.db")
    paces = paces_from_settings(settings)
    assert paces["telegram"].overall == Limit(30, 1.0, smooth=True)
    assert paces["telegram"].per_chat == Limit(1, 1.0)
    assert paces["telegram"].per_group == Limit(20, 60.0)
    assert paces["whatsapp"].overall == Limit(80, 1.0, smooth=True)
    assert Limit.rate(0.5) == Limit(1, 2.0)
    assert Limit.rate(2.5, smooth=True) == Limit(1, 0.4, smooth=True)
    with pytest.raises(ValueError, match="above 0"):
        Limit.rate(0)


def test_a_pacer_forgets_chats_whose_limits_no_longer_bind() -> None:
    settings = make_settings("sqlite+aiosqlite:///never-opened.db")
    pacer = Pacer(paces_from_settings(settings)["telegram"])
    for n in range(1000):
        pacer.record(str(n), group=False, at=n / 30)
    pacer.forget_idle(now=1000 / 30 + 1)
    assert pacer.waiting_chats(now=0, horizon=0) == {}
    assert pacer.chat_ready_at("999") == float("-inf")


def test_a_smooth_limit_keeps_its_schedule_through_a_short_stall_but_not_after_quiet() -> None:
    window = Window(Limit(30, 1.0, smooth=True))
    window.record(0.0)
    assert window.ready_at() == pytest.approx(1 / 30)
    window.record(0.05)  # 17 ms late (the sender was claiming rows): the schedule holds
    assert window.ready_at() == pytest.approx(2 / 30)
    window.record(10.0)  # after ten quiet seconds: a fresh start, no burst to catch up
    assert window.ready_at() == pytest.approx(10 + 1 / 30)
    # Catching up never breaks the cap: at most `count` in any window.
    capped = Window(Limit(3, 1.0, smooth=True))
    for at in (0.0, 0.5, 0.7):  # the second one late, the third catching up
        assert capped.ready_at() <= at
        capped.record(at)
    assert capped.ready_at() == 1.0  # the first send's second is full
