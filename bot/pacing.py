"""How fast the sender may send: per channel overall, per chat, per group chat.

Telegram allows a bot about 30 messages a second overall, about one a second in one chat and
20 a minute in one group; the WhatsApp Cloud API 80 a second by default. Going over earns a
429 and, persistently, a ban, so the sender keeps under the limits instead of bouncing off
them. All of them are settings (`paces_from_settings`).

A limit is "at most `count` sends in any window of `per` seconds", kept by remembering the
last `count` send times. The overall limit is also *smooth* (one send every `per / count`
seconds), because a burst of 30 in the first 10 ms of every second is what Telegram's flood
control punishes; a group's limit is not (a report's chart and its text may go together).
A smooth limit keeps its own schedule: a send that goes a little late (the sender was
claiming rows) does not push the later ones back, so the pace is the limit, not a little
less; one that goes more than `CATCH_UP_SLOTS` slots late (after a quiet spell) starts the
schedule afresh, so quiet never turns into a burst. The window stays the hard cap either way.

Times here are plain seconds on the sender's own clock; nothing here sleeps. The sender asks
when the overall limit and a chat's own limits let the next message go (`overall_ready_at`,
`chat_ready_at`), waits until then with its (injectable) sleep, and `record()`s the send. A
test drives all of it with a fake clock: no real waiting.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` sends in any `per` seconds; `smooth`: also one every `per / count`."""

    count: int
    per: float
    smooth: bool = False

    def __post_init__(self) -> None:
        if self.count < 1 or not self.per > 0:
            raise ValueError(f"a pace needs a count >= 1 and a window > 0, not {self}")

    @classmethod
    def rate(cls, per_second: float, per: float = 1.0, smooth: bool = False) -> Limit:
        """A rate in messages per `per` seconds as a limit. A whole number of messages per
        window keeps the window ("20 a minute"); a fraction becomes one message per
        interval (0.5 a second: one every 2 s)."""
        if not per_second > 0:
            raise ValueError(f"a send rate must be above 0, not {per_second}")
        count = per_second
        if count >= 1 and math.isclose(count, round(count)):
            return cls(round(count), per, smooth)
        return cls(1, per / count, smooth)

    @property
    def spacing(self) -> float:
        return self.per / self.count


# How late (in slots) a send of a smooth limit may go and still keep the schedule.
CATCH_UP_SLOTS = 3


class Window:
    """The last send times under one limit, and when the next send may go."""

    __slots__ = ("limit", "scheduled", "times")

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.times: deque[float] = deque(maxlen=limit.count)
        self.scheduled = -math.inf  # a smooth limit's next slot

    def ready_at(self) -> float:
        """The earliest time a send keeps within the limit (-inf: any time)."""
        times = self.times
        if not times:
            return -math.inf
        ready = times[0] + self.limit.per if len(times) == self.limit.count else -math.inf
        if self.limit.smooth:
            ready = max(ready, self.scheduled)
        return ready

    def record(self, at: float) -> None:
        self.times.append(at)
        if self.limit.smooth:
            spacing = self.limit.spacing
            late = at - self.scheduled
            start = self.scheduled if late <= CATCH_UP_SLOTS * spacing else at
            self.scheduled = start + spacing

    def idle_since(self, now: float) -> bool:
        """Whether the window no longer constrains anything (all its sends are old)."""
        return not self.times or self.times[-1] + self.limit.per <= now

    def copy(self) -> Window:
        twin = Window(self.limit)
        twin.times.extend(self.times)
        twin.scheduled = self.scheduled
        return twin


@dataclass(frozen=True, slots=True)
class ChannelPace:
    """The limits of one channel; None: no limit of that kind."""

    overall: Limit | None = None
    per_chat: Limit | None = None
    per_group: Limit | None = None


UNLIMITED = ChannelPace()


def paces_from_settings(settings: Settings) -> dict[str, ChannelPace]:
    """Telegram and WhatsApp as configured; any other channel (the console) is unpaced."""
    return {
        "telegram": ChannelPace(
            overall=Limit.rate(settings.telegram_rate_overall, smooth=True),
            per_chat=Limit.rate(settings.telegram_rate_private_chat),
            per_group=Limit.rate(settings.telegram_rate_group_per_minute, per=60.0),
        ),
        "whatsapp": ChannelPace(overall=Limit.rate(settings.whatsapp_rate_overall, smooth=True)),
    }


