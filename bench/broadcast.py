"""Broadcast benchmark: a camat's broadcast to 100,000 linked ASN, queued and then sent.

Issue 5: queued in at most 3 s; the sender's pace within 2% of the configured limit with a
fake transport.

Queueing goes through the real chat: the demo ASN identifies on the console channel, is made
camat of Patebon, opens /siaran, picks "Semua ASN" and the ready campaign, and the clock runs
around the one update that presses "Kirim sekarang" — the dispatcher's transaction that
writes the broadcast and its outbox rows (storage/broadcasts.py). The recipients are the
dataset's ASN 1..N, moved to Patebon and linked (two in three on Telegram, one in three on
WhatsApp, as the demo enrolments' channels).

Sending (SQLite): the app's own OutboxSender, paced from the settings (Telegram 30/s, WhatsApp
80/s), drains that broadcast through a recording transport that answers after 100-150 ms like
the platforms' APIs, one channel at a time (the sender claims the oldest due rows of the
channels it has transports for, so with both at once WhatsApp would wait for the Telegram
rows queued before it). The achieved rate is counted over the steady part of the run (the
first 10% of the sends left out) and compared with the configured limit.

    .venv/bin/python -m bench.broadcast [--recipients 100000] [--telegram-sends 2000]
                                        [--whatsapp-sends 4000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from sqlalchemy import func, select, update

from admin.demo_data import DEMO_ASN
from bench.dataset import Dataset, dataset
from bench.results import Recorder, add_common_arguments, engines
from bot.app import App, create_app
from bot.console import ConsoleTransport, make
from flows.events import Channel, Kind, OutgoingMessage
from storage.models import Asn, Broadcast, ChannelIdentity, OutboxMessage, Unit
from storage.roles import SqlRoleRepository
from tests.support.chat import ChatClient

NAME = "broadcast"
QUEUE_TARGET_SECONDS = 3.0
PACE_TARGET_PERCENT = 2.0
KECAMATAN = "Patebon"
CAMAT_CHAT = "900001"
WARM_UP = 0.10  # share of each channel's sends left out of the steady window
LINK_CHUNK = 5_000


class RecordingTransport:
    """The network edge: answers after 100-150 ms, notes when each send started; sets
    `enough` once `wanted` messages went out."""

    def __init__(self, channel: Channel, wanted: int, enough: asyncio.Event) -> None:
        self.channel = channel
        self.wanted = wanted
        self.enough = enough
        self.started: list[float] = []
        self._random = random.Random(channel.value)

    async def send(self, chat_id: str, message: OutgoingMessage) -> str | None:
        self.started.append(time.monotonic())
        await asyncio.sleep(self._random.uniform(0.100, 0.150))
        if len(self.started) >= self.wanted:
            self.enough.set()
        return f"{self.channel.value}-{len(self.started)}"


async def _link_recipients(app: App, count: int) -> None:
    """ASN 1..count (row ids 2..count+1) live in Patebon and have a linked chat."""
    now = app.clock()
    async with app.sessions.begin() as session:
        patebon = await session.scalar(select(Unit.id).where(Unit.kind == "kecamatan",
                                                             Unit.name == KECAMATAN))
        await session.execute(update(Asn).where(Asn.id > 1, Asn.id <= count + 1)
                              .values(kecamatan_id=patebon))
    table = ChannelIdentity.__table__
    for start in range(2, count + 2, LINK_CHUNK):
        rows = [{"channel": "whatsapp" if asn_id % 3 == 0 else "telegram",
                 "external_id": str(asn_id), "chat_id": str(asn_id), "asn_id": asn_id,
                 "linked_at": now}
                for asn_id in range(start, min(start + LINK_CHUNK, count + 2))]
        async with app.engine.begin() as connection:
            await connection.execute(table.insert(), rows)


async def _camat_at_preview(app: App) -> ChatClient:
    """The demo ASN identified, camat of Patebon, at the preview of the ready campaign."""
    camat = ChatClient(app, user_id=CAMAT_CHAT)
    await camat.send("/mulai")
    await camat.send(DEMO_ASN.nip)
    await camat.share_contact(DEMO_ASN.phone_local)
    async with app.sessions.begin() as session:
        roles = SqlRoleRepository(session)
        found = await roles.asn_by_nip(DEMO_ASN.nip)
        match = await roles.find_unit(KECAMATAN, "kecamatan")
        if found is None or match.unit is None:
            raise RuntimeError("the dataset lacks the demo ASN or Patebon")
        await roles.grant(found[0], "camat", match.unit.id, app.clock())
    await camat.send("/siaran")
    await camat.press("Semua ASN")
    await camat.press("📄 Ajakan umum")
    return camat


def _button(client: ChatClient, label: str) -> str:
    for row in client.last.buttons:
        for button in row:
            if button.label.startswith(label):
                return button.payload
    raise RuntimeError(f"no button {label!r} on the preview")


async def _queue(recorder: Recorder, engine: str, built: Dataset, recipients: int) -> App:
    app = create_app(built.settings())
    app.add_transport(ConsoleTransport(app.renderer, write=lambda _text: None))
    await _link_recipients(app, recipients)
    camat = await _camat_at_preview(app)
    payload = _button(camat, "✅ Kirim sekarang")
    started = time.perf_counter()
    await app.dispatcher.handle(make(CAMAT_CHAT, Kind.BUTTON, payload=payload,
                                     text="✅ Kirim sekarang"))
    elapsed = time.perf_counter() - started
    async with app.sessions() as session:
        queued = await session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.kind == "broadcast"))
        counted = await session.scalar(select(Broadcast.recipients))
    if queued != recipients or counted != recipients:
        raise RuntimeError(f"{queued} outbox rows and {counted} counted for {recipients}")
    recorder.inputs(engine, asn=built.asn, recipients=recipients, kecamatan=KECAMATAN,
                    outbox_rows=queued)
    recorder.add(engine, "queue broadcast (confirming update)", elapsed, "s",
                 QUEUE_TARGET_SECONDS)
    return app


def _steady_rate(started: list[float]) -> float:
    steady = started[int(len(started) * WARM_UP):]
    return (len(steady) - 1) / (steady[-1] - steady[0])


async def _send(recorder: Recorder, app: App, channel: Channel, wanted: int) -> None:
    """Run the app's sender with only `channel`'s transport until `wanted` messages went."""
    limit = {Channel.TELEGRAM: app.settings.telegram_rate_overall,
             Channel.WHATSAPP: app.settings.whatsapp_rate_overall}[channel]
    enough = asyncio.Event()
    transport = RecordingTransport(channel, wanted, enough)
    app.add_transport(transport)
    stop = asyncio.Event()
    running = asyncio.create_task(app.sender.run(stop))
    try:
        await enough.wait()
    finally:
        stop.set()
        await running
        del app.transports[channel.value]
    rate = _steady_rate(transport.started)
    case = f"sqlite, {channel.value}"
    recorder.inputs(case, limit_per_second=limit, sends=len(transport.started),
                    steady_window=len(transport.started) - int(len(transport.started) * WARM_UP),
                    answer_ms="100-150")
    recorder.add(case, "achieved rate", rate, "msg/s")
    recorder.add(case, "deviation from limit", abs(rate - limit) / limit * 100, "%",
                 PACE_TARGET_PERCENT)


async def measure(recorder: Recorder, engine: str, recipients: int,
                  sends: dict[Channel, int] | None, postgres_url: str) -> None:
    async with dataset(engine, recipients + 1, 0, postgres_url) as built:
        app = await _queue(recorder, engine, built, recipients)
        try:
            for channel, wanted in (sends or {}).items():
                if wanted > 0:
                    await _send(recorder, app, channel, wanted)
        finally:
            await app.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--telegram-sends", type=int, default=2_000,
                        help="Telegram messages the sender sends (0: no Telegram run)")
    parser.add_argument("--whatsapp-sends", type=int, default=4_000,
                        help="WhatsApp messages the sender sends (0: no WhatsApp run)")
    add_common_arguments(parser)
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.recipients, arguments.telegram_sends, arguments.whatsapp_sends = 3_000, 90, 240
    recorder = Recorder(NAME, arguments.json)
    for engine in engines(arguments):
        sends = ({Channel.TELEGRAM: arguments.telegram_sends,
                  Channel.WHATSAPP: arguments.whatsapp_sends} if engine == "sqlite" else None)
        asyncio.run(measure(recorder, engine, arguments.recipients, sends,
                            arguments.postgres_url))


if __name__ == "__main__":
    main()
