"""The scheduler: reminders and the monthly report, queued once, at their time, never at
night or on a Sunday, caught up after an outage, and never to someone who said no.

A fake clock drives `Scheduler.run_once`; the database is real (SQLite, and PostgreSQL for
the rules' SQL and for two schedulers racing). What a user would see is read back from the
outbox, decrypted, and in one test delivered through the console channel.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest
from sqlalchemy import select, text, update

from bot.app import App, create_app
from bot.scheduler import Scheduler
from storage.models import (
    Attachment,
    ConversationState,
    OutboxMessage,
    ReminderLog,
)
from tests.conftest import BUDI, SRI, make_settings, migrated_app
from tests.support.chat import ChatClient, texts
from tests.support.outbox_texts import outbox
from tests.support.processes import count
from tests.support.reminder_world import EARLY, World, wib
from tests.support.route import enrol


async def logged(app: App) -> set[tuple[str, str]]:
    async with app.sessions() as session:
        return set((await session.execute(select(ReminderLog.kind, ReminderLog.subject))).all())


@pytest.fixture
def app(app_any_db):
    """The application on SQLite and on PostgreSQL (the rules are SQL: both must agree)."""
    return app_any_db


@pytest.fixture
def world(app) -> World:
    return World(app)


@pytest.fixture
def scheduler(app) -> Scheduler:
    return Scheduler(app)


# --- unfinished enrolments ------------------------------------------------------------------

async def test_a_draft_is_reminded_after_one_day_and_after_three_days(app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    await world.enrolment(budi, "draft", wib(18, 10))

    assert await scheduler.run_once(wib(19, 9, 59)) == 0
    assert await scheduler.run_once(wib(19, 10)) == 1
    assert await scheduler.run_once(wib(19, 10)) == 0
    assert await scheduler.run_once(wib(20, 12)) == 0
    assert await scheduler.run_once(wib(21, 9, 59)) == 0
    assert await scheduler.run_once(wib(21, 10)) == 1
    assert await scheduler.run_once(wib(22, 10)) == 0
    assert await scheduler.run_once(wib(29, 10)) == 0

    sent = await outbox(app)
    assert [(message.chat_id, message.kind) for message in sent] == [
        (world.chat_of(budi), "reminder")] * 2
    first = sent[0].text
    assert "Halo, Budi Santoso. Pendaftaran pekerja Anda belum selesai." in first
    assert "<b>SITI AMINAH</b> sudah tersimpan" in first and "Rp16.800 per pekerja" in first
    assert 'Ketik /mulai, lalu buka menu "Pekerja saya"' in first
    assert "Tidak ingin menerima pengingat?" in first and "\"Matikan pengingat\"" in first


async def test_a_conversation_left_while_typing_the_worker_is_reminded(app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    sri = await world.asn("Sri Lestari", opd)
    await world.conversation(budi, "Enrollment:nik", wib(18, 10))
    await world.conversation(sri, "Menu:main", wib(18, 10))  # at rest: nothing to finish

    assert await scheduler.run_once(wib(19, 9)) == 0
    assert await scheduler.run_once(wib(19, 10)) == 1
    [message] = await outbox(app)
    assert message.chat_id == world.chat_of(budi)
    assert "terhenti di tengah jalan" in message.text and "sudah tersimpan" not in message.text


async def test_new_activity_starts_the_days_again(app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    await world.conversation(budi, "Enrollment:name", wib(18, 10))
    assert await scheduler.run_once(wib(19, 10)) == 1
    async with app.sessions.begin() as session:  # Budi answered one more question
        await session.execute(update(ConversationState).values(
            state="Enrollment:birth_date", updated_at=wib(19, 11)))
    assert await scheduler.run_once(wib(20, 10, 59)) == 0
    assert await scheduler.run_once(wib(20, 11)) == 1  # 1 day after the last step
    assert await scheduler.run_once(wib(21, 10)) == 0  # 3 days after the first stop: no
    assert await scheduler.run_once(wib(22, 10, 59)) == 0
    assert await scheduler.run_once(wib(22, 11)) == 1  # 3 days after the last step
    assert await scheduler.run_once(wib(29, 11)) == 0


async def test_a_draft_and_its_agreement_step_make_one_reminder(app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    await world.enrolment(budi, "draft", wib(18, 10))
    await world.conversation(budi, "Deduction:confirm", wib(18, 10))
    assert await scheduler.run_once(wib(19, 10)) == 1
    [message] = await outbox(app)
    assert "SITI AMINAH" in message.text and "terhenti" not in message.text


async def test_nothing_at_night_and_the_held_reminder_goes_at_seven(app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    await world.enrolment(budi, "draft", wib(18, 22, 30))  # due Tuesday 22:30, at night

    for night in (wib(19, 22, 30), wib(19, 23, 59), wib(20, 0, 1), wib(20, 6, 59)):
        assert await scheduler.run_once(night) == 0, night
    assert await scheduler.run_once(wib(20, 7)) == 1
    assert len(await outbox(app)) == 1


async def test_nothing_on_sunday_and_the_held_reminder_goes_on_monday_at_seven(
        app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    await world.enrolment(budi, "draft", wib(23, 10))  # Saturday: due Sunday 10:00

    for sunday in (wib(24, 10), wib(24, 12), wib(24, 20, 59)):
        assert await scheduler.run_once(sunday) == 0, sunday
    assert await scheduler.run_once(wib(25, 6, 59)) == 0
    assert await scheduler.run_once(wib(25, 7)) == 1


async def test_after_five_days_down_the_draft_gets_one_reminder_and_both_are_logged(
        app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    await world.enrolment(budi, "draft", wib(18, 10))

    assert await scheduler.run_once(wib(23, 12)) == 1
    assert await scheduler.run_once(wib(23, 12, 1)) == 0
    assert await scheduler.run_once(wib(30, 12)) == 0
    assert len(await outbox(app)) == 1
    assert await logged(app) == {("unfinished_1d", f"asn:{budi}"),
                                 ("unfinished_3d", f"asn:{budi}")}


async def test_reminders_switched_off_send_nothing_and_bring_nothing_back(
        app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd, reminders=False)
    await world.enrolment(budi, "draft", wib(18, 10))
    ani = await world.asn("Ani Wijaya", opd, reminders=False)  # no worker: the campaign

    assert await scheduler.run_once(wib(19, 10)) == 0
    await world.reminders(budi, enabled=True)
    await world.reminders(ani, enabled=True)
    # Budi's 1-day reminder and Ani's August campaign fell due while they were off: they do
    # not come now that reminders are on again...
    assert await scheduler.run_once(wib(19, 11)) == 0
    # ...and the next ones come as usual.
    assert await scheduler.run_once(wib(21, 10)) == 1
    assert await scheduler.run_once(wib(10, 7, month=9)) == 1
    sent = await outbox(app)
    assert [message.chat_id for message in sent] == [world.chat_of(budi), world.chat_of(ani)]


async def test_an_unreachable_recipient_gets_nothing(app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    await world.enrolment(budi, "draft", wib(18, 10))
    await world.unreachable(world.chat_of(budi))
    assert await scheduler.run_once(wib(19, 10)) == 0
    assert await scheduler.run_once(wib(21, 10)) == 0
    assert await outbox(app) == []


# --- no worker yet: the monthly campaign ----------------------------------------------------

async def test_the_monthly_campaign_reaches_linked_asn_without_a_worker(app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    lone = await world.asn("Ani Wijaya", opd, linked_at=EARLY)
    await world.asn("Not Linked", opd, linked_at=None)
    protecting = await world.asn("Dewi Protecting", opd, linked_at=EARLY)
    await world.enrolment(protecting, "submitted", wib(5, 10))
    refused = await world.asn("Eko Refused", opd, linked_at=EARLY)
    await world.enrolment(refused, "rejected", wib(5, 10))  # rejected holds no worker
    typing = await world.asn("Fajar Typing", opd, linked_at=EARLY)
    await world.conversation(typing, "Enrollment:nik", wib(9, 20))  # at it right now

    # July's campaign fell due before they linked (1 August): nothing owed before the 10th.
    assert await scheduler.run_once(wib(9, 12)) == 0
    # The 10th of August 2025 is a Sunday: the campaign waits for Monday 07:00.
    assert await scheduler.run_once(wib(10, 8)) == 0
    assert await scheduler.run_once(wib(11, 6, 59)) == 0
    # Fajar, who stopped typing on Saturday evening, is owed the unfinished-enrolment
    # reminder instead (due Sunday evening, held to Monday too).
    assert await scheduler.run_once(wib(11, 7)) == 3
    assert await scheduler.run_once(wib(11, 7)) == 0
    assert await scheduler.run_once(wib(25, 10)) == 1  # Fajar's 3-day reminder
    sent = await outbox(app)
    campaigns = [message for message in sent if "Sudahkah" in message.text]
    assert {message.chat_id for message in campaigns} == {world.chat_of(lone),
                                                          world.chat_of(refused)}
    assert {message.chat_id for message in sent} - {world.chat_of(lone),
                                                    world.chat_of(refused)} == {
        world.chat_of(typing)}
    campaign = campaigns[0].text
    assert "Halo, Ani Wijaya." in campaign and "<b>Rp16.800</b> sebulan" in campaign
    assert '"Daftarkan pekerja"' in campaign and "/mulai" in campaign
    assert "Tidak ingin menerima pengingat?" in campaign
    # September's comes on the 10th of September (a Wednesday) at 07:00.
    assert await scheduler.run_once(wib(10, 6, 59, month=9)) == 0
    assert await scheduler.run_once(wib(10, 7, month=9)) == 2


# --- coordinators ---------------------------------------------------------------------------

async def test_a_coordinator_hears_of_their_own_opd_pending_on_working_days_at_nine(
        app, world, scheduler):
    health = await world.unit("Dinas Kesehatan")
    schools = await world.unit("Dinas Pendidikan")
    roads = await world.unit("Dinas Pekerjaan Umum")
    budi = await world.asn("Budi Santoso", health)
    sri = await world.asn("Sri Lestari", schools)
    rudi = await world.asn("Rudi Roads", roads)
    for unit, coordinator in ((health, budi), (schools, sri), (roads, rudi)):
        await world.coordinator(coordinator, unit)
    for _ in range(2):
        member = await world.asn("Health Member", health)
        await world.enrolment(member, "submitted", wib(20, 10))
    await world.enrolment(await world.asn("Verified", health), "verified", wib(20, 10))
    await world.enrolment(await world.asn("School Member", schools), "submitted", wib(20, 10))
    # Rudi's OPD has nothing waiting; other OPD's pending are not his.

    assert await scheduler.run_once(wib(21, 8, 59)) == 0  # Thursday, before nine
    assert await scheduler.run_once(wib(21, 9)) == 2
    assert await scheduler.run_once(wib(21, 15)) == 0
    assert await scheduler.run_once(wib(22, 9)) == 2  # Friday
    assert await scheduler.run_once(wib(23, 9)) == 0  # Saturday: not a working day
    assert await scheduler.run_once(wib(25, 8, 59)) == 0
    assert await scheduler.run_once(wib(25, 9)) == 2  # Monday
    sent = await outbox(app)
    by_chat = {message.chat_id: message.text for message in sent}
    assert set(by_chat) == {world.chat_of(budi), world.chat_of(sri)}
    assert "<b>2 pendaftaran menunggu verifikasi</b> di Dinas Kesehatan" in by_chat[
        world.chat_of(budi)]
    assert "<b>1 pendaftaran menunggu verifikasi</b> di Dinas Pendidikan" in by_chat[
        world.chat_of(sri)]
    assert "/verifikasi" in by_chat[world.chat_of(budi)]


async def test_a_coordinator_of_one_opd_is_not_reminded_of_another_opd(app, world, scheduler):
    health = await world.unit("Dinas Kesehatan")
    schools = await world.unit("Dinas Pendidikan")
    budi = await world.asn("Budi Santoso", health)
    await world.coordinator(budi, health)
    await world.enrolment(await world.asn("School Member", schools), "submitted", wib(20, 10))
    assert await scheduler.run_once(wib(22, 9)) == 0
    assert await outbox(app) == []


async def test_a_coordinator_mid_conversation_is_reminded_once_they_are_quiet(
        app, world, scheduler):
    """The reminder is held while the coordinator talks to the bot (it would land between a
    button press and its answer) and goes out, once, after ten quiet minutes."""
    health = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", health)
    await world.coordinator(budi, health)
    await world.enrolment(await world.asn("Health Member", health), "submitted", wib(20, 10))
    await world.wrote(budi, wib(21, 8, 58))

    assert await scheduler.run_once(wib(21, 9)) == 0
    await world.wrote(budi, wib(21, 9, 5))  # still talking
    assert await scheduler.run_once(wib(21, 9, 14)) == 0
    assert await logged(app) == set()  # held, not skipped
    assert await scheduler.run_once(wib(21, 9, 15)) == 1
    assert await scheduler.run_once(wib(21, 9, 30)) == 0
    [sent] = await outbox(app)
    assert sent.chat_id == world.chat_of(budi) and "menunggu verifikasi" in sent.text


async def test_an_unfinished_enrolment_reminder_waits_for_the_conversation_to_pause(
        app, world, scheduler):
    opd = await world.unit("Dinas Kesehatan")
    budi = await world.asn("Budi Santoso", opd)
    sri = await world.asn("Sri Lestari", opd)
    await world.enrolment(budi, "draft", wib(18, 10))
    await world.enrolment(sri, "draft", wib(18, 10))
    await world.wrote(budi, wib(19, 9, 55))

    assert await scheduler.run_once(wib(19, 10)) == 1  # Sri only: Budi is talking
    assert [m.chat_id for m in await outbox(app)] == [world.chat_of(sri)]
    assert await scheduler.run_once(wib(19, 10, 5)) == 1  # Budi, quiet for ten minutes
    assert await scheduler.run_once(wib(19, 10, 6)) == 0


async def test_a_hold_of_zero_minutes_sends_at_once(sqlite_url):
    async with migrated_app(make_settings(sqlite_url, reminder_hold_minutes=0)) as app:
        world = World(app)
        health = await world.unit("Dinas Kesehatan")
        budi = await world.asn("Budi Santoso", health)
        await world.coordinator(budi, health)
        await world.enrolment(await world.asn("Member", health), "submitted", wib(20, 10))
        await world.wrote(budi, wib(21, 9))
        assert await Scheduler(app).run_once(wib(21, 9)) == 1


# --- the report day -------------------------------------------------------------------------

async def seed_report(world: World) -> dict[str, int]:
    """Two OPD (one at 100%), a kecamatan, and group chats linked to each or to nothing."""
    health = await world.unit("Dinas Kesehatan")
    schools = await world.unit("Dinas Pendidikan")
    patebon = await world.unit("Patebon", kind="kecamatan")
    for index in range(4):
        asn = await world.asn(f"Health {index}", health, kecamatan_id=patebon)
        if index < 2:
            await world.enrolment(asn, "submitted", wib(5, 10))
    await world.enrolment(await world.asn("Teacher", schools), "registered", wib(5, 10))
    await world.group("-1001", health)
    await world.group("-1002", patebon)
    await world.group("-1003", None)  # a group nobody linked
    return {"health": health, "schools": schools, "patebon": patebon}


async def test_the_report_day_pushes_one_report_with_its_chart_to_each_linked_group(
        app, world, scheduler):
    await seed_report(world)

    assert await scheduler.run_once(wib(1, 7, 59, month=9)) == 0
    assert await scheduler.run_once(wib(1, 8, month=9)) == 2
    assert await scheduler.run_once(wib(1, 8, month=9)) == 0
    assert await scheduler.run_once(wib(9, 8, month=9)) == 0

    sent = await outbox(app)
    assert sorted(message.chat_id for message in sent) == ["-1001", "-1002"]
    assert {message.kind for message in sent} == {"report"}
    health, patebon = sorted(sent, key=lambda message: message.chat_id)
    # one chart per kind, shared by the groups of that kind: the OPD ranked for an OPD's
    # group, the kecamatan for a kecamatan's
    assert health.image is not None and patebon.image is not None
    assert health.image != patebon.image
    assert "Perkembangan ASN Peduli" in health.text and "Per 1 September 2025" in health.text
    assert "3 dari 5 ASN (60%)" in health.text
    assert "Sudah 100%: Dinas Pendidikan" in health.text
    assert "<b>Dinas Kesehatan</b>: 2 dari 4 ASN (50%), peringkat 2 dari 2 OPD" in health.text
    assert "<b>Patebon</b>: 2 dari 4 ASN (50%), peringkat 1 dari 1 kecamatan" in patebon.text
    async with app.sessions() as session:
        charts = (await session.scalars(select(Attachment))).all()
    assert [(chart.id, chart.filename) for chart in charts] == [
        (health.image, "partisipasi-opd-2025-08.png"),
        (patebon.image, "partisipasi-kecamatan-2025-08.png")]
    assert {chart.content_type for chart in charts} == {"image/png"}
    assert all(chart.data.startswith(b"\x89PNG\r\n\x1a\n") for chart in charts)


async def test_a_report_missed_while_the_bot_was_down_goes_out_once_when_it_is_back(
        app, world, scheduler):
    await seed_report(world)
    await world.group("-1004", await world.unit("Dinas Sosial"), linked_at=wib(2, 9, month=9))
    await world.unreachable("-1002")  # the bot was removed from that group

    assert await scheduler.run_once(wib(1, 14, month=9)) == 1  # down from 07:00 to 14:00
    assert await scheduler.run_once(wib(2, 10, month=9)) == 0  # -1004 linked after the day
    sent = await outbox(app)
    assert [message.chat_id for message in sent] == ["-1001"]
    await scheduler.run_once(wib(1, 8, month=10))
    october = [message.chat_id for message in (await outbox(app))[1:] if message.kind == "report"]
    assert sorted(october) == ["-1001", "-1004"]


# --- an outage, a repeated run, two schedulers ----------------------------------------------

async def seed_everything(world: World) -> dict[str, str]:
    """One of each rule due by Saturday 6 September 2025, 10:00."""
    health = await world.unit("Dinas Kesehatan")
    coordinator = await world.asn("Budi Coordinator", health)
    await world.coordinator(coordinator, health)
    member = await world.asn("Sri Member", health)
    await world.enrolment(member, "submitted", wib(20, 10))
    drafter = await world.asn("Dian Draft", health)
    await world.enrolment(drafter, "draft", wib(1, 10, month=9))
    lone = await world.asn("Ani Lone", health, linked_at=EARLY)  # August's campaign owed
    await world.group("-1001", health)
    return {"coordinator": world.chat_of(coordinator), "drafter": world.chat_of(drafter),
            "lone": world.chat_of(lone), "group": "-1001"}


async def test_after_five_days_down_each_owed_message_goes_out_once(app, world, scheduler):
    chats = await seed_everything(world)
    # Down from Monday 1 September 07:00 until Saturday 6 September 10:00.
    assert await scheduler.run_once(wib(6, 10, month=9)) == 4
    assert await scheduler.run_once(wib(6, 10, month=9)) == 0
    assert await scheduler.run_once(wib(6, 18, month=9)) == 0
    sent = await outbox(app)
    assert sorted((message.chat_id, message.kind) for message in sent) == sorted([
        (chats["coordinator"], "reminder"), (chats["drafter"], "reminder"),
        (chats["lone"], "reminder"), (chats["group"], "report"),
    ])


async def test_run_keeps_going_until_stopped_and_logs_failures_without_personal_data(
        app, world, caplog):
    chats = await seed_everything(world)
    stop = asyncio.Event()

    def clock() -> datetime:
        stop.set()  # one run, then stop
        return wib(6, 10, month=9)

    app.clock = clock
    await asyncio.wait_for(Scheduler(app).run(stop), timeout=60)
    assert {message.chat_id for message in await outbox(app)} == set(chats.values())

    async with app.sessions.begin() as session:
        await session.execute(text("DROP TABLE reminder_log"))
    stop.clear()
    caplog.set_level(logging.ERROR, logger="bot.scheduler")
    await asyncio.wait_for(Scheduler(app).run(stop), timeout=60)
    [record] = [r for r in caplog.records if r.name == "bot.scheduler"]
    assert record.getMessage().startswith("scheduler run failed: ")
    assert "Budi" not in record.getMessage() and record.exc_info is None


@pytest.mark.postgres
async def test_two_schedulers_on_postgresql_queue_each_message_once(postgres_url):
    settings = make_settings(postgres_url)
    first, second = create_app(settings), create_app(settings)
    await first.migrate()
    try:
        world = World(first)
        chats = await seed_everything(world)
        for index in range(40):
            asn = await world.asn(f"Drafter {index}", 1)
            await world.enrolment(asn, "draft", wib(1, 10, month=9))
        for index in range(10):
            await world.group(f"-20{index:02d}", 1)
        moment = wib(6, 10, month=9)
        counts = await asyncio.gather(Scheduler(first).run_once(moment),
                                      Scheduler(second).run_once(moment),
                                      Scheduler(second).run_once(moment))
        sent = await outbox(first)
        assert sum(counts) == len(sent) == 4 + 40 + 10
        assert len({message.chat_id for message in sent}) == len(sent)
        assert set(chats.values()) <= {message.chat_id for message in sent}
        # Every report points at the one chart kept (the groups are OPD's); a loser's
        # charts were removed.
        async with first.sessions() as session:
            kept = set((await session.scalars(select(Attachment.id))).all())
        assert len(kept) == 2  # the OPD chart and the kecamatan chart of the winner
        assert {message.image for message in sent if message.kind == "report"} < kept
    finally:
        await first.close()
        await second.close()


# --- through the real conversation ----------------------------------------------------------

class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def login(client: ChatClient, person) -> None:
    await client.send("/mulai")
    await client.send(person.nip)
    await client.share_contact(person.phone_local)
    assert (await client.state())[0] == "Menu:main", client.last.text


async def test_chats_left_half_way_are_reminded_the_next_day_in_the_chat(sqlite_url):
    """Budi saves a draft and stops at the agreement; Sri stops while typing the NIK. The
    dispatcher's own conversation keys lead the scheduler back to each of them."""
    clock = Clock(wib(18, 10))
    async with migrated_app(make_settings(sqlite_url), clock=clock, roster=True) as app:
        budi, sri = ChatClient(app, user_id="1001"), ChatClient(app, user_id="2002")
        await login(budi, BUDI)
        await enrol(budi, agree=None)
        await login(sri, SRI)
        await sri.press("➕ Daftarkan pekerja")
        await sri.press("Asisten rumah tangga")
        assert (await sri.state())[0] == "Enrollment:nik"

        clock.now = wib(19, 10)
        assert await Scheduler(app).run_once() == 2
        await app.sender.drain()
        to_budi = texts(budi.history[-1:])
        assert "Halo, Budi Santoso." in to_budi and "SITI AMINAH sudah tersimpan" in to_budi
        to_sri = texts(sri.history[-1:])
        assert "Halo, Sri Lestari." in to_sri and "terhenti di tengah jalan" in to_sri

        # Budi follows the reminder and agrees: no 3-day reminder for him; Sri still gets hers.
        await budi.send("/mulai")
        await budi.press("👥 Pekerja saya")
        await budi.press("✅ Setujui potongan")
        await budi.press("✅ Saya setuju")
        clock.now = wib(21, 10)
        assert await Scheduler(app).run_once() == 1
        await app.sender.drain()
        assert "terhenti di tengah jalan" in texts(sri.history[-1:])
        assert await count(app, OutboxMessage) == len(budi.history) + len(sri.history)
