"""The camat's work in their kecamatan: its progress, an invitation for the ASN the bot cannot
reach yet, and broadcasts (audience, words, preview with the count, sending).

    Broadcast:audience --next--> Broadcast:content --next--> Broadcast:preview
      |  ^  ^  |  invite               |   ^                     |        |
      |  |  |  +----back---------------+   +--------back---------+       sent
      |  |  |                                                             v
      |  |  +----------------last-------------> Broadcast:progress (refresh, cancel
      |  +--back--+                             while sending)
      +-standing--> Broadcast:kecamatan (the kecamatan's progress; invite)

The audience screen is the camat's home: how many each audience reaches, and how many ASN of
the kecamatan no broadcast reaches because they never linked a chat. For them the camat
gets an invitation to print or forward: the bot's chat link per channel and its QR code as a
picture (bot/invitations.py draws and stores it). /progres opens the kecamatan's progress
for a camat as it opens the OPD's for a coordinator.

The kecamatan comes from the conversation's data, put there when the camat opened this
conversation and checked by the router against the roles table on every update; no button
names a kecamatan, so a camat cannot reach another one's people. Confirming queues the
broadcast in that same update's transaction: the message is rendered once per channel and
storage writes one outbox row per recipient in bulk. Progress is counted from those rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import ClassVar

from flows.answers import choice_of, looks_written, printable
from flows.audiences import AUDIENCES, Audience
from flows.conversation import Context, Conversation, Flow, Goto, Invalid, Step, move
from flows.events import Button, Kind, Reply
from flows.premium import first_premium
from flows.roles import Role, UnitKind
from flows.states import Broadcast, prefix
from storage.interfaces import UnitProgress

TRANSITIONS = [
    move("standing", Broadcast.audience, Broadcast.kecamatan),
    move("back", Broadcast.kecamatan, Broadcast.audience),
    move("invite", Broadcast.audience, Broadcast.audience),
    move("invite", Broadcast.kecamatan, Broadcast.kecamatan),
    move("next", Broadcast.audience, Broadcast.content),
    move("next", Broadcast.content, Broadcast.preview),
    move("back", Broadcast.content, Broadcast.audience),
    move("back", Broadcast.preview, Broadcast.content),
    move("sent", Broadcast.preview, Broadcast.progress),
    move("refresh", Broadcast.progress, Broadcast.progress),
    move("last", Broadcast.audience, Broadcast.progress),
]

# Ready campaign messages: messages/templates/broadcast/campaign_<name>.j2.
CAMPAIGNS = ("ajakan", "art", "cara")
MAX_TEXT = 1000
MIN_LETTERS = 10


def _unit(conversation: Conversation) -> int:
    return int(conversation.data["unit_id"])


# --- audience: the camat's home ------------------------------------------------------------

def _audience_buttons(has_last: bool) -> list[Button]:
    """The home's choices in order; a typed number names the choice at that place."""
    buttons = [Button(f"audience_{audience}", f"bc:{audience}") for audience in AUDIENCES]
    buttons += [Button("camat_progress", "bc:standing"), Button("camat_invite", "bc:invite")]
    if has_last:
        buttons.append(Button("broadcast_last", "bc:last"))
    return [*buttons, Button("to_menu", "bc:home")]


async def ask_audience(conversation: Conversation, context: Context) -> Reply:
    """Who to reach, with how many each choice reaches today and how many ASN no broadcast
    reaches yet; the kecamatan's progress, an invitation, and the latest broadcast's
    progress (when there is one) are a button away."""
    unit_id = _unit(conversation)
    counts = {audience: sum((await context.broadcasts.recipients_by_channel(
        unit_id, audience)).values()) for audience in AUDIENCES}
    has_last = await context.broadcasts.latest_id(unit_id) is not None
    return Reply(
        "broadcast/ask_audience",
        {"unit_name": conversation.data["unit_name"], "audience_counts": counts,
         "unlinked": await context.broadcasts.unlinked_count(unit_id, Audience.ALL)},
        buttons=tuple((button,) for button in _audience_buttons(has_last)),
    )


