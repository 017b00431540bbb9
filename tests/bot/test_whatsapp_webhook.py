"""WhatsApp webhook bodies (the real payloads in tests/data/whatsapp/) become `Incoming`
messages and delivery reports; everything else is left out, and signatures and the
verification token are checked exactly."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.whatsapp.api import message_key
from bot.whatsapp.webhook import is_webhook_body, read_webhook, signature_ok, verify_token_ok
from flows.events import Channel, ChatType, Kind
from tests.conftest import make_settings

DATA = Path(__file__).resolve().parents[1] / "data" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
NOW = datetime(2025, 8, 21, 3, 0, tzinfo=UTC)


def payload(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def read(body: dict[str, Any]):
    return read_webhook(body, PHONE_NUMBER_ID, clock=lambda: NOW)


def test_every_stored_payload_is_a_webhook_body() -> None:
    names = sorted(path.stem for path in DATA.glob("*.json"))
    assert {"text", "interactive_button_reply", "interactive_list_reply", "sticker",
            "location", "status_failed"} <= set(names)
    for name in names:
        assert is_webhook_body(payload(name)), name


def test_a_text_message_is_text_from_a_verified_number() -> None:
    [incoming] = read(payload("text")).messages
    assert (incoming.channel, incoming.kind, incoming.text) == (Channel.WHATSAPP, Kind.TEXT,
                                                                "halo")
    assert incoming.chat_id == incoming.user_id == "6281234567890"
    assert incoming.chat_type is ChatType.PRIVATE
    assert incoming.phone == "+6281234567890"  # the sender's number is the phone proof
    wamid = payload("text")["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert incoming.update_id == incoming.message_id == message_key(wamid)


def test_a_slash_word_is_a_command() -> None:
    body = payload("text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "/batal"
    [incoming] = read(body).messages
    assert incoming.kind is Kind.COMMAND and incoming.command == "batal"


@pytest.mark.parametrize(("name", "payload_id"), [
    ("interactive_button_reply", "menu:enrol"),
    ("interactive_list_reply", "job:pedagang"),
    ("template_quick_reply", "menu:workers"),
])
def test_buttons_list_rows_and_template_replies_are_button_presses(name: str,
                                                                   payload_id: str) -> None:
    [incoming] = read(payload(name)).messages
    assert (incoming.kind, incoming.payload) == (Kind.BUTTON, payload_id)
    assert incoming.phone == "+6281234567890"


@pytest.mark.parametrize("name", ["sticker", "location", "image", "audio", "unsupported"])
def test_anything_else_a_person_sends_is_unsupported_and_named(name: str) -> None:
    [incoming] = read(payload(name)).messages
    assert incoming.kind is Kind.UNSUPPORTED
    assert incoming.text == name  # the kind only: never a caption, place or file id
    assert "KTP" not in incoming.text and "Kendal" not in incoming.text


def test_a_contact_card_is_a_contact_of_nobody_in_particular() -> None:
    [incoming] = read(payload("contacts")).messages
    assert incoming.kind is Kind.CONTACT and incoming.contact is not None
    assert incoming.contact.phone == "+62 857-1111-2222"
    assert incoming.contact.user_id is None  # a card proves nothing about its sender


@pytest.mark.parametrize("name", ["reaction", "account_update", "status_sent"])
def test_reactions_and_notices_bring_no_message(name: str) -> None:
    assert read(payload(name)).messages == []


def test_a_message_to_another_number_of_the_app_is_not_ours() -> None:
    assert read_webhook(payload("text"), "999999", clock=lambda: NOW).empty


def test_status_reports_carry_the_message_the_time_and_the_failure() -> None:
    [delivered] = read(payload("status_delivered")).statuses
    assert (delivered.status, delivered.chat_id) == ("delivered", "6281234567890")
    assert delivered.at == datetime.fromtimestamp(1755741605, UTC)
    assert delivered.error is None and not delivered.unreachable
    [failed] = read(payload("status_failed")).statuses
    assert failed.status == "failed" and failed.unreachable
    assert failed.error == "whatsapp 131026: Message undeliverable"
    other = payload("status_failed")
    other["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["code"] = 131049
    [later] = read(other).statuses
    assert later.status == "failed" and not later.unreachable


def test_odd_parts_are_skipped_one_by_one() -> None:
    body = payload("text")
    value = body["entry"][0]["changes"][0]["value"]
    good = value["messages"][0]
    value["messages"] = [
        "not an object", {"type": "text"}, {**good, "text": "not an object"},
        {**good, "type": 7}, {**good, "group_id": "120363"}, good,
    ]
    value["statuses"] = [{"id": "wamid.x", "status": "exploded", "recipient_id": "1"},
                         {"id": "wamid.y", "status": "read", "recipient_id": "1",
                          "timestamp": "soon"}]
    content = read(body)
    assert [incoming.text for incoming in content.messages] == ["halo"]
    [report] = content.statuses
    assert report.status == "read" and report.at == NOW  # an unreadable time: now
    for broken in ({}, {"object": "whatsapp_business_account", "entry": "x"},
                   {"object": "whatsapp_business_account", "entry": [{"changes": [1]}]}):
        assert read(broken).empty


def test_a_user_known_only_by_a_business_scoped_id_proves_no_phone() -> None:
    body = payload("text")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["from"]
    message["from_user_id"] = "ID.1234567890123456"
    [incoming] = read(body).messages
    assert incoming.chat_id == "ID.1234567890123456" and incoming.phone is None


def test_long_message_ids_are_kept_as_a_stable_digest() -> None:
    short = "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
    assert message_key(short) == short
    long = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYIDNFQjA" + "A" * 60
    assert len(message_key(long)) == 64 and message_key(long) == message_key(long)
    assert message_key(long) != message_key(long + "B")


# -- signatures and verification -------------------------------------------------------------


def test_the_signature_is_the_hmac_of_the_raw_body_under_the_app_secret() -> None:
    settings = make_settings("sqlite+aiosqlite:///never-opened.db", whatsapp_app_secret="s3cret")
    raw = json.dumps(payload("text")).encode()
    good = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert signature_ok(settings, raw, good)
    assert not signature_ok(settings, raw + b" ", good)
    assert not signature_ok(settings, raw, good.upper())
    assert not signature_ok(settings, raw, None)
    assert not signature_ok(settings, raw, "")
    assert not signature_ok(settings, raw, good + "é")
    unset = make_settings("sqlite+aiosqlite:///never-opened.db")
    assert not signature_ok(unset, raw, good)  # no secret configured: nothing passes


def test_the_verify_token_must_match_with_mode_subscribe() -> None:
    settings = make_settings("sqlite+aiosqlite:///never-opened.db", whatsapp_verify_token="tok")
    assert verify_token_ok(settings, "subscribe", "tok")
    assert not verify_token_ok(settings, "subscribe", "to")
    assert not verify_token_ok(settings, "subscribe", None)
    assert not verify_token_ok(settings, None, "tok")
    unset = make_settings("sqlite+aiosqlite:///never-opened.db")
    assert not verify_token_ok(unset, "subscribe", "")


def test_reading_does_not_change_the_body() -> None:
    body = payload("interactive_list_reply")
    before = copy.deepcopy(body)
    read(body)
    assert body == before
