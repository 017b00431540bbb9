"""The OPD coordinator: the OPD's progress, and the submitted enrolments to verify.

    Coordinator:menu --progress--> Coordinator:progress --back--> menu
                     --pending---> Coordinator:pending --reject--> Coordinator:reject_reason
                                        |  ^ refresh (approve, page)       |
                                        +--+-------------decided-----------+
                                   back: to the menu (from the reason: to the list)

The unit comes from the conversation's data, put there when the coordinator opened this
conversation and checked by the router against the roles table on every update; a button
carries only an enrolment id, and every action looks that id up within the unit and in
status "submitted", so a forged or stale button for another OPD's enrolment changes nothing.
The ASN is told of each decision in their own chat. In a group chat, /tautkan links the group
to the coordinator's OPD (or a camat's kecamatan) for the monthly progress.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from flows.conversation import (
    Command,
    Context,
    Conversation,
    Flow,
    Goto,
    GroupCommand,
    Invalid,
    Step,
    choice_of,
    expect_button,
    reason_buttons,
    reason_of,
)
from flows.events import Button, Channel, Kind, Reply
from storage.interfaces import ROLE_UNIT_KIND, EnrollmentNotFound, PendingEnrollment, RoleView


class S:
    MENU = "Coordinator:menu"
    PROGRESS = "Coordinator:progress"
    PENDING = "Coordinator:pending"
    REJECT_REASON = "Coordinator:reject_reason"


TRANSITIONS = [
    {"trigger": "progress", "source": S.MENU, "dest": S.PROGRESS},
    {"trigger": "pending", "source": S.MENU, "dest": S.PENDING},
    {"trigger": "back", "source": [S.PROGRESS, S.PENDING], "dest": S.MENU},
    {"trigger": "refresh", "source": S.PENDING, "dest": S.PENDING},
    {"trigger": "reject", "source": S.PENDING, "dest": S.REJECT_REASON},
    {"trigger": "decided", "source": S.REJECT_REASON, "dest": S.PENDING},
    {"trigger": "back", "source": S.REJECT_REASON, "dest": S.PENDING},
]

PAGE_SIZE = 3  # two buttons each, page turns and "back": within WhatsApp's 10 rows
REASONS = ("data_mismatch", "not_eligible", "already_member", "other")
# ASCII digits only, an id within PostgreSQL's INTEGER (matched whole, with fullmatch).
_ENROLMENT_ACTION = re.compile(r"co:(ok|no):([0-9]{1,9})")
_PAGE = re.compile(r"co:pg:([0-9]{1,4})")


def _unit(conversation: Conversation) -> int:
    return int(conversation.data["unit_id"])


def _asn_id(context: Context) -> int:
    asn = context.asn
    assert asn is not None, "the router lets identified coordinators in only"
    return asn.id


# --- menu --------------------------------------------------------------------------------

async def show_menu(conversation: Conversation, context: Context) -> Reply:
    conversation.data.pop("page", None)
    conversation.data.pop("reject_id", None)
    waiting = await context.verifications.pending_count(_unit(conversation))
    return Reply(
        "coordinator/menu",
        {"unit_name": conversation.data["unit_name"], "pending_total": waiting},
        buttons=(
            (Button("coord_pending", "co:pending", {"count": waiting}),),
            (Button("coord_progress", "co:progress"),),
            (Button("to_menu", "co:home"),),
        ),
    )


async def take_menu(conversation: Conversation, context: Context) -> str | Goto:
    choice = choice_of(context, "co", ("pending", "progress", "home"),
                       {"1": "pending", "verifikasi": "pending", "2": "progress",
                        "progres": "progress", "3": "home", "menu": "home"})
    return Goto(None) if choice == "home" else choice


# --- progress ----------------------------------------------------------------------------

async def show_progress(conversation: Conversation, context: Context) -> Reply:
    """The OPD's line of the ranking: ASN, participating, %, protected, change, rank."""
    progress = await context.progress.unit_progress("opd", _unit(conversation), context.now)
    target = context.config.coverage_target_percent
    needed = 0
    if progress is not None:
        # ASN still needed to reach the target, counted in whole people (rounded up).
        wanted = math.ceil(round(target * progress.asn_total / 100, 6))
        needed = wanted - progress.asn_participating
    return Reply(
        "coordinator/progress",
        {"unit_name": conversation.data["unit_name"], "unit_progress": progress,
         "progress_at": context.now, "target_percent": target, "target_needed": needed},
        buttons=((Button("back", "co:back"), Button("to_menu", "co:home")),),
    )


