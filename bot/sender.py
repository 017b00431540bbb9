"""Delivers outbox rows through the channel's transport: claimed, paced, sent, recorded.

The loop, in one task per sender process:

- **claim** (storage/outbox.py): when fewer than half a batch of claimed rows wait, claim more
  in one short transaction: the most urgent chats first (a user's answer before a
  broadcast), each chat's rows in order, no more than the pace lets go within a quarter of
  the claim time (`SENDER_CLAIM_SECONDS / 4`), so every claimed row is sent long before its
  claim runs out and another sender may take it.
- **pace** (bot/pacing.py): the next message is the most urgent of the chats whose own pace
  allows it, at the channel's next overall slot; the loop sleeps until then with an
  injectable sleep (a test's fake clock: no real waiting).
- **send** outside any transaction, several at once (a Bot API call takes ~100-300 ms and
  30 a second must go), but one at a time per chat, so a chat's messages keep their order: a
  chat's next row goes only after the previous one was accepted.
- **record** in batches: a recorder task writes what happened to all rows answered since its
  last commit in one transaction, as soon as it can.

What can go wrong and what then happens:

- 429 with retry_after: that chat pauses that long (in the pacer and in the database); its
  other claimed rows are given back; other chats go on.
- 5xx, timeouts: the row waits 1 s, 2 s, 4 s ... (at most 10 min) and is tried again, up to
  SENDER_MAX_ATTEMPTS attempts, then it is marked failed.
- the recipient blocked the bot, deactivated the account, or the chat does not exist
  (`RecipientUnreachable`): the row and every later pending row to the chat are marked
  unreachable without sending, and the chat is marked so (storage/chats.py) until the user
  writes again.
- the database does not answer (an outage, a restart of PostgreSQL, the SQLite file gone):
  the loop ends on the error (sends in flight finish, what it claimed and did not send is
  given back), keeps the outcomes it could not record in memory for the next commit, and
  starts again after a pause that grows while the errors go on (1 s, 2 s, ... at most 30 s)
  or ends at the next commit that queues rows. A claim it could not give back runs out after
  SENDER_CLAIM_SECONDS. `run` itself ends only when told to stop, in every mode (`run`,
  `serve`, `worker`).
- the process dies (SIGKILL): rows it claimed are due again when the claim runs out; a row
  that was sent but whose outcome was not yet committed is sent again. That is the only
  repetition: a send counts as under way until its outcome is committed, and at most
  `max_in_flight` (16) are, so a kill repeats at most 16 messages; in practice the pace
  times the platform's answer time (30/s x ~0.3 s: about 9).

Several senders share the outbox on PostgreSQL (the claim skips locked rows and takes only
unclaimed ones). Each paces only its own sends, so with N senders give each 1/N of the
platform's limits. On SQLite run one sender: `asn-peduli run` has one inside, so do not run
`asn-peduli worker` beside it (BEGIN IMMEDIATE would keep two correct, only not paced
together).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.loops import backoff, supervise
from bot.pacing import UNLIMITED, ChannelPace, Pacer
from bot.transport import (
    PermanentSendError,
    RecipientUnreachable,
    TransientSendError,
    Transport,
)
from bot.waits import first_of
from flows.events import Attachment, OutgoingMessage
from storage.crypto import CipherError, PersonalDataCipher
from storage.outages import error_summary
from storage.outbox import PRIORITY, AttachmentData, ChatQueue, Outcome, QueuedRow, SqlOutbox

log = logging.getLogger(__name__)

# The longest a failed row waits before it is tried again (1 s, 2 s, 4 s ... up to this).
MAX_BACKOFF = 600.0
# The longest the loop sleeps before looking again (a chat may have become free meanwhile).
QUANTUM = 0.25
# A send this much after its slot counts as on time (clock rounding, loop overhead).
LATE = 0.001
# Attachments kept in memory between batches (the monthly chart goes to every group).
ATTACHMENT_CACHE = 8
# Chats known to be waiting (pace, retry, a claim elsewhere) that claims leave out.
MAX_EXCLUDED = 1_000
# Sends under way at once (one per chat): enough for 30 a second when an answer takes
# ~300 ms, and the most messages a killed sender can leave sent but not recorded.
MAX_IN_FLIGHT = 16
UNREACHABLE_REASON = "recipient unreachable"
UNREADABLE = "body unreadable with the configured keys"

Sleep = Callable[[float], Awaitable[None]]
ChatKey = tuple[str, str]


def is_group_chat(channel: str, chat_id: str, chat_type: str | None) -> bool:
    """A group chat (paced at 20 a minute on Telegram): so recorded in `chats`, or on
    Telegram a negative chat id (groups and supergroups have those)."""
    if chat_type is not None:
        return chat_type == "group"
    return channel == "telegram" and chat_id.startswith("-")


def _decoded(outbox: SqlOutbox, row: QueuedRow) -> OutgoingMessage | None:
    """A row's body as the message it stores; None (and logged) when it cannot be."""
    try:
        return OutgoingMessage.from_json(outbox.body(row.body_enc))
    except CipherError:
        log.error("outbox row %s: its body cannot be decrypted with the configured keys",
                  row.id)
    except ValueError:
        log.error("outbox row %s: its body is not an outgoing message", row.id)
    return None