async def take_audience(conversation: Conversation, context: Context) -> str | Goto:
    has_last = await context.broadcasts.latest_id(_unit(conversation)) is not None
    buttons = _audience_buttons(has_last)
    typed = {str(number): button.payload.removeprefix("bc:")
             for number, button in enumerate(buttons, start=1)}
    typed |= {"semua": Audience.ALL, "semua asn": Audience.ALL,
              "belum ikut": Audience.NOT_PARTICIPATING, "grup": Audience.GROUPS,
              "progres": "standing", "undangan": "invite", "menu": "home"}
    choice = choice_of(context, "bc", (*AUDIENCES, "standing", "invite", "last", "home"),
                       typed)
    if choice == "home":
        return Goto(None)
    if choice == "invite":
        return await _invite(conversation, context)
    if choice == "standing":
        return "standing"
    if choice == "last":
        latest = await context.broadcasts.latest_id(_unit(conversation))
        if latest is None:
            raise Invalid("errors/stale_button")
        conversation.data["broadcast_id"] = latest
        return "last"
    conversation.data["audience"] = choice
    return "next"


# --- the kecamatan's progress and the invitation -------------------------------------------

def _still_needed(progress: UnitProgress | None, target_percent: float) -> int:
    """ASN still needed to reach the target, in whole people (rounded up)."""
    if progress is None:
        return 0
    wanted = math.ceil(round(target_percent * progress.asn_total / 100, 6))
    return wanted - progress.asn_participating


async def show_kecamatan(conversation: Conversation, context: Context) -> Reply:
    """The kecamatan's line of the ranking (ASN living there, participating, %, protected,
    change, rank) and how many of its ASN the bot cannot reach yet."""
    unit_id = _unit(conversation)
    progress = await context.progress.unit_progress(UnitKind.KECAMATAN, unit_id, context.now)
    target = context.config.coverage_target_percent
    return Reply(
        "camat/progress",
        {"unit_name": conversation.data["unit_name"], "unit_progress": progress,
         "progress_at": context.now, "target_percent": target,
         "target_needed": _still_needed(progress, target),
         "unlinked": await context.broadcasts.unlinked_count(unit_id, Audience.ALL)},
        buttons=((Button("camat_invite", "bc:invite"),),
                 (Button("back", "bc:back"), Button("to_menu", "bc:home"))),
    )


async def take_kecamatan(conversation: Conversation, context: Context) -> str | Goto:
    choice = choice_of(context, "bc", ("invite", "back", "home"),
                       {"1": "invite", "undangan": "invite", "2": "back", "kembali": "back",
                        "3": "home", "menu": "home"})
    if choice == "home":
        return Goto(None)
    if choice == "invite":
        return await _invite(conversation, context)
    return "back"


async def _invite(conversation: Conversation, context: Context) -> str:
    """The invitation, one picture message per channel the bot is known on, after a word on
    how to use it; the camat stays where they were."""
    unit_id = _unit(conversation)
    invitations = await context.invitations.invitations(context.now)
    if not invitations:
        raise Invalid("camat/invitation_unavailable")
    kecamatan = conversation.data["unit_name"]
    conversation.replies.append(Reply("camat/invitation_intro", {
        "unit_name": kecamatan, "channels": [item.channel for item in invitations],
        "unlinked": await context.broadcasts.unlinked_count(unit_id, Audience.ALL)}))
    config = context.config
    premium = first_premium(config.premium_schedule, context.today,
                            config.deduction_offset_months)
    for item in invitations:
        conversation.replies.append(Reply(
            "camat/invitation", {"kecamatan": kecamatan, "channel": item.channel,
                                 "link": item.link, "premium": premium},
            image=item.image))
    return "invite"


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
    unlinked = await context.broadcasts.unlinked_count(_unit(conversation), data["audience"])
    return Reply(
        "broadcast/preview",
        {**message.context, "recipients": total, "audience": data["audience"],
         "unlinked": unlinked},
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
    name = prefix(Broadcast)
    initial = Broadcast.audience
    role = Role.CAMAT
    commands: ClassVar[Mapping[str, str]] = {
        "siaran": Broadcast.audience, "progres": Broadcast.kecamatan,
    }

    def __init__(self) -> None:
        help_ = "help/broadcast"
        super().__init__(
            {
                Broadcast.audience: Step(ask_audience, take_audience, help_),
                Broadcast.kecamatan: Step(show_kecamatan, take_kecamatan, help_, resting=True),
                Broadcast.content: Step(ask_content, take_content, help_),
                Broadcast.preview: Step(show_preview, take_preview, help_,
                                        cancelled="broadcast/cancelled"),
                Broadcast.progress: Step(show_progress, take_progress, help_, resting=True),
            },
            TRANSITIONS,
        )