async def take_progress(conversation: Conversation, context: Context) -> str | Goto:
    choice = choice_of(context, "co", ("back", "home"), {"kembali": "back", "menu": "home"})
    return Goto(None) if choice == "home" else "back"


# --- pending verifications ---------------------------------------------------------------

async def show_pending(conversation: Conversation, context: Context) -> Reply:
    """One page of the OPD's submitted enrolments, oldest first, each with its buttons."""
    unit_id = _unit(conversation)
    total = await context.verifications.pending_count(unit_id)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(int(conversation.data.get("page", 0)), pages - 1)
    conversation.data["page"] = page
    items = await context.verifications.pending(unit_id, page * PAGE_SIZE, PAGE_SIZE)
    first = page * PAGE_SIZE + 1
    rows: list[tuple[Button, ...]] = []
    for number, item in enumerate(items, start=first):
        rows.append((Button("approve", f"co:ok:{item.id}", {"number": number}),
                     Button("reject", f"co:no:{item.id}", {"number": number})))
    turns = []
    if page > 0:
        turns.append(Button("page_prev", f"co:pg:{page - 1}"))
    if page + 1 < pages:
        turns.append(Button("page_following", f"co:pg:{page + 1}"))
    if turns:
        rows.append(tuple(turns))
    rows.append((Button("back", "co:back"),))
    return Reply(
        "coordinator/pending",
        {"unit_name": conversation.data["unit_name"], "pending": items,
         "pending_total": total, "first_number": first, "page": page + 1, "pages": pages},
        buttons=tuple(rows),
    )


async def take_pending(conversation: Conversation, context: Context) -> str:
    incoming = context.incoming
    if incoming.kind is Kind.TEXT and " ".join(incoming.text.split()).lower() == "kembali":
        return "back"
    expect_button(context)
    payload = incoming.payload
    if payload == "co:back":
        return "back"
    turn = _PAGE.fullmatch(payload)
    if turn:
        conversation.data["page"] = int(turn.group(1))
        return "refresh"
    action = _ENROLMENT_ACTION.fullmatch(payload)
    if action is None:
        raise Invalid("errors/stale_button")
    enrollment = await _pending_one(conversation, context, int(action.group(2)))
    if action.group(1) == "no":
        conversation.data["reject_id"] = enrollment.id
        return "reject"
    try:
        await _decide(conversation, context, enrollment, verified=True, reason=None)
    except EnrollmentNotFound:  # decided by another coordinator a moment ago
        raise Invalid("coordinator/gone") from None
    return "refresh"


async def _pending_one(conversation: Conversation, context: Context, enrollment_id: int
                       ) -> PendingEnrollment:
    """The enrolment, if it is a submitted one of this coordinator's OPD; else the kind
    explanation that it is no longer (or never was) waiting here."""
    found = await context.verifications.pending_one(_unit(conversation), enrollment_id)
    if found is None:
        raise Invalid("coordinator/gone")
    return found


async def _decide(conversation: Conversation, context: Context, enrollment: PendingEnrollment,
                  *, verified: bool, reason: str | None) -> None:
    """Record the decision, audit it, tell the ASN, and say it was done."""
    coordinator = _asn_id(context)
    unit_id = _unit(conversation)
    await context.verifications.decide(
        unit_id, enrollment.id, verified=verified, reason=reason, by_asn_id=coordinator,
        now=context.now,
    )
    channel = context.incoming.channel.value
    await context.audit.record(
        "enrollment.verified" if verified else "enrollment.rejected",
        actor_asn_id=coordinator, channel=channel, now=context.now,
        subject=f"enrollment:{enrollment.id}",
        details={"unit_id": unit_id, **({} if verified else {"reason": reason})},
    )
    news = {"worker": enrollment.worker_name, "nik": enrollment.nik_masked,
            "reason": reason or "", "unit_name": conversation.data["unit_name"]}
    address = await context.roles.address_of_asn(enrollment.asn_id)
    if address is not None:
        conversation.replies.append(Reply(
            "coordinator/asn_verified" if verified else "coordinator/asn_rejected", news,
            chat_id=address.chat_id, channel=Channel(address.channel),
        ))
    conversation.replies.append(Reply(
        "coordinator/verified_done" if verified else "coordinator/rejected_done",
        {**news, "asn_name": enrollment.asn_name, "told": address is not None},
    ))