def _attachment(data: AttachmentData) -> Attachment:
    return Attachment(data.filename, data.content_type, data.data)


@dataclass(slots=True)
class _Claimed:
    """A claimed row ready to send: the message the transport gets, and the claim."""

    row: QueuedRow
    message: OutgoingMessage
    claimed_until: datetime
    launch_by: float  # pacer time after which it is too late to start sending it


@dataclass(slots=True)
class _Line:
    """One chat's claimed rows, sent one after the other."""

    key: ChatKey
    group: bool
    rows: deque[_Claimed] = field(default_factory=deque)

    @property
    def urgency(self) -> tuple[int, int]:
        first = self.rows[0].row
        return PRIORITY.get(first.kind, 1), first.id


class _Lane:
    """One channel: its pacer, the chats whose pace allows a send (most urgent first) and
    the chats waiting for their pace (soonest first)."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.ready: list[tuple[int, int, int, _Line]] = []
        self.timed: list[tuple[float, int, _Line]] = []
        self.queued = 0  # claimed rows not yet sent

    def put(self, line: _Line, order: int) -> None:
        at = self.pacer.chat_ready_at(line.key[1])
        heapq.heappush(self.timed, (at, order, line))

    def next_slot(self, now: float) -> float:
        """When this lane can send next (inf: nothing to send)."""
        slot = max(now, self.pacer.overall_ready_at())
        while self.timed and self.timed[0][0] <= slot:
            _, order, line = heapq.heappop(self.timed)
            priority, first_id = line.urgency
            heapq.heappush(self.ready, (priority, first_id, order, line))
        if self.ready:
            return slot
        if self.timed:
            return max(slot, self.timed[0][0])
        return math.inf


@dataclass
class _Run:
    """The state of one stretch of delivery (`run` until stopped, or `drain`)."""

    lanes: dict[str, _Lane] = field(default_factory=dict)
    lines: dict[ChatKey, _Line] = field(default_factory=dict)
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    next_claim_at: float = -math.inf

    @property
    def queued(self) -> int:
        return sum(lane.queued for lane in self.lanes.values())


class OutboxSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: PersonalDataCipher,
        transports: Mapping[str, Transport],
        batch_size: int = 50,
        max_attempts: int = 8,
        claim_seconds: float = 60,
        paces: Mapping[str, ChannelPace] | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Sleep | None = None,
    ) -> None:
        """`transports` is read at each claim (the app adds them as channels start).
        `sleep` defaults to the clock's own `sleep` when it has one (a test's fake clock,
        which then moves time forward instead of waiting), else `asyncio.sleep`."""
        self._sessions = sessions
        self._cipher = cipher
        self._transports = transports
        self._batch_size = max(1, batch_size)
        self._max_attempts = max_attempts
        self._claim = timedelta(seconds=claim_seconds)
        self._horizon = claim_seconds / 4
        self._paces = dict(paces or {})
        self._pacers: dict[str, Pacer] = {}
        self._max_in_flight = max(1, max_in_flight)
        self._clock = clock
        self._sleep: Sleep = sleep or getattr(clock, "sleep", None) or asyncio.sleep
        self._origin = clock()
        self._slept_until = -math.inf
        self._waiting: dict[ChatKey, float] = {}  # chats blocked in the database, until
        self._attachments: OrderedDict[int, Attachment] = OrderedDict()
        self._outcomes: list[Outcome] = []
        self._unrecorded = 0  # sends started whose outcome is not committed yet
        self._changed = asyncio.Event()  # a send answered, or outcomes committed
        # One database transaction of this sender at a time: on SQLite two would only queue
        # behind each other's lock (and its busy timeout's sleeps).
        self._db = asyncio.Lock()
        self._recorded = asyncio.Event()
        self._wake = asyncio.Event()
        self._order = itertools.count()

    # -- the public face ---------------------------------------------------------------------

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set; looks for new rows when woken or every
        `poll_seconds` (rows written by another process do not wake this one).

        An error does not end it (bot/loops.py `supervise`): delivery starts again after a
        pause (1 s, doubling up to 30 s while the errors go on; real time: an outage is real
        even under a test's clock), or as soon as a commit queues rows (`wake`: it proves
        the database answers again)."""

        async def deliver() -> None:
            await self._deliver(stop=stop, wait=True, poll_seconds=poll_seconds)

        await supervise(deliver, stop, name="sender", log=log, idle=poll_seconds,
                        wake=self._wake)

    async def drain(self, wait: bool = False) -> None:
        """Deliver until nothing is due (tests and the terminal chat).

        With `wait`, also wait (with the injected sleep) for rows that are paced, waiting
        for a retry or held by a claim, until no row is pending at all."""
        await self._deliver(stop=None, wait=wait, poll_seconds=math.inf)

    def pacer(self, channel: str) -> Pacer:
        """The channel's pacer (one per sender, kept between runs)."""
        pacer = self._pacers.get(channel)
        if pacer is None:
            pacer = self._pacers[channel] = Pacer(self._paces.get(channel, UNLIMITED))
        return pacer

    # -- time ----------------------------------------------------------------------------------

    def _now(self) -> float:
        """Pacer time: seconds on the app clock since this sender was built, never before the
        end of the last sleep (so a clock that stands still cannot hold the loop)."""
        seconds = (self._clock() - self._origin).total_seconds()
        return max(seconds, self._slept_until)

    def _at(self, seconds: float) -> datetime:
        return self._origin + timedelta(seconds=seconds)

    async def _sleep_until(self, until: float) -> None:
        clock = (self._clock() - self._origin).total_seconds()
        # Measured from the clock while it keeps up (a fake clock's rounding to the
        # microsecond then never adds up); from the last sleep's end when it stands still.
        start = clock if clock >= self._slept_until - 0.001 else self._slept_until
        if until > start:
            await self._sleep(until - start)
        self._slept_until = max(self._slept_until, until)

    # -- the loop ------------------------------------------------------------------------------

    async def _deliver(self, stop: asyncio.Event | None, wait: bool,
                       poll_seconds: float) -> None:
        state = _Run()
        done = asyncio.Event()
        recorder = asyncio.create_task(self._recorder(done), name="outbox-recorder")
        try:
            await self._loop(state, stop, wait, poll_seconds)
        finally:
            try:
                await self._finish(state)
            finally:
                # Not cancelled: it may be in the middle of a commit.
                done.set()
                self._recorded.set()
                with contextlib.suppress(Exception):
                    await recorder

    async def _loop(self, state: _Run, stop: asyncio.Event | None, wait: bool,
                    poll_seconds: float) -> None:
        while stop is None or not stop.is_set():
            now = self._now()
            if self._wake.is_set():
                state.next_claim_at = -math.inf
            # A chat whose wait (a retry, a 429) is over is claimed at once, however full
            # the queue: it resumes exactly when its pause ends.
            resumed = self._first_wait_end() <= now
            slot, lane = self._next(state, now)
            # More rows when the queue runs low, or when no claimed chat may send at the next
            # slot (they all wait for their own pace: others could use the slot).
            low = state.queued * 2 < self._batch_size or (
                state.queued < self._batch_size and not self._any_ready(state))
            if resumed or (low and now >= state.next_claim_at):
                await self._claim_more(state, now, stop is not None, poll_seconds)
                continue  # time has passed: look again
            # A send counts as under way until its outcome is committed: a kill can repeat
            # no more than `max_in_flight` messages.
            if lane is not None and self._unrecorded < self._max_in_flight:
                wake_at = min(now + QUANTUM, self._first_wait_end(after=now))
                if slot > wake_at:
                    await self._sleep_until(wake_at)
                    continue
                await self._sleep_until(slot)
                # Recorded when it really goes (a clock's rounding is not lateness).
                late = self._now() - slot
                self._launch(state, lane, slot + late if late > LATE else slot)
                continue
            if state.in_flight or self._unrecorded:
                # Waiting for the platform's answers, or for their outcomes to be written.
                self._changed.clear()
                await self._changed.wait()
                continue
            # Idle: nothing claimed, nothing in flight.
            if stop is None and not wait:
                return
            until = state.next_claim_at
            if stop is None:
                if until == math.inf:
                    return
                await self._sleep_until(until)
            else:
                await self._idle(stop, min(until - now, poll_seconds))
            state.next_claim_at = -math.inf

    def _first_wait_end(self, after: float = -math.inf) -> float:
        """The first end of a known wait (a chat's retry time, another sender's claim)
        after `after` (inf: none)."""
        return min((until for until in self._waiting.values() if until > after),
                   default=math.inf)

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait (real time) for new rows, `stop`, or `seconds`."""
        if not self._wake.is_set():
            await first_of(self._wake, stop, seconds=max(seconds, 0))
        self._wake.clear()

    @staticmethod
    def _any_ready(state: _Run) -> bool:
        return any(lane.ready for lane in state.lanes.values())

    def _next(self, state: _Run, now: float) -> tuple[float, _Lane | None]:
        best: tuple[float, _Lane | None] = (math.inf, None)
        for lane in state.lanes.values():
            slot = lane.next_slot(now)
            if slot < best[0]:
                best = (slot, lane)
        return best

    # -- claiming ------------------------------------------------------------------------------

    async def _claim_more(self, state: _Run, now: float, running: bool,
                          poll_seconds: float) -> None:
        """Claim rows into `state`. When none were taken or handled, `state.next_claim_at`
        says when to look again."""
        await self._record()  # the claim must see what was sent
        self._wake.clear()
        channels = tuple(self._transports)
        # An error here (the database away) ends the loop; `run` starts it again.
        taken = await self._claim_rows(state, now, channels)
        if taken:
            return
        state.next_claim_at = await self._next_change(now, channels, state.lines.keys())
        if running:
            state.next_claim_at = min(state.next_claim_at, now + poll_seconds)

    def _excluded(self, state: _Run, now: float) -> dict[str, set[str]]:
        """Chats not to claim now: ours already (always: a chat has one line at a time), and
        up to MAX_EXCLUDED that are paced beyond the horizon or blocked in the database by a
        row waiting for its retry or held by another sender."""
        for key, until in list(self._waiting.items()):
            if until <= now:
                del self._waiting[key]
        waiting = list(self._waiting)
        for channel, pacer in self._pacers.items():
            pacer.forget_idle(now)
            waiting += [(channel, chat_id) for chat_id in pacer.waiting_chats(now, self._horizon)]
        excluded: dict[str, set[str]] = {}
        for channel, chat_id in itertools.chain(state.lines, waiting[:MAX_EXCLUDED]):
            excluded.setdefault(channel, set()).add(chat_id)
        return excluded

    async def _claim_rows(self, state: _Run, now: float, channels: tuple[str, ...]) -> int:
        """Claim rows onto the lanes; how many were taken, or marked without sending (an
        unreadable body, an unreachable chat)."""
        want = max(self._batch_size - state.queued, 1)
        excluded = self._excluded(state, now)  # also forgets waits that are over
        budget = {}
        for channel in channels:
            queued = state.lanes[channel].queued if channel in state.lanes else 0
            budget[channel] = self.pacer(channel).overall_budget(
                now, self._horizon, want + queued) - queued
        channels = tuple(channel for channel in channels if budget[channel] > 0)
        if not channels:
            return 0
        at = self._at(now)
        until = at + self._claim
        async with self._db, self._sessions.begin() as session:
            outbox = SqlOutbox(session, self._cipher)
            plan: dict[ChatKey, tuple[ChatQueue, list[QueuedRow]]] = {}
            planned = 0  # rows in `plan`
            unreachable: list[ChatQueue] = []
            for _ in range(3):  # again when every chat found was blocked
                chats = await outbox.due_chats(at, want, channels, excluded)
                if not chats:
                    break
                for queue in await outbox.chat_queues(chats, at, per_chat=want):
                    key = (queue.channel, queue.chat_id)
                    if queue.unreachable and queue.rows:
                        unreachable.append(queue)
                    elif queue.rows:
                        rows = self._budgeted(queue, now, budget, want - planned)
                        if rows:
                            plan[key] = (queue, rows)
                            planned += len(rows)
                    elif queue.blocked_until is not None:
                        self._waiting[key] = (queue.blocked_until - self._origin).total_seconds()
                        excluded.setdefault(queue.channel, set()).add(queue.chat_id)
                if plan or unreachable or len(chats) < want:
                    break
            wanted = [row.id for _, rows in plan.values() for row in rows]
            got = await outbox.claim(wanted, at, until)
            given_back: list[int] = []
            # A broadcast's rows share one encrypted body: each is opened once.
            messages = self._open_bodies(outbox, (row for _, rows in plan.values()
                                                  for row in rows if row.id in got))
            taken: list[tuple[ChatQueue, list[QueuedRow]]] = []
            unreadable: list[Outcome] = []
            for queue, rows in plan.values():
                # A chat's rows from its first, up to one another sender took meanwhile.
                kept = list(itertools.takewhile(lambda row: row.id in got, rows))
                given_back += [row.id for row in rows[len(kept):] if row.id in got]
                for n, row in enumerate(kept):
                    if messages.get(row.body_enc) is None:  # a key now gone, or not a message
                        unreadable.append(Outcome(row.id, row.channel, row.chat_id, "failed",
                                                  until, row.attempts, error=UNREADABLE))
                        given_back += [later.id for later in kept[n + 1:]]
                        kept = kept[:n]
                        break
                if kept:
                    taken.append((queue, kept))
            await outbox.release(given_back, until)
            await outbox.record(unreadable, at)
            marked = len(unreadable)
            for queue in unreachable:
                marked += await outbox.mark_chat_unreachable(
                    queue.channel, queue.chat_id, UNREACHABLE_REASON, at)
            attachments = await self._load_attachments(
                outbox, (message for message in messages.values() if message is not None))
        launch_by = now + (self._claim.total_seconds() / 2)
        for queue, rows in taken:
            self._queue(state, queue, rows, until, launch_by, attachments, messages)
        return sum(len(rows) for _, rows in taken) + marked

    @staticmethod
    def _open_bodies(outbox: SqlOutbox, rows: Iterable[QueuedRow]
                     ) -> dict[str, OutgoingMessage | None]:
        """Each distinct encrypted body decrypted and decoded once, the one place a stored
        body is read; None when no configured key reads it or it is not a message (the row
        can never be sent: it is marked failed rather than block the outbox)."""
        messages: dict[str, OutgoingMessage | None] = {}
        for row in rows:
            if row.body_enc not in messages:
                messages[row.body_enc] = _decoded(outbox, row)
        return messages

    def _budgeted(self, queue: ChatQueue, now: float, budget: dict[str, int],
                  room: int) -> list[QueuedRow]:
        """The first rows of a chat that its pace and the channel's let go in the horizon."""
        group = is_group_chat(queue.channel, queue.chat_id, queue.chat_type)
        count = min(len(queue.rows), budget[queue.channel], room)
        count = self.pacer(queue.channel).chat_budget(queue.chat_id, group, now,
                                                      self._horizon, count)
        budget[queue.channel] -= count
        return list(queue.rows[:count])

    async def _load_attachments(self, outbox: SqlOutbox, messages: Iterable[OutgoingMessage]
                                ) -> dict[int, Attachment]:
        """The attachments the claimed rows show, each read once (and kept for the next
        batches: the monthly chart goes to many groups)."""
        wanted = {message.image for message in messages if message.image is not None}
        missing = wanted - self._attachments.keys()
        if missing:
            for attachment_id, data in (await outbox.attachments(missing)).items():
                self._attachments[attachment_id] = _attachment(data)
        found = {}
        for attachment_id in wanted:
            if attachment_id in self._attachments:
                self._attachments.move_to_end(attachment_id)
                found[attachment_id] = self._attachments[attachment_id]
        while len(self._attachments) > ATTACHMENT_CACHE:
            self._attachments.popitem(last=False)
        return found

    def _queue(self, state: _Run, queue: ChatQueue, rows: list[QueuedRow], until: datetime,
               launch_by: float, attachments: Mapping[int, Attachment],
               messages: Mapping[str, OutgoingMessage | None]) -> None:
        """Put a chat's claimed rows on its channel's lane as a new line, with the messages
        the transport gets: the rendered one plus kind, last_inbound_at and the attachment.
        (A chat that has a line is never claimed again meanwhile: `_excluded` leaves it out,
        and its first pending row is ours, so `chat_queues` would stop before it.)"""
        key = (queue.channel, queue.chat_id)
        line = state.lines[key] = _Line(
            key, is_group_chat(queue.channel, queue.chat_id, queue.chat_type))
        for row in rows:
            rendered = messages[row.body_enc]
            assert rendered is not None  # `_claim_rows` kept only rows with a message
            attachment = attachments.get(rendered.image) if rendered.image is not None else None
            if rendered.image is not None and attachment is None:
                log.warning("outbox row %s shows attachment %s, which is gone; sending "
                            "the text alone", row.id, rendered.image)
            message = replace(rendered, kind=row.kind, last_inbound_at=queue.last_inbound_at,
                              attachment=attachment)
            line.rows.append(_Claimed(row, message, until, launch_by))
        lane = state.lanes.get(queue.channel)
        if lane is None:
            lane = state.lanes[queue.channel] = _Lane(self.pacer(queue.channel))
        lane.queued += len(rows)
        lane.put(line, next(self._order))

    async def _next_change(self, now: float, channels: tuple[str, ...],
                           claimed: Collection[ChatKey]) -> float:
        """When a claim could next find something: a paced chat's turn, a retry's time, a
        claim running out (inf: no row is pending at all)."""
        times = [until for until in self._waiting.values() if until > now]
        for channel, pacer in self._pacers.items():
            # A chat left out for its pace is claimable once its turn is within the horizon.
            times += [until - self._horizon for chat_id, until
                      in pacer.waiting_chats(now, self._horizon).items()
                      if (channel, chat_id) not in claimed]
        async with self._db, self._sessions() as session:
            pending, first = await SqlOutbox(session, self._cipher).next_change(
                self._at(now), channels)
        if not pending:
            return math.inf
        if first is not None:
            times.append((first - self._origin).total_seconds())
        later = [at for at in times if at > now]
        # Pending rows with nothing to wait for were due all along: look again at once.
        return min(later) if later else now + QUANTUM

    # -- sending -------------------------------------------------------------------------------

    def _launch(self, state: _Run, lane: _Lane, slot: float) -> None:
        lane.next_slot(slot)  # chats whose turn came while sleeping join the ready ones
        _, _, _, line = heapq.heappop(lane.ready)
        claimed = line.rows.popleft()
        lane.queued -= 1
        if slot > claimed.launch_by:
            # Too late: another sender may take these rows soon. Give them back.
            self._give_back(state, lane, line, claimed)
            return
        lane.pacer.record(line.key[1], line.group, slot)
        task = asyncio.create_task(self._send(state, lane, line, claimed))
        state.in_flight.add(task)
        self._unrecorded += 1
        task.add_done_callback(lambda done: self._sent(state, done))

    def _sent(self, state: _Run, task: asyncio.Task[None]) -> None:
        state.in_flight.discard(task)
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("sending an outbox row crashed", exc_info=task.exception())

    async def _send(self, state: _Run, lane: _Lane, line: _Line, claimed: _Claimed) -> None:
        row = claimed.row
        transport = self._transports[row.channel]
        outcome: Outcome | None = None
        keep_going = True
        try:
            message_id = await transport.send(row.chat_id, claimed.message)
        except RecipientUnreachable as error:
            log.info("outbox row %s: the recipient on %s cannot be reached", row.id, row.channel)
            outcome = self._outcome(claimed, "unreachable", error=str(error))
            self._drop(state, lane, line, release=False)
            keep_going = False
        except PermanentSendError as error:
            log.warning("outbox row %s on %s failed for good: %s", row.id, row.channel, error)
            outcome = self._outcome(claimed, "failed", error=str(error))
        except TransientSendError as error:
            outcome = self._retry(lane, line, claimed, str(error), error.retry_after)
            self._drop(state, lane, line, release=True)
            keep_going = False
        except Exception as error:  # a bug in a transport: retry later, and say so
            log.exception("outbox row %s on %s: the transport crashed", row.id, row.channel)
            outcome = self._retry(lane, line, claimed, f"crash: {type(error).__name__}", None)
            self._drop(state, lane, line, release=True)
            keep_going = False
        else:
            outcome = self._outcome(claimed, "sent", message_id=message_id)
        finally:
            if outcome is not None:
                self._outcomes.append(outcome)
                self._recorded.set()
            if keep_going and line.rows:
                lane.put(line, next(self._order))
            else:
                # The chat is done with what was claimed (or stopped): rows behind may be
                # free now, and this chat is claimable again.
                state.lines.pop(line.key, None)
                state.next_claim_at = -math.inf

    def _retry(self, lane: _Lane, line: _Line, claimed: _Claimed, error: str,
               retry_after: float | None) -> Outcome:
        row = claimed.row
        now = self._now()
        if retry_after:
            # The platform named the wait: this chat pauses exactly that long.
            lane.pacer.pause(line.key[1], line.group, now + retry_after)
            delay = timedelta(seconds=retry_after)
        elif row.attempts + 1 >= self._max_attempts:
            log.warning("outbox row %s on %s failed after %s attempts: %s", row.id,
                        row.channel, row.attempts + 1, error)
            return self._outcome(claimed, "failed", error=error)
        else:
            delay = timedelta(seconds=backoff(row.attempts, 1.0, MAX_BACKOFF))
        log.warning("sending outbox row %s on %s failed, retrying in %s s: %s", row.id,
                    row.channel, delay.total_seconds(), error)
        self._waiting[line.key] = now + delay.total_seconds()
        return self._outcome(claimed, "retry", error=error, retry_at=self._at(now) + delay)

    def _outcome(self, claimed: _Claimed, status: str, **fields: Any) -> Outcome:
        row = claimed.row
        return Outcome(row_id=row.id, channel=row.channel, chat_id=row.chat_id, status=status,
                       claimed_until=claimed.claimed_until, attempts=row.attempts, **fields)

    def _drop(self, state: _Run, lane: _Lane, line: _Line, release: bool) -> None:
        """The chat's other claimed rows will not go now; given back to wait behind the
        failed one (or, for an unreachable chat, marked with it by `record`)."""
        lane.queued -= len(line.rows)
        if release:
            self._outcomes += [self._outcome(claimed, "release") for claimed in line.rows]
        line.rows.clear()
        state.lines.pop(line.key, None)

    def _give_back(self, state: _Run, lane: _Lane, line: _Line, first: _Claimed) -> None:
        self._outcomes.append(self._outcome(first, "release"))
        self._drop(state, lane, line, release=True)
        self._recorded.set()

    # -- recording -----------------------------------------------------------------------------

    async def _recorder(self, done: asyncio.Event) -> None:
        """Commits outcomes as they come: each commit takes all answered since the last.
        Ends when `done` is set (the loop has recorded the rest itself)."""
        while not done.is_set():
            await self._recorded.wait()
            self._recorded.clear()
            if done.is_set():
                return
            try:
                await self._record()
            except Exception as error:
                # The outcomes stay in memory (`_record`) and go with the next commit.
                log.warning("recording sent outbox rows failed (%s); trying again in 1 s",
                            error_summary(error))
                await asyncio.sleep(1)
                self._recorded.set()

    async def _record(self) -> None:
        async with self._db:
            if not self._outcomes:
                return
            outcomes, self._outcomes = self._outcomes, []
            try:
                async with self._sessions.begin() as session:
                    await SqlOutbox(session, self._cipher).record(outcomes, self._clock())
            except BaseException:
                self._outcomes = outcomes + self._outcomes
                raise
            self._unrecorded -= sum(1 for outcome in outcomes if outcome.status != "release")
            self._changed.set()

    async def _finish(self, state: _Run) -> None:
        """Let the sends in flight finish, give back what was claimed and not sent, and
        record everything."""
        if state.in_flight:
            await asyncio.gather(*state.in_flight, return_exceptions=True)
        for line in list(state.lines.values()):
            lane = state.lanes[line.key[0]]
            self._drop(state, lane, line, release=True)
        await self._record()
