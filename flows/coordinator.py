"""The OPD coordinator: the OPD's progress, and the submitted enrolments to verify.

    Coordinator:menu --progress--> Coordinator:progress
                     --pending---> Coordinator:pending --review--> Coordinator:review
                                   (refresh: a page)                 | approve     | reject
                                                                     v             v
                                        Coordinator:confirm_approve   Coordinator:reject_reason
                                                                                   | next
                                                                                   v
                                                                  Coordinator:confirm_reject
    decided (here, or by another coordinator meanwhile): to the list; back: one step up;
    keep ("Batal" at a confirmation): to the review.

The unit comes from the conversation's data, put there when the coordinator opened this
conversation and checked by the router against the roles table on every update; a button
carries only an enrolment id, and every action looks that id up within the unit and in
status "submitted", so a forged or stale button for another OPD's enrolment changes nothing.

Verifying means comparing the data with the worker's KTP, so opening one enrolment shows its
NIK, name and birth date in full: in the coordinator's private chat only, marked
confidential (Telegram keeps it from being forwarded or saved), and audited each time
(the audit row names the enrolment, never the NIK). A decision takes a second, explicit
"Ya": one mistaken tap approves or rejects nothing. An enrolment the coordinator submitted
themselves is not theirs to decide; another coordinator of the OPD (or one the admin names)
does it. The list's numbers are the buttons' numbers, page by page, so a typed "2" means
one thing only. The ASN is told of each decision in their own chat. In a group chat,
/tautkan links the group to the coordinator's OPD (or a camat's kecamatan) for the monthly
progress.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from flows.answers import choice_of, expect_button, number_of, reason_buttons, reason_of
from flows.conversation import Context, Conversation, Flow, Goto, GroupCommand, Invalid, Step, move
from flows.events import Button, Channel, ChatType, Kind, Reply
from flows.nik import InvalidNik, parse_nik
from flows.roles import ROLE_UNIT_KIND, Role, UnitKind
from flows.states import Coordinator, prefix
from storage.interfaces import EnrollmentNotFound, PendingEnrollment, RoleView

# Where an enrolment can be while one coordinator looks at it (and another decides it).
_DECIDING = [Coordinator.review, Coordinator.confirm_approve, Coordinator.reject_reason,
             Coordinator.confirm_reject]

TRANSITIONS = [
    move("progress", Coordinator.menu, Coordinator.progress),
    move("pending", Coordinator.menu, Coordinator.pending),
    move("back", [Coordinator.progress, Coordinator.pending], Coordinator.menu),
    move("refresh", Coordinator.pending, Coordinator.pending),
    move("review", Coordinator.pending, Coordinator.review),
    move("back", Coordinator.review, Coordinator.pending),
    move("approve", Coordinator.review, Coordinator.confirm_approve),
    move("back", Coordinator.confirm_approve, Coordinator.review),
    move("reject", Coordinator.review, Coordinator.reject_reason),
    move("back", Coordinator.reject_reason, Coordinator.review),
    move("next", Coordinator.reject_reason, Coordinator.confirm_reject),
    move("back", Coordinator.confirm_reject, Coordinator.reject_reason),
    # "Batal" at a confirmation: nothing decided, the enrolment's question again.
    move("keep", [Coordinator.confirm_approve, Coordinator.confirm_reject], Coordinator.review),
    # Decided here, or meanwhile by another coordinator: the list again.
    move("decided", _DECIDING, Coordinator.pending),
]

PAGE_SIZE = 3  # a button each, page turns and "back": within WhatsApp's 10 rows
REASONS = ("data_mismatch", "not_eligible", "already_member", "other")
# ASCII digits only, an id within PostgreSQL's INTEGER (matched whole, with fullmatch).
_REVIEW = re.compile(r"co:rv:([0-9]{1,9})")
_PAGE = re.compile(r"co:pg:([0-9]{1,4})")
# What the conversation keeps while one enrolment is being decided.
_DECISION_KEYS = ("review_id", "reason")


def _unit(conversation: Conversation) -> int:
    return int(conversation.data["unit_id"])


def _asn_id(context: Context) -> int:
    asn = context.asn
    assert asn is not None, "the router lets identified coordinators in only"
    return asn.id


def _forget_decision(conversation: Conversation) -> None:
    for key in _DECISION_KEYS:
        conversation.data.pop(key, None)


# --- menu --------------------------------------------------------------------------------

async def show_menu(conversation: Conversation, context: Context) -> Reply:
    conversation.data.pop("page", None)
    _forget_decision(conversation)
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
    progress = await context.progress.unit_progress(UnitKind.OPD, _unit(conversation), context.now)
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

async def _page_items(conversation: Conversation, context: Context
                      ) -> tuple[list[PendingEnrollment], int, int, int]:
    """The current page's enrolments (oldest first), the total, the page and the pages."""
    unit_id = _unit(conversation)
    total = await context.verifications.pending_count(unit_id)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(int(conversation.data.get("page", 0)), pages - 1)
    conversation.data["page"] = page
    items = await context.verifications.pending(unit_id, page * PAGE_SIZE, PAGE_SIZE)
    return items, total, page, pages


