"""A camat's broadcast to their kecamatan: audience, words, preview with the count, sending.

    Broadcast:audience --next--> Broadcast:content --next--> Broadcast:preview
           ^     |                    |   ^                     |        |
           +-----|----back------------+   +--------back---------+       sent
                 |                                                       v
                 +-------------last-------------> Broadcast:progress (refresh, cancel
                                                  while sending)

The kecamatan comes from the conversation's data, put there when the camat opened this
conversation and checked by the router against the roles table on every update; no button
names a kecamatan, so a camat cannot reach another one's people. Confirming queues the
broadcast in that same update's transaction: the message is rendered once per channel and
storage writes one outbox row per recipient in bulk. Progress is counted from those rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

from flows.conversation import (
    Command,
    Context,
    Conversation,
    Flow,
    Goto,
    Invalid,
    Step,
    choice_of,
    looks_written,
    printable,
)
from flows.events import Button, Kind, Reply
from flows.premium import first_premium
from storage.interfaces import AUDIENCES


class S:
    AUDIENCE = "Broadcast:audience"
    CONTENT = "Broadcast:content"
    PREVIEW = "Broadcast:preview"
    PROGRESS = "Broadcast:progress"


TRANSITIONS = [
    {"trigger": "next", "source": S.AUDIENCE, "dest": S.CONTENT},
    {"trigger": "next", "source": S.CONTENT, "dest": S.PREVIEW},
    {"trigger": "back", "source": S.CONTENT, "dest": S.AUDIENCE},
    {"trigger": "back", "source": S.PREVIEW, "dest": S.CONTENT},
    {"trigger": "sent", "source": S.PREVIEW, "dest": S.PROGRESS},
    {"trigger": "refresh", "source": S.PROGRESS, "dest": S.PROGRESS},
    {"trigger": "last", "source": S.AUDIENCE, "dest": S.PROGRESS},
]

# Ready campaign messages: messages/templates/broadcast/campaign_<name>.j2.
CAMPAIGNS = ("ajakan", "art", "cara")
MAX_TEXT = 1000
MIN_LETTERS = 10


def _unit(conversation: Conversation) -> int:
    return int(conversation.data["unit_id"])


# --- audience ----------------------------------------------------------------------------

async def ask_audience(conversation: Conversation, context: Context) -> Reply:
    """Who to reach, with how many each choice reaches today; the latest broadcast's
    progress, when there is one, is a button away."""
    unit_id = _unit(conversation)
    counts = {audience: sum((await context.broadcasts.recipients_by_channel(
        unit_id, audience)).values()) for audience in AUDIENCES}
    rows = [(Button(f"audience_{audience}", f"bc:{audience}"),) for audience in AUDIENCES]
    if await context.broadcasts.latest_id(unit_id) is not None:
        rows.append((Button("broadcast_last", "bc:last"),))
    rows.append((Button("to_menu", "bc:home"),))
    return Reply(
        "broadcast/ask_audience",
        {"unit_name": conversation.data["unit_name"], "audience_counts": counts},
        buttons=tuple(rows),
    )


async def take_audience(conversation: Conversation, context: Context) -> str | Goto:
    choice = choice_of(context, "bc", (*AUDIENCES, "last", "home"),
                       {"1": "all", "semua": "all", "semua asn": "all",
                        "2": "not_participating", "belum ikut": "not_participating",
                        "3": "groups", "grup": "groups", "menu": "home"})
    if choice == "home":
        return Goto(None)
    if choice == "last":
        latest = await context.broadcasts.latest_id(_unit(conversation))
        if latest is None:
            raise Invalid("errors/stale_button")
        conversation.data["broadcast_id"] = latest
        return "last"
    conversation.data["audience"] = choice
    return "next"


# --- content -----------------------------------------------------------------------------

async def ask_content(conversation: Conversation, context: Context) -> Reply:
    return Reply(
        "broadcast/ask_content",
        {"limit": MAX_TEXT},
        buttons=(*((Button(f"campaign_{name}", f"bc:tpl:{name}"),) for name in CAMPAIGNS),
                 (Button("back", "bc:back"),)),
    )


def _typed_message(context: Context) -> str:
    """The camat's own words: line breaks kept, spaces tidied, within the limits."""
    incoming = context.incoming
    if incoming.kind is Kind.CONTACT:
        raise Invalid("errors/unexpected_contact")
    if incoming.kind is not Kind.TEXT:
        raise Invalid("errors/unsupported")
    lines = [" ".join(line.split()) for line in printable(incoming.text).splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise Invalid("errors/empty")
    if len(text) > MAX_TEXT:
        raise Invalid("errors/too_long", limit=MAX_TEXT)
    if not looks_written(text, MIN_LETTERS):
        raise Invalid("broadcast/bad_text", min_letters=MIN_LETTERS)
    return text


async def take_content(conversation: Conversation, context: Context) -> str:
    if context.incoming.kind is Kind.BUTTON:
        payload = context.incoming.payload
        if payload == "bc:back":
            return "back"
        name = payload.removeprefix("bc:tpl:")
        if not payload.startswith("bc:tpl:") or name not in CAMPAIGNS:
            raise Invalid("errors/stale_button")
        conversation.data.pop("text", None)
        conversation.data["campaign"] = name
        return "next"
    conversation.data.pop("campaign", None)
    conversation.data["text"] = _typed_message(context)
    return "next"


# --- preview and sending -----------------------------------------------------------------

def _message(conversation: Conversation, context: Context) -> Reply:
    """The broadcast exactly as every recipient gets it (rendered per channel)."""
    config = context.config
    data = conversation.data
    return Reply("broadcast/message", {
        "kecamatan": data["unit_name"], "bc_text": data.get("text"),
        "bc_campaign": data.get("campaign"), "region": config.region_name,
        # Without a rate the campaign texts leave the amount out.
        "premium": first_premium(config.premium_schedule, context.today,
                                 config.deduction_offset_months),
    })


async def show_preview(conversation: Conversation, context: Context) -> Reply:
    """The message as recipients will see it, and how many will get it."""
    data = conversation.data
    by_channel = await context.broadcasts.recipients_by_channel(_unit(conversation),
                                                                data["audience"])
    total = sum(by_channel.values())
    message = _message(conversation, context)
    rows: list[tuple[Button, ...]] = [(Button("broadcast_send", "bc:send"),)] if total else []
    rows += [(Button("broadcast_edit", "bc:edit"),), (Button("cancel", "bc:cancel"),)]
    return Reply(
        "broadcast/preview",
        {**message.context, "recipients": total, "audience": data["audience"]},
        buttons=tuple(rows),
    )


async def take_preview(conversation: Conversation, context: Context) -> str | Goto:
    choice = choice_of(context, "bc", ("send", "edit", "cancel"),
                       {"kirim": "send", "ubah": "edit", "batal": "cancel"})
    if choice == "edit":
        return "back"
    if choice == "cancel":
        conversation.replies.append(Reply("broadcast/cancelled"))
        return Goto(None)
    return await _send(conversation, context)


async def _send(conversation: Conversation, context: Context) -> str:
    """Queue the broadcast: one row for it, one outbox row per recipient, audited."""
    asn = context.asn
    assert asn is not None
    data = conversation.data
    unit_id = _unit(conversation)
    by_channel = await context.broadcasts.recipients_by_channel(unit_id, data["audience"])
    if not sum(by_channel.values()):
        raise Invalid("broadcast/no_recipients")
    message = _message(conversation, context)
    channel = context.incoming.channel.value
    queued = await context.broadcasts.queue(
        asn_id=asn.id, unit_id=unit_id, audience=data["audience"],
        template=data.get("campaign"), text=data.get("text"), channel=channel,
        bodies={target: context.render(message, target) for target in by_channel},
        now=context.now,
    )
    await context.audit.record(
        "broadcast.queued", actor_asn_id=asn.id, channel=channel, now=context.now,
        subject=f"broadcast:{queued.id}",
        details={"unit_id": unit_id, "audience": data["audience"],
                 "campaign": data.get("campaign"), "recipients": queued.recipients},
    )
    conversation.data = {"unit_id": unit_id, "unit_name": data["unit_name"],
                         "broadcast_id": queued.id}
    conversation.replies.append(Reply("broadcast/queued", {"recipients": queued.recipients}))
    return "sent"


# --- progress ----------------------------------------------------------------------------

async def show_progress(conversation: Conversation, context: Context) -> Reply:
    """Sent, waiting, failed, unreachable (and cancelled); refresh and cancel while sending."""
    status = await context.broadcasts.status(int(conversation.data["broadcast_id"]),
                                             _unit(conversation))
    rows: list[tuple[Button, ...]] = []
    if status is not None and not status.done:
        rows += [(Button("broadcast_refresh", "bc:refresh"),),
                 (Button("broadcast_stop", "bc:stop"),)]
    rows.append((Button("to_menu", "bc:home"),))
    return Reply("broadcast/progress", {"broadcast": status}, buttons=tuple(rows))


async def take_progress(conversation: Conversation, context: Context) -> str | Goto:
    choice = choice_of(context, "bc", ("refresh", "stop", "home"),
                       {"perbarui": "refresh", "menu": "home"})
    if choice == "home":
        return Goto(None)
    if choice == "stop":
        asn = context.asn
        assert asn is not None
        broadcast_id = int(conversation.data["broadcast_id"])
        before = await context.broadcasts.status(broadcast_id, _unit(conversation))
        if before is None or before.status != "sending":
            raise Invalid("broadcast/not_sending")
        after = await context.broadcasts.cancel(broadcast_id, _unit(conversation), context.now)
        assert after is not None
        await context.audit.record(
            "broadcast.cancelled", actor_asn_id=asn.id, channel=context.incoming.channel.value,
            now=context.now, subject=f"broadcast:{broadcast_id}",
            details={"cancelled": after.cancelled, "sent": after.sent},
        )
        conversation.replies.append(Reply("broadcast/stopped", {"broadcast": after}))
    return "refresh"


class BroadcastFlow(Flow):
    name = "Broadcast"
    initial = S.AUDIENCE
    role = "camat"
    commands: ClassVar[Mapping[str, Command]] = {"siaran": Command(S.AUDIENCE, "camat")}

    def __init__(self) -> None:
        help_ = "help/broadcast"
        super().__init__(
            {
                S.AUDIENCE: Step(ask_audience, take_audience, help_),
                S.CONTENT: Step(ask_content, take_content, help_),
                S.PREVIEW: Step(show_preview, take_preview, help_,
                                cancelled="broadcast/cancelled"),
                S.PROGRESS: Step(show_progress, take_progress, help_, resting=True),
            },
            TRANSITIONS,
        )