# --- the reason for a rejection ----------------------------------------------------------

async def ask_reject_reason(conversation: Conversation, context: Context) -> Reply:
    found = await context.verifications.pending_one(_unit(conversation),
                                                    int(conversation.data["reject_id"]))
    return Reply(
        "coordinator/ask_reject_reason",
        {"worker": found.worker_name if found else None,
         "nik": found.nik_masked if found else None},
        buttons=reason_buttons("reject", "rj", REASONS),
    )


async def take_reject_reason(conversation: Conversation, context: Context) -> str:
    reason = reason_of(context, "rj", REASONS, "coordinator")
    if reason is None:
        conversation.data.pop("reject_id", None)
        return "back"
    enrollment_id = int(conversation.data.pop("reject_id"))
    found = await context.verifications.pending_one(_unit(conversation), enrollment_id)
    try:
        if found is None:
            raise EnrollmentNotFound(enrollment_id)
        await _decide(conversation, context, found, verified=False, reason=reason)
    except EnrollmentNotFound:  # decided by another coordinator meanwhile
        conversation.replies.append(Reply("coordinator/gone"))
    return "decided"


# --- /tautkan in a group -----------------------------------------------------------------

_KECAMATAN_PREFIX = re.compile(r"^(kecamatan|kec\.?)\s+")


def _same_unit(typed: str, name: str) -> bool:
    typed = " ".join(typed.split()).casefold()
    return typed in {name.casefold(), _KECAMATAN_PREFIX.sub("", name.casefold())} or (
        _KECAMATAN_PREFIX.sub("", typed) == name.casefold())


async def link_group(context: Context, held: Sequence[RoleView]) -> Reply:
    """Link the group to the unit of the role holder who typed /tautkan (naming the unit
    after the command when they hold roles for several)."""
    asn = context.asn
    assert asn is not None
    incoming = context.incoming
    words = incoming.text.strip().split(maxsplit=1)
    typed = words[1] if len(words) > 1 else ""
    choices = [role for role in held if typed and _same_unit(typed, role.unit_name or "")]
    if not typed and len(held) == 1:
        choices = list(held)
    if len(choices) != 1:
        return Reply("roles/link_which", {"units": [role.unit_name for role in held]})
    role = choices[0]
    assert role.unit_id is not None
    channel = incoming.channel.value
    previous = await context.roles.link_group(channel, incoming.chat_id, role.unit_id, asn.id,
                                              context.now)
    await context.audit.record(
        "group.linked", actor_asn_id=asn.id, channel=channel, now=context.now,
        subject=f"chat:{incoming.chat_id}",
        details={"unit_id": role.unit_id, "role": role.role, "previous_unit_id": previous},
    )
    config = context.config
    return Reply("roles/group_linked", {
        "unit_name": role.unit_name, "unit_kind": ROLE_UNIT_KIND[role.role],
        "report_day": config.report_day, "report_time": config.report_time,
    })


class CoordinatorFlow(Flow):
    name = "Coordinator"
    initial = S.MENU
    role = "coordinator"
    commands: ClassVar[Mapping[str, Command]] = {
        "koordinator": Command(S.MENU, "coordinator"),
        "verifikasi": Command(S.PENDING, "coordinator"),
        "progres": Command(S.PROGRESS, "coordinator"),
    }
    group_commands: ClassVar[Mapping[str, GroupCommand]] = {
        "tautkan": GroupCommand(link_group, frozenset({"coordinator", "camat"})),
    }

    def __init__(self) -> None:
        help_ = "help/coordinator"
        super().__init__(
            {
                S.MENU: Step(show_menu, take_menu, help_, resting=True),
                S.PROGRESS: Step(show_progress, take_progress, help_, resting=True),
                S.PENDING: Step(show_pending, take_pending, help_, resting=True),
                S.REJECT_REASON: Step(ask_reject_reason, take_reject_reason, help_,
                                      cancelled="coordinator/reject_cancelled"),
            },
            TRANSITIONS,
        )