async def show_pending(conversation: Conversation, context: Context) -> Reply:
    """One page of the OPD's submitted enrolments, numbered as their buttons are: the
    button of number 2 is the second button, so typing "2" can mean nothing else."""
    _forget_decision(conversation)
    items, total, page, pages = await _page_items(conversation, context)
    rows: list[tuple[Button, ...]] = [
        (Button("review", f"co:rv:{item.id}", {"number": number, "name": item.worker_name}),)
        for number, item in enumerate(items, start=1)
    ]
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
         "pending_total": total, "page": page + 1, "pages": pages,
         "own_asn_id": _asn_id(context)},
        buttons=tuple(rows),
    )


async def take_pending(conversation: Conversation, context: Context) -> str:
    incoming = context.incoming
    if incoming.kind is Kind.TEXT:
        return await _typed_in_list(conversation, context)
    expect_button(context)
    payload = incoming.payload
    if payload == "co:back":
        return "back"
    turn = _PAGE.fullmatch(payload)
    if turn:
        conversation.data["page"] = int(turn.group(1))
        return "refresh"
    chosen = _REVIEW.fullmatch(payload)
    if chosen is None:
        raise Invalid("errors/stale_button")
    return await _open(conversation, context, int(chosen.group(1)))


async def _typed_in_list(conversation: Conversation, context: Context) -> str:
    """A number typed for an enrolment of this page (where no buttons are numbered, as on
    WhatsApp and Telegram), or "kembali"."""
    typed = " ".join(context.incoming.text.split()).lower()
    if typed == "kembali":
        return "back"
    number = number_of(typed)
    if number is None:
        raise Invalid("errors/choose_button")
    items = (await _page_items(conversation, context))[0]
    if not 1 <= number <= len(items):
        raise Invalid("coordinator/no_such_number", count=len(items))
    return await _open(conversation, context, items[number - 1].id)


async def _open(conversation: Conversation, context: Context, enrollment_id: int) -> str:
    """Show one enrolment for verification: its KTP data in full, once, audited."""
    enrollment = await _decidable(conversation, context, enrollment_id)
    if context.incoming.chat_type is not ChatType.PRIVATE:
        raise Invalid("coordinator/private_only")  # the router keeps flows out of groups
    identity = await context.verifications.identity(_unit(conversation), enrollment.id)
    if identity is None:
        raise Invalid("coordinator/gone")
    try:
        nik = parse_nik(identity.nik)
    except InvalidNik:  # stored before today's checks: show it, without what it says
        nik_date, female = None, None
    else:
        nik_date, female = nik.birth_date(context.today), nik.female
    conversation.replies.append(Reply(
        "coordinator/identity",
        {"item": enrollment, "nik": identity.nik, "name": identity.name,
         "birth_date": identity.birth_date, "nik_date": nik_date, "female": female,
         "unit_name": conversation.data["unit_name"]},
        confidential=True,
    ))
    await context.audit.record(
        "worker.identity_shown", actor_asn_id=_asn_id(context),
        channel=context.incoming.channel.value, now=context.now,
        subject=f"enrollment:{enrollment.id}",
        details={"unit_id": _unit(conversation), "shown": ["nik", "name", "birth_date"],
                 "purpose": "verification"},
    )
    conversation.data["review_id"] = enrollment.id
    return "review"


