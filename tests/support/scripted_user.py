"""A scripted Telegram user of the fake Bot API who waits for the answer they expect.

Used where the bot runs as another process (benchmarks, end-to-end runs of `asn-peduli`):
there the scheduler and the sender speak whenever they like, so "the first message after my
press" may be a reminder, a report or a broadcast. Each step names what its answer looks like
(a text it contains, a button it carries, a keyboard asking for the contact); a message that
arrives meanwhile and does not match is kept in `unexpected`, never taken for the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.fake_telegram import FakeTelegram, SentMessage
from tests.support.loopback import wait_until

Expect = Callable[[SentMessage], bool]


def says(fragment: str) -> Expect:
    """The answer's text contains `fragment`."""
    return lambda message: fragment in message.text


def offers(label: str) -> Expect:
    """The answer carries a button whose label starts with `label`."""
    return lambda message: any(text.startswith(label) for text in message.labels)


def asks_for_contact(message: SentMessage) -> bool:
    """The answer's reply keyboard has the "share my contact" button."""
    return any(button.get("request_contact") for button in message.reply_buttons)


@dataclass
class ScriptedUser:
    """One user of `fake`; `within` bounds each wait (a reply may queue behind the per-chat
    pace of one message a second)."""

    fake: FakeTelegram
    user_id: int
    within: float = 60.0
    unexpected: list[SentMessage] = field(default_factory=list)
    _seen: int = 0

    async def send(self, text: str, expect: Expect) -> SentMessage:
        self._skip_earlier()
        self.fake.push_text(self.user_id, text)
        return await self.answer(expect, f"to {text!r}")

    async def contact(self, phone: str, expect: Expect) -> SentMessage:
        self._skip_earlier()
        self.fake.push_contact(self.user_id, phone, self.user_id)
        return await self.answer(expect, "to the shared contact")

    async def press(self, label: str, expect: Expect) -> SentMessage:
        """Press the inline button `label` (by prefix) of the latest message that has it."""
        for message in reversed(self.fake.messages(self.user_id)):
            if any(button["text"].startswith(label) for button in message.inline_buttons):
                self._skip_earlier()
                self.fake.press(message, label)
                return await self.answer(expect, f"to the button {label!r}")
        raise AssertionError(f"user {self.user_id} has no button {label!r}")

    def _skip_earlier(self) -> None:
        """Nothing that arrived before the user's next move can be its answer (the rest of
        a several-message answer, or something unexpected): the wait starts after it."""
        self._seen = len(self.fake.messages(self.user_id))

    async def answer(self, expect: Expect, what: str) -> SentMessage:
        """The first message since the user's move that matches `expect`; the non-matching
        ones before it are kept in `unexpected`."""
        found: list[SentMessage] = []

        def arrived() -> bool:
            messages = self.fake.messages(self.user_id)
            for index in range(self._seen, len(messages)):
                if expect(messages[index]):
                    self.unexpected.extend(messages[self._seen:index])
                    self._seen = index + 1
                    found.append(messages[index])
                    return True
            return False

        await wait_until(arrived, self.within, lambda: (
            f"user {self.user_id} got no expected answer {what}; new messages: "
            f"{[(m.text[:60], m.labels) for m in self.fake.messages(self.user_id)[self._seen:]]}"))
        return found[0]
