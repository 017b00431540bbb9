"""Telegram webhook deliveries as Telegram posts them, for end-to-end tests that run
`asn-peduli serve`: the update JSON of a user's text, command, contact card or button press,
and the POST with the secret token (its answer and how long it took)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.fake_telegram import FakeTelegram

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Step:
    """What a user does: types `value` ("text"), shares their own number ("contact") or
    presses the button whose payload is `value` ("button")."""

    kind: str
    value: str


def update(fake: FakeTelegram, update_id: int, user: int, step: Step,
           pressed_message_id: int) -> dict[str, Any]:
    """The webhook body of `step`; a button press comes under the message
    `pressed_message_id` of the user's chat."""
    chat = {"id": user, "type": "private", "first_name": f"Pengguna {user}"}
    if step.kind == "button":
        return {"update_id": update_id, "callback_query": {
            "id": f"q{update_id}", "from": fake.user(user), "chat_instance": f"ci-{user}",
            "data": step.value,
            "message": {"message_id": pressed_message_id, "date": int(time.time()),
                        "chat": chat, "text": "…",
                        "from": {"id": fake.bot_id, "is_bot": True, "first_name": "ASN Peduli"}},
        }}
    content: dict[str, Any]
    if step.kind == "contact":
        content = {"contact": {"phone_number": step.value, "first_name": "Kontak",
                               "user_id": user}}
    else:
        content = {"text": step.value}
        if step.value.startswith("/"):
            word = step.value.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(word)}]
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": chat,
        "from": fake.user(user), **content}}


@dataclass
class Poster:
    """Posts webhook deliveries with the secret."""

    secret: str
    client: httpx.AsyncClient

    async def post(self, server_url: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(f"{server_url}/telegram/webhook", json=body,
                                      headers={SECRET_HEADER: self.secret})
