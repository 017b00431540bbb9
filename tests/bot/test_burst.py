"""Ten updates from one user at once (issue 5): a fast typist, or a phone that was offline
and delivers its queue in one go. The dispatcher must take them in arrival order, one after
another, so each lands on the step the one before led to; the answers go out in that order.

The oracle is the same ten updates sent one by one by a colleague (Sri) on the same
database: the burst's answers must be exactly hers, in order. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from bot.app import App
from bot.console import make
from flows.events import Incoming, Kind
from storage.models import Enrollment, OutboxMessage, ProcessedUpdate, Unit
from tests.conftest import BUDI, SRI, RosterPerson, make_settings, migrated_app
from tests.support.chat import ChatClient

NIK = "3324015708800001"  # a woman born 17 August 1980


def enrolment_typed_fast(user: str, kecamatan_id: int, first_update: int) -> list[Incoming]:
    """From the main menu to the summary: ten steps of the enrolment, each one answer."""
    steps: list[tuple[Kind, str]] = [
        (Kind.BUTTON, "menu:enrol"),
        (Kind.BUTTON, "rel:art"),
        (Kind.TEXT, NIK),
        (Kind.TEXT, "Siti Aminah"),
        (Kind.TEXT, "17-08-1980"),
        (Kind.BUTTON, "job:pedagang"),
        (Kind.BUTTON, "phone:skip"),
        (Kind.BUTTON, f"kec:{kecamatan_id}"),
        (Kind.TEXT, "Kumpulrejo"),
        (Kind.BUTTON, "consent:yes"),
    ]
    return [
        make(user, kind, update_id=str(first_update + number),
             **({"payload": value} if kind is Kind.BUTTON else {"text": value}))
        for number, (kind, value) in enumerate(steps)
    ]


# A phrase of the answer to each step above, in order.
EXPECTED = ["Apa hubungan pekerja", "16 angka di KTP", "nama lengkap", "17 Agustus 1980",
            "pekerjaan", "nomor HP", "kecamatan", "desa atau kelurahan",
            "Persetujuan pekerja", "Ringkasan pendaftaran"]


async def login(app: App, user: str, person: RosterPerson) -> ChatClient:
    client = ChatClient(app, user_id=user)
    await client.send("/mulai")
    await client.send(person.nip)
    await client.share_contact(person.phone_local)
    assert (await client.state())[0] == "Menu:main", client.last.text
    return client


async def answers(app: App, user: str, after: int) -> list[str]:
    """The texts queued for `user` after outbox row `after`, in the order they are sent."""
    async with app.sessions() as session:
        found = await session.scalars(
            select(OutboxMessage.body_enc)
            .where(OutboxMessage.chat_id == user, OutboxMessage.id > after)
            .order_by(OutboxMessage.id))
        return [app.cipher.decrypt_json(body)["text"] for body in found]


async def newest_row(app: App) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.max(OutboxMessage.id))) or 0


async def test_ten_updates_at_once_are_taken_in_arrival_order(database_url):
    async with migrated_app(make_settings(database_url), roster=True) as app:
        budi = await login(app, "1001", BUDI)
        sri = await login(app, "2002", SRI)
        async with app.sessions() as session:
            patebon = await session.scalar(select(Unit.id).where(Unit.name == "Patebon"))
        assert patebon is not None

        # Sri, one at a time: what the ten answers must be.
        start = await newest_row(app)
        for update in enrolment_typed_fast(sri.user_id, patebon, first_update=100):
            assert await app.dispatcher.handle(update)
        expected = await answers(app, sri.user_id, start)

        # Budi, all ten at once.
        start = await newest_row(app)
        burst = enrolment_typed_fast(budi.user_id, patebon, first_update=200)
        handled = await asyncio.gather(*(app.dispatcher.handle(update) for update in burst))
        assert handled == [True] * 10
        got = await answers(app, budi.user_id, start)

        assert got == expected, "the burst was not taken in arrival order"
        assert len(got) == 10
        for text, phrase in zip(got, EXPECTED, strict=True):
            assert phrase in text, (phrase, text)
        assert "Siti Aminah".upper() in got[-1] and "3324••••••••0001" in got[-1]

        state, data = await budi.state()
        assert state == "Enrollment:summary"
        wanted: dict[str, Any] = {
            "relationship": "art", "nik": NIK, "name": "SITI AMINAH",
            "birth_date": "1980-08-17", "occupation": "pedagang", "phone": None,
            "kecamatan_id": patebon, "kecamatan": "Patebon", "desa": "Kumpulrejo",
        }
        assert wanted.items() <= data.items()
        _, hers = await sri.state()
        assert {**hers, "consent_at": None} == {**data, "consent_at": None}

        async with app.sessions() as session:
            done = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
            saved = await session.scalar(select(func.count()).select_from(Enrollment))
        assert done == 20, "every update recorded as processed once"
        assert saved == 0, "nothing saved before the summary's Simpan"

        # What Budi's phone shows: the ten answers, in the outbox's order.
        shown_before = len(budi.history)
        await app.sender.drain()
        assert [shown.text for shown in budi.history[shown_before:]] == got


async def test_the_same_burst_delivered_twice_is_taken_once(database_url):
    """A webhook retried while the first delivery is still being handled: each update's id
    is processed once, so the ten steps are not walked twice."""
    async with migrated_app(make_settings(database_url), roster=True) as app:
        budi = await login(app, "1001", BUDI)
        async with app.sessions() as session:
            patebon = await session.scalar(select(Unit.id).where(Unit.name == "Patebon"))
        assert patebon is not None
        start = await newest_row(app)
        burst = enrolment_typed_fast(budi.user_id, patebon, first_update=300)
        handled = await asyncio.gather(*(app.dispatcher.handle(update)
                                         for update in burst + burst))
        assert handled == [True] * 10 + [False] * 10
        got = await answers(app, budi.user_id, start)
        assert len(got) == 10 and all(
            phrase in text for text, phrase in zip(got, EXPECTED, strict=True))
        assert (await budi.state())[0] == "Enrollment:summary"