async def _decidable(conversation: Conversation, context: Context, enrollment_id: int
                     ) -> PendingEnrollment:
    """The enrolment, if it is a submitted one of this coordinator's OPD that someone else
    submitted; else the kind explanation why it cannot be decided here."""
    found = await context.verifications.pending_one(_unit(conversation), enrollment_id)
    if found is None:
        raise Invalid("coordinator/gone")
    coordinator = _asn_id(context)
    if found.asn_id == coordinator:
        others = await context.verifications.other_coordinators(_unit(conversation),
                                                               coordinator)
        raise Invalid("coordinator/own_worker", worker=found.worker_name,
                      unit_name=conversation.data["unit_name"], others=others)
    return found


async def _under_review(conversation: Conversation, context: Context
                        ) -> PendingEnrollment | None:
    """The enrolment being decided, or None when it no longer waits (decided by another
    coordinator meanwhile); the conversation then forgets it."""
    found = await context.verifications.pending_one(_unit(conversation),
                                                    int(conversation.data["review_id"]))
    if found is None or found.asn_id == _asn_id(context):
        return None
    return found


def _gone(conversation: Conversation) -> str:
    """Back to the list, saying the enrolment no longer waits here."""
    _forget_decision(conversation)
    conversation.replies.append(Reply("coordinator/gone"))
    return "decided"


def _news(conversation: Conversation, enrollment: PendingEnrollment) -> dict[str, Any]:
    return {"worker": enrollment.worker_name, "nik": enrollment.nik_masked,
            "asn_name": enrollment.asn_name, "unit_name": conversation.data["unit_name"]}


# --- one enrolment: approve or reject ----------------------------------------------------
# Every step first looks the enrolment up again: another coordinator may have decided it
# meanwhile, and then whatever was pressed leads back to the list with a word about it.

def _no_longer_waiting() -> Reply:
    return Reply("coordinator/no_longer_waiting", buttons=((Button("back", "co:back"),),))


async def show_review(conversation: Conversation, context: Context) -> Reply:
    """The question under the KTP data: approve, reject, or back to the list."""
    found = await _under_review(conversation, context)
    if found is None:
        return _no_longer_waiting()
    return Reply(
        "coordinator/review", _news(conversation, found),
        buttons=((Button("approve", f"co:ok:{found.id}"),
                  Button("reject", f"co:no:{found.id}")),
                 (Button("back", "co:back"),)),
    )


async def take_review(conversation: Conversation, context: Context) -> str:
    found = await _under_review(conversation, context)
    if found is None:
        return _gone(conversation)
    approve, reject = f"ok:{found.id}", f"no:{found.id}"
    choice = choice_of(context, "co", (approve, reject, "back"),
                       {"setujui": approve, "tolak": reject, "kembali": "back"})
    return {approve: "approve", reject: "reject"}.get(choice, "back")


async def ask_approve(conversation: Conversation, context: Context) -> Reply:
    """Say what approving does, and ask for an explicit "Ya"."""
    return await _ask_decision(conversation, context, verified=True)


async def take_approve(conversation: Conversation, context: Context) -> str:
    return await _take_decision(conversation, context, verified=True)


async def ask_reject_reason(conversation: Conversation, context: Context) -> Reply:
    found = await _under_review(conversation, context)
    if found is None:
        return _no_longer_waiting()
    return Reply("coordinator/ask_reject_reason", _news(conversation, found),
                 buttons=reason_buttons("reject", "rj", REASONS))


async def take_reject_reason(conversation: Conversation, context: Context) -> str:
    if await _under_review(conversation, context) is None:
        return _gone(conversation)
    reason = reason_of(context, "rj", REASONS, "coordinator")
    if reason is None:
        return "back"
    conversation.data["reason"] = reason
    return "next"


async def ask_reject(conversation: Conversation, context: Context) -> Reply:
    """Repeat the reason the ASN will read, and ask for an explicit "Ya"."""
    return await _ask_decision(conversation, context, verified=False)


async def take_reject(conversation: Conversation, context: Context) -> str:
    return await _take_decision(conversation, context, verified=False)


