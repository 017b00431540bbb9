"""A confidential reply (the worker's NIK and birth date in full, shown to the coordinator who
verifies them) goes to Telegram protected: it cannot be forwarded or saved from the chat.
Every other message goes as before."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.telegram.transport import TelegramTransport
from flows.events import Reply
from messages.renderer import Renderer
from storage.interfaces import PendingEnrollment
from tests.support.fake_telegram import FakeTelegram

USER = 1001
FULL_NIK = "3324015708800002"


def identity_reply() -> Reply:
    item = PendingEnrollment(8, 2, "Warga 5001", "198001012005015001", "DEWI LESTARI",
                             "3324••••••••0002", "art", "pedagang", "Kumpulrejo", "Patebon",
                             datetime(2025, 8, 21, 3, 0, tzinfo=UTC))
    return Reply("coordinator/identity",
                 {"item": item, "nik": FULL_NIK, "name": "DEWI LESTARI",
                  "birth_date": date(1980, 8, 17), "nik_date": date(1980, 8, 17),
                  "female": True, "unit_name": "Dinas Kesehatan"},
                 confidential=True)


async def test_a_confidential_reply_is_sent_protected_and_others_are_not(
        fake: FakeTelegram) -> None:
    renderer = Renderer()
    bot = fake.bot()
    transport = TelegramTransport(bot)
    fake.chats([USER])
    async with bot:
        for reply in (identity_reply(), Reply("coordinator/not_decided")):
            await transport.send(str(USER), renderer.render(reply, "telegram"))
    protected, ordinary = fake.calls_of("sendMessage")
    assert FULL_NIK in protected.params["text"]
    assert protected.params.get("protect_content") is True
    assert "protect_content" not in ordinary.params