class _ChatPace:
    __slots__ = ("paused_until", "windows")

    def __init__(self, windows: list[Window]) -> None:
        self.windows = windows
        self.paused_until = -math.inf

    def ready_at(self) -> float:
        ready = self.paused_until
        for window in self.windows:
            ready = max(ready, window.ready_at())
        return ready


class Pacer:
    """One channel's pace: the overall window and one set of windows per chat.

    A group chat is under both the per-chat and the per-group limit (Telegram counts "one a
    second in a chat" in groups too). A 429's retry_after pauses one chat (`pause`).
    """

    def __init__(self, pace: ChannelPace) -> None:
        self.pace = pace
        self._overall = Window(pace.overall) if pace.overall else None
        self._chats: dict[str, _ChatPace] = {}

    # -- asking ----------------------------------------------------------------------------

    def overall_ready_at(self) -> float:
        return self._overall.ready_at() if self._overall else -math.inf

    def chat_ready_at(self, chat_id: str) -> float:
        chat = self._chats.get(chat_id)
        return chat.ready_at() if chat else -math.inf

    def chat_budget(self, chat_id: str, group: bool, now: float, horizon: float,
                    wanted: int) -> int:
        """How many of `wanted` messages to this chat its own limits let go by
        `now + horizon` (the overall limit is counted by `overall_budget`)."""
        if wanted <= 0:
            return 0
        chat = self._chats.get(chat_id)
        windows = [window.copy() for window in chat.windows] if chat else self._windows(group)
        if not windows and (chat is None or chat.paused_until <= now + horizon):
            return wanted
        at = max(now, chat.paused_until) if chat else now
        end = now + horizon
        sent = 0
        while sent < wanted:
            for window in windows:
                at = max(at, window.ready_at())
            if at > end:
                break
            for window in windows:
                window.record(at)
            sent += 1
        return sent

    def overall_budget(self, now: float, horizon: float, wanted: int) -> int:
        """How many of `wanted` messages the overall limit lets go by `now + horizon`."""
        if self._overall is None or wanted <= 0:
            return max(wanted, 0)
        window = self._overall.copy()
        end = now + horizon
        sent = 0
        while sent < wanted:
            at = max(now, window.ready_at())
            if at > end:
                break
            window.record(at)
            sent += 1
        return sent

    def waiting_chats(self, now: float, horizon: float) -> dict[str, float]:
        """Chats that may not send again within `horizon` (a group that had its 20, a chat
        paused by a 429), with the time they may: the sender does not claim their rows."""
        end = now + horizon
        waiting: dict[str, float] = {}
        for chat_id, chat in self._chats.items():
            ready = chat.ready_at()
            if ready > end:
                waiting[chat_id] = ready
        return waiting

    # -- telling ---------------------------------------------------------------------------

    def record(self, chat_id: str, group: bool, at: float) -> None:
        """A message to this chat goes at `at` (the slot it was given)."""
        if self._overall is not None:
            self._overall.record(at)
        chat = self._chats.get(chat_id)
        if chat is None:
            windows = self._windows(group)
            if not windows:
                return
            chat = self._chats[chat_id] = _ChatPace(windows)
        for window in chat.windows:
            window.record(at)

    def pause(self, chat_id: str, group: bool, until: float) -> None:
        """The platform asked to wait with this chat until `until` (429 retry_after)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _ChatPace(self._windows(group))
        chat.paused_until = max(chat.paused_until, until)

    def forget_idle(self, now: float) -> None:
        """Drop chats whose limits no longer constrain anything: after a broadcast to
        100,000 chats, memory holds only the last minute's."""
        idle = [chat_id for chat_id, chat in self._chats.items()
                if chat.paused_until <= now and all(w.idle_since(now) for w in chat.windows)]
        for chat_id in idle:
            del self._chats[chat_id]

    def _windows(self, group: bool) -> list[Window]:
        limits: Iterable[Limit | None] = (
            (self.pace.per_chat, self.pace.per_group) if group else (self.pace.per_chat,)
        )
        return [Window(limit) for limit in limits if limit is not None]