async def _ask_decision(conversation: Conversation, context: Context, *, verified: bool
                        ) -> Reply:
    """A decision's last question. "Batal" comes first, so a second tap on the place of the
    button that led here ("Setujui", or "1" typed again) cancels instead of deciding."""
    found = await _under_review(conversation, context)
    if found is None:
        return _no_longer_waiting()
    facts = _news(conversation, found)
    if not verified:
        facts["reason"] = conversation.data["reason"]
    yes = Button("approve_yes" if verified else "reject_yes", f"co:yes:{found.id}")
    return Reply("coordinator/confirm_approve" if verified else "coordinator/confirm_reject",
                 facts, buttons=((Button("cancel", "co:cancel"), yes),))


async def _take_decision(conversation: Conversation, context: Context, *, verified: bool
                         ) -> str:
    """"Ya" decides; "Batal" goes back to the enrolment with nothing decided."""
    found = await _under_review(conversation, context)
    if found is None:
        return _gone(conversation)
    yes, verb = f"yes:{found.id}", "setujui" if verified else "tolak"
    typed = {"ya": yes, f"ya, {verb}": yes, verb: yes,
             "batal": "cancel", "tidak": "cancel", "kembali": "cancel"}
    if choice_of(context, "co", (yes, "cancel"), typed) != yes:
        conversation.data.pop("reason", None)
        conversation.replies.append(Reply("coordinator/not_decided"))
        return "keep"
    reason = None if verified else str(conversation.data["reason"])
    return await _decide(conversation, context, found, verified=verified, reason=reason)


async def _decide(conversation: Conversation, context: Context, enrollment: PendingEnrollment,
                  *, verified: bool, reason: str | None) -> str:
    """Record the decision, audit it, tell the ASN, and say it was done."""
    coordinator = _asn_id(context)
    unit_id = _unit(conversation)
    try:
        await context.verifications.decide(
            unit_id, enrollment.id, verified=verified, reason=reason, by_asn_id=coordinator,
            now=context.now,
        )
    except EnrollmentNotFound:  # decided by another coordinator a moment ago
        return _gone(conversation)
    channel = context.incoming.channel.value
    await context.audit.record(
        "enrollment.verified" if verified else "enrollment.rejected",
        actor_asn_id=coordinator, channel=channel, now=context.now,
        subject=f"enrollment:{enrollment.id}",
        details={"unit_id": unit_id, **({} if verified else {"reason": reason})},
    )
    news = {**_news(conversation, enrollment), "reason": reason or ""}
    address = await context.roles.address_of_asn(enrollment.asn_id)
    if address is not None:
        conversation.replies.append(Reply(
            "coordinator/asn_verified" if verified else "coordinator/asn_rejected", news,
            chat_id=address.chat_id, channel=Channel(address.channel),
        ))
    conversation.replies.append(Reply(
        "coordinator/verified_done" if verified else "coordinator/rejected_done",
        {**news, "told": address is not None},
    ))
    _forget_decision(conversation)
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
    name = prefix(Coordinator)
    initial = Coordinator.menu
    role = Role.COORDINATOR
    commands: ClassVar[Mapping[str, str]] = {
        "koordinator": Coordinator.menu, "verifikasi": Coordinator.pending,
        "progres": Coordinator.progress,
    }
    group_commands: ClassVar[Mapping[str, GroupCommand]] = {
        "tautkan": GroupCommand(link_group, frozenset({Role.COORDINATOR, Role.CAMAT})),
    }

    def __init__(self) -> None:
        help_ = "help/coordinator"
        undecided = "coordinator/decision_cancelled"
        super().__init__(
            {
                Coordinator.menu: Step(show_menu, take_menu, help_, resting=True),
                Coordinator.progress: Step(show_progress, take_progress, help_, resting=True),
                Coordinator.pending: Step(show_pending, take_pending, help_, resting=True),
                Coordinator.review: Step(show_review, take_review, help_, cancelled=undecided),
                Coordinator.confirm_approve: Step(ask_approve, take_approve, help_,
                                                  cancelled=undecided),
                Coordinator.reject_reason: Step(ask_reject_reason, take_reject_reason, help_,
                                                cancelled=undecided),
                Coordinator.confirm_reject: Step(ask_reject, take_reject, help_,
                                                 cancelled=undecided),
            },
            TRANSITIONS,
        )
