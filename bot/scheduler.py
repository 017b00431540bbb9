"""The scheduler: every minute, queue the reminders and reports whose time has come.

It keeps no timers. Each run asks storage/reminders.py which messages are due and not yet
in `reminder_log`, and writes each message's log row and outbox row in one transaction, so
a message is queued exactly once however late, however often, and in however many
processes the scheduler runs; the outbox sender delivers it.

Choices the design left open:

- Nothing is sent on a Sunday or in the quiet hours (21:00-07:00 WIB): a run then does
  nothing, and the first run at an allowed moment (07:00 on the next allowed day) queues what
  fell due meanwhile.
- After an outage every owed message goes out once: for an unfinished enrolment whose 1-day
  and 3-day reminders both passed, only the 3-day one is sent and both are logged; a
  periodic message (campaign, coordinator, report) goes out for its latest period only.
- Reminders switched off: a reminder falling due while an ASN has them off is logged as
  done without a message, so switching them on again never brings back reminders of
  periods that passed; the next ones come as usual. The same holds for a recipient the
  platform reported unreachable (blocked the bot, no account): skipped, not postponed.
- The coordinator's reminder is a reminder like the others: it follows the coordinator's
  own switch.
- A reminder never interrupts a conversation: while its recipient wrote to the bot less than
  `REMINDER_HOLD_MINUTES` ago it is neither logged nor queued, so a later run (once they
  have been quiet that long) sends it. Otherwise it would land between a button press and
  its answer, and read as the bot's answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.loops import Backoff, supervise
from bot.notify import Notifier
from flows.events import Reply
from flows.premium import first_premium
from flows.time_zone import JAKARTA
from storage.attachments import store_attachment
from storage.models import Attachment
from storage.reminders import (
    COORDINATOR,
    NO_WORKER,
    REPORT,
    AsnDue,
    CoordinatorDue,
    GroupDue,
    LogKey,
    Recipient,
    ReminderTimes,
    UnfinishedDue,
    anchor_period,
    asn_subject,
    chat_subject,
    claim,
    coordinator_due,
    no_worker_due,
    recipients,
    report_due,
    role_subject,
    unfinished_due,
    unfinished_kind,
)
from storage.report_snapshots import (
    MONTH_END,
    REPORT_DAY,
    MonthlyReport,
    closed_month_before,
    ensure_snapshot,
    monthly_report,
)
from storage.reports import UNIT_KINDS, month_before, monthly_report_context

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.app import App

log = logging.getLogger(__name__)

# Subjects handled per transaction: short transactions, and a campaign to a province's
# hundreds of thousands of ASN goes out in steps instead of one long lock. A page of due
# subjects is read at once and handled batch by batch.
BATCH = 500
PAGE = 10 * BATCH

_Item = TypeVar("_Item")
_Due = TypeVar("_Due", UnfinishedDue, AsnDue, CoordinatorDue)


@dataclass(frozen=True, slots=True)
class _Owed(Generic[_Due]):
    """A reminder owed to one ASN: the log rows it writes (in the callers' fixed order), and
    the one of them whose claim by this run sends the message."""

    item: _Due
    logged: tuple[LogKey, ...]
    message: LogKey


@dataclass(frozen=True, slots=True)
class _ReportMaterial:
    """What every group of one report push shares: the month's kept numbers and one stored
    chart per kind of unit (an OPD's group sees the OPD ranked, a kecamatan's the
    kecamatan)."""

    report: MonthlyReport
    charts: dict[str, int]


class Scheduler:
    def __init__(self, app: App) -> None:
        self._app = app
        settings = app.settings
        self._times = ReminderTimes(
            quiet_start=settings.quiet_hours_start,
            quiet_end=settings.quiet_hours_end,
            unfinished_days=tuple(sorted(set(settings.reminder_unfinished_days))),
            monthly_day=settings.reminder_monthly_day,
            coordinator_time=settings.coordinator_reminder_time,
            report_day=settings.report_day,
            report_time=settings.report_time,
        )
        self._notifier = Notifier(app.renderer, app.cipher)
        self._flow_config = settings.flow_config()
        self._hold = timedelta(minutes=settings.reminder_hold_minutes)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every `scheduler_interval_seconds` until `stop` is set; a failed run is logged
        (without personal data) and the next one, an interval later, tries again."""
        interval = self._app.settings.scheduler_interval_seconds
        await supervise(self._run_and_wake_sender, stop, name="scheduler", log=log,
                        idle=interval, pauses=Backoff(interval, interval))

    async def _run_and_wake_sender(self) -> None:
        if await self.run_once():
            self._app.sender.wake()

    async def run_once(self, now: datetime | None = None) -> int:
        """Queue everything due at `now` (the app's clock by default); how many messages."""
        now = now or self._app.clock()
        await self._keep_closed_month(now)
        if not self._times.allowed(now):
            return 0
        counts = {
            "unfinished": await self._unfinished(now),
            NO_WORKER: await self._no_worker(now),
            COORDINATOR: await self._coordinators(now),
            REPORT: await self._reports(now),
        }
        total = sum(counts.values())
        if total:
            log.info("scheduler queued %d messages %s", total, counts)
        return total

    # --- reminders to ASN -------------------------------------------------------------------

    def _premium(self, now: datetime) -> int | None:
        """The monthly premium an ASN would agree to today, for the reminders' words."""
        config = self._flow_config
        return first_premium(config.premium_schedule, now.astimezone(JAKARTA).date(),
                             config.deduction_offset_months)

    async def _in_batches(
        self,
        fetch: Callable[[AsyncSession, int, int], Awaitable[Sequence[_Item]]],
        key: Callable[[_Item], int],
        handle: Callable[[AsyncSession, Sequence[_Item]], Awaitable[int]],
    ) -> int:
        """Walk what `fetch` finds due a page at a time (by increasing id), handling each
        batch in its own short transaction; the sender starts on a batch once it commits.

        A page is read once for ten batches: the due queries scan the roster, so reading
        them once per batch would cost a campaign to 100,000 ASN minutes instead of
        seconds. An item handled meanwhile by another scheduler is skipped by `claim`.
        """
        queued, after = 0, 0
        while True:
            async with self._app.sessions() as session:
                page = await fetch(session, after, PAGE)
            for start in range(0, len(page), BATCH):
                async with self._app.sessions.begin() as session:
                    count = await handle(session, page[start:start + BATCH])
                if count:
                    queued += count
                    self._app.sender.wake()
            if len(page) < PAGE:
                return queued
            after = key(page[-1])

    async def _unfinished(self, now: datetime) -> int:
        steps = self._times.unfinished_days
        premium = self._premium(now)

        async def handle(session: AsyncSession, items: Sequence[UnfinishedDue]) -> int:
            owed: list[_Owed[UnfinishedDue]] = []
            for item in items:
                subject, period = asn_subject(item.asn_id), anchor_period(item.anchor)
                due = [step for step in steps if item.anchor + timedelta(days=step) <= now]
                # Owed both the 1-day and the 3-day reminder: the 3-day one says it all.
                if due:
                    owed.append(_Owed(item, tuple((unfinished_kind(step), subject, period)
                                                  for step in due
                                                  if step not in item.logged_days),
                                      (unfinished_kind(due[-1]), subject, period)))
            return await self._remind(session, owed, lambda item: Reply(
                "reminders/unfinished", {
                    "name": item.name,
                    "draft_workers": list(item.draft_workers),
                    "enrolment_in_progress": item.in_progress,
                    "premium": premium,
                }), now)

        return await self._in_batches(
            lambda session, after, limit: unfinished_due(session, now, steps, after, limit),
            lambda item: item.asn_id, handle)

    async def _no_worker(self, now: datetime) -> int:
        period, due = self._times.no_worker_period(now)
        premium = self._premium(now)

        async def handle(session: AsyncSession, items: Sequence[AsnDue]) -> int:
            owed = [_once(item, (NO_WORKER, asn_subject(item.asn_id), period)) for item in items]
            return await self._remind(session, owed, lambda item: Reply(
                "reminders/no_worker", {"name": item.name, "premium": premium}), now)

        return await self._in_batches(
            lambda session, after, limit: no_worker_due(session, period, due, after, limit),
            lambda item: item.asn_id, handle)

    async def _coordinators(self, now: datetime) -> int:
        period, due = self._times.coordinator_period(now)

        async def handle(session: AsyncSession, items: Sequence[CoordinatorDue]) -> int:
            owed = [_once(item, (COORDINATOR, role_subject(item.role_id), period))
                    for item in items]
            return await self._remind(session, owed, lambda item: Reply(
                "reminders/coordinator", {
                    "name": item.name, "unit": item.unit_name,
                    "pending_verifications": item.pending,
                }), now)

        return await self._in_batches(
            lambda session, after, limit: coordinator_due(session, period, due, after, limit),
            lambda item: item.role_id, handle)

    async def _remind(
        self,
        session: AsyncSession,
        owed: Sequence[_Owed[_Due]],
        reply: Callable[[_Due], Reply],
        now: datetime,
    ) -> int:
        """Write the log rows of each owed reminder whose recipient is not mid-conversation;
        queue its reply when this run wrote its message key, the ASN has reminders on and a
        reachable chat. How many were queued. A reminder skipped (switched off, unreachable)
        stays logged: skipped, not postponed; one held for a conversation is not logged, so
        a later run sends it."""
        addresses = await recipients(session, [entry.item.asn_id for entry in owed])
        ready = [entry for entry in owed
                 if not _talking(addresses.get(entry.item.asn_id), now, self._hold)]
        claimed = await claim(session, [key for entry in ready for key in entry.logged], now)
        queued = 0
        for entry in ready:
            recipient = addresses.get(entry.item.asn_id)
            if (entry.message not in claimed or not entry.item.reminders_enabled
                    or recipient is None or recipient.unreachable):
                continue
            await self._notifier.queue(session, recipient.address, reply(entry.item),
                                       "reminder", now)
            queued += 1
        return queued

    # --- the monthly report to group chats --------------------------------------------------

    async def _keep_closed_month(self, now: datetime) -> None:
        """The month that ended last is counted and kept at the first run after its end
        (quiet hours or not: it sends nothing), so its report reads as the month stood."""
        async with self._app.sessions.begin() as session:
            await ensure_snapshot(session, closed_month_before(now), now,
                                  self._app.settings.coverage_target_percent, MONTH_END)

    async def _reports(self, now: datetime) -> int:
        period, due = self._times.report_period(now)
        async with self._app.sessions() as session:
            if not await report_due(session, period, due, 0, 1):
                return 0
        material = await self._report_material(due, now)

        async def handle(session: AsyncSession, groups: Sequence[GroupDue]) -> int:
            claimed = await claim(
                session, [(REPORT, chat_subject(group.chat_row_id), period) for group in groups],
                now)
            queued = 0
            for group in groups:
                if ((REPORT, chat_subject(group.chat_row_id), period) not in claimed
                        or group.unreachable):
                    continue
                await self._notifier.queue(session, group.address, self._report(material, group),
                                     REPORT, now)
                queued += 1
            return queued

        queued = await self._in_batches(
            lambda session, after, limit: report_due(session, period, due, after, limit),
            lambda group: group.chat_row_id, handle)
        if not queued:
            # Another scheduler pushed this report first: its chart is the one sent.
            async with self._app.sessions.begin() as session:
                for attachment_id in material.charts.values():
                    attachment = await session.get(Attachment, attachment_id)
                    if attachment is not None:
                        await session.delete(attachment)
        return queued

    async def _report_material(self, due: datetime, now: datetime) -> _ReportMaterial:
        """The numbers and the charts, computed once per push for every group.

        The report pushed in a month describes the month before, read from its kept
        snapshot (taken now if the month's end passed unseen), so a push that is late after
        an outage, and any later export, shows the same figures as one on time.
        """
        settings = self._app.settings
        month = month_before(due).date().replace(day=1)
        async with self._app.sessions.begin() as session:
            report = await monthly_report(session, month, now,
                                          settings.coverage_target_percent, REPORT_DAY)
        charts = {}
        for kind in UNIT_KINDS:
            # Drawing takes a moment of CPU: off the event loop, so chats are not held up.
            png = await asyncio.to_thread(_draw_chart, report, kind, settings.region_name)
            async with self._app.sessions.begin() as session:
                charts[kind] = await store_attachment(
                    session, "image/png", f"partisipasi-{kind}-{month:%Y-%m}.png", png, now)
        return _ReportMaterial(report, charts)

    def _report(self, material: _ReportMaterial, group: GroupDue) -> Reply:
        report = material.report
        units = report.units(group.unit_kind)
        own = next((unit for unit in units if unit.unit_id == group.unit_id), None)
        context = monthly_report_context(
            report.opd,
            at=report.at,
            target_percent=report.target_percent,
            region_name=self._app.settings.region_name,
            own=own,
            own_kind=group.unit_kind,
        )
        return Reply("report/monthly", context, image=material.charts[group.unit_kind])


def _once(item: _Due, key: LogKey) -> _Owed[_Due]:
    """A reminder of one log row (the campaign's, the coordinator's)."""
    return _Owed(item, (key,), key)


def _talking(recipient: Recipient | None, now: datetime, hold: timedelta) -> bool:
    return recipient is not None and recipient.in_conversation(now, hold)


def _draw_chart(report: MonthlyReport, kind: str, region: str) -> bytes:
    """The report's PNG for one kind of unit. bot.charts brings matplotlib (about half a
    second and 40 MB): it is imported by the first report drawn, in this worker thread, not
    by every serving process at start-up for a chart drawn once a month."""
    from bot.charts import report_chart

    return report_chart(report, kind, region)
