"""My workers: the ASN's enrolments with status and masked NIK; stop one with a reason.

    Workers:list --stop--> Workers:stop_reason --next--> Workers:stop_confirm --done--> list
         ^                        |                             |
         +---------back-----------+-------------back------------+

Stopping ends future deductions from a named month; a draft can go on to the agreement.
"""

from __future__ import annotations

from datetime import date

from flows.answers import choice_of, expect_button, number_of, reason_buttons, reason_of
from flows.conversation import Context, Conversation, Flow, Goto, Invalid, Step, move
from flows.enrollment_status import HOLDING_STATUSES, EnrollmentStatus
from flows.events import Button, Reply
from flows.months import first_of_month_after
from flows.paused import enrol, paused_form, start_afresh
from flows.states import Deduction, Workers, prefix
from storage.interfaces import EnrollmentNotFound, EnrollmentView

TRANSITIONS = [
    move("stop", Workers.list, Workers.stop_reason),
    move("next", Workers.stop_reason, Workers.stop_confirm),
    move("back", [Workers.stop_reason, Workers.stop_confirm], Workers.list),
    move("done", Workers.stop_confirm, Workers.list),
]

REASONS = ("own_membership", "no_longer_working", "cost", "other")


async def _owned(context: Context, enrollment_id: int) -> EnrollmentView:
    asn = context.asn
    assert asn is not None
    enrollment = await context.enrollments.get_for_asn(asn.id, enrollment_id)
    if enrollment is None:
        raise Invalid("errors/stale_button")
    return enrollment


async def show_list(conversation: Conversation, context: Context) -> Reply:
    """Every enrolment with its status; buttons to stop one or to finish a draft."""
    asn = context.asn
    assert asn is not None
    # The list holds nothing (a stop begun and left is forgotten) but a form set aside.
    start_afresh(conversation.data)
    enrollments = await context.enrollments.for_asn(asn.id)
    rows: list[tuple[Button, ...]] = []
    for item in enrollments:
        name = {"name": item.worker_name}
        if item.status == EnrollmentStatus.DRAFT:
            rows.append((Button("finish_draft", f"wk:agree:{item.id}", name),))
        if item.status in HOLDING_STATUSES:
            rows.append((Button("stop_worker", f"wk:stop:{item.id}", name),))
    enrol_label = "menu_resume" if paused_form(conversation.data, asn.id) else "menu_enrol"
    rows.append((Button(enrol_label, "wk:new"), Button("to_menu", "wk:menu")))
    return Reply(
        "workers/list",
        {"enrollments": enrollments, "stop_month": _stop_month(context)},
        buttons=tuple(rows),
    )


async def take_list_choice(conversation: Conversation, context: Context) -> str | Goto:
    expect_button(context)
    incoming = context.incoming
    if incoming.payload.startswith("wk:"):
        _, action, *rest = incoming.payload.split(":")
        if action == "new":
            return enrol(conversation, context)
        if action == "menu":
            return Goto(None)
        target = number_of(rest[0]) if rest else None
        if action in {"stop", "agree"} and target is not None:
            enrollment = await _owned(context, target)
            if action == "agree" and enrollment.status == EnrollmentStatus.DRAFT:
                conversation.data["enrollment_id"] = enrollment.id
                return Goto(Deduction.confirm)
            if action == "stop" and enrollment.status in HOLDING_STATUSES:
                conversation.data["stop_id"] = enrollment.id
                return "stop"
    raise Invalid("errors/stale_button")


def _stop_month(context: Context) -> date:
    """The first salary month without the deduction, when stopping today."""
    return first_of_month_after(context.today, context.config.deduction_offset_months)


async def ask_reason(conversation: Conversation, context: Context) -> Reply:
    """Why stop? A button, or the reason typed in one's own words."""
    enrollment = await _owned(context, int(conversation.data["stop_id"]))
    return Reply("workers/ask_reason", {"name": enrollment.worker_name},
                 buttons=reason_buttons("reason", "why", REASONS))


async def take_reason(conversation: Conversation, context: Context) -> str:
    reason = reason_of(context, "why", REASONS, "workers")
    if reason is None:
        return "back"  # the list forgets the stop begun
    conversation.data["stop_reason"] = reason
    return "next"


async def ask_stop_confirm(conversation: Conversation, context: Context) -> Reply:
    """Say what stopping means, from which month, and ask to confirm."""
    enrollment = await _owned(context, int(conversation.data["stop_id"]))
    return Reply(
        "workers/confirm_stop",
        {
            "name": enrollment.worker_name,
            "nik": enrollment.nik_masked,
            "reason": conversation.data["stop_reason"],
            "stop_month": _stop_month(context),
            "agreed": enrollment.status != EnrollmentStatus.DRAFT,
        },
        buttons=((Button("confirm_stop", "stop:yes"),), (Button("back", "stop:no"),)),
    )


async def take_stop_confirm(conversation: Conversation, context: Context) -> str:
    choice = choice_of(context, "stop", ("yes", "no"), {"ya": "yes", "tidak": "no"})
    if choice == "no":
        return "back"  # the list forgets the stop begun
    asn = context.asn
    assert asn is not None
    enrollment_id = int(conversation.data["stop_id"])
    reason = conversation.data["stop_reason"]
    stop_month = _stop_month(context)
    channel = context.incoming.channel.value
    enrollment = await _owned(context, enrollment_id)
    try:
        await context.enrollments.stop(asn.id, enrollment_id, reason, stop_month, context.now)
    except EnrollmentNotFound:  # stopped or changed elsewhere meanwhile: show the list as is
        conversation.replies.append(Reply("workers/changed"))
        return "done"
    await context.audit.record(
        "enrollment.stopped", actor_asn_id=asn.id, channel=channel, now=context.now,
        subject=f"enrollment:{enrollment_id}",
        details={"reason": reason, "stop_month": stop_month.isoformat()},
    )
    conversation.replies.append(
        Reply("workers/stopped", {"name": enrollment.worker_name, "stop_month": stop_month,
                                  "agreed": enrollment.status != EnrollmentStatus.DRAFT})
    )
    return "done"


class WorkersFlow(Flow):
    name = prefix(Workers)
    initial = Workers.list

    def __init__(self) -> None:
        super().__init__(
            {
                Workers.list: Step(show_list, take_list_choice, "help/workers", resting=True),
                Workers.stop_reason: Step(ask_reason, take_reason, "help/workers"),
                Workers.stop_confirm: Step(ask_stop_confirm, take_stop_confirm, "help/workers"),
            },
            TRANSITIONS,
        )
