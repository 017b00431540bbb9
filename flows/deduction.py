"""Confirm the payroll deduction: the premium from the dated schedule, the monthly total over
all the ASN's workers, the first month deducted, and an explicit "Saya setuju".

    Deduction:confirm --agree--> (submitted) main menu
                      --later--> (kept as draft) main menu
                      --/kembali--> the summary just saved (its form kept beside the draft),
                                    or "Pekerja saya" where the draft was opened from

The agreement is stored with the very words shown, the amounts, the time and the channel;
the OPD's coordinators are told that an enrolment waits for their verification.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from flows.answers import choice_of
from flows.conversation import Context, Conversation, Flow, Goto, Invalid, Step
from flows.enrollment_status import EnrollmentStatus
from flows.events import Button, Channel, Reply
from flows.premium import NoPremiumRate, PremiumRate, first_deduction
from flows.states import Deduction, Enrollment, Workers, prefix
from storage.interfaces import AgreementRecord, EnrollmentNotFound

AGREEMENT_VERSION = "potong-gaji-v1"


log = logging.getLogger(__name__)


async def _terms(conversation: Conversation, context: Context) -> dict[str, Any]:
    """The figures the ASN agrees to; computed the same way for the prompt and the record."""
    asn = context.asn
    assert asn is not None
    enrollment = await context.enrollments.get_for_asn(
        asn.id, int(conversation.data["enrollment_id"])
    )
    if enrollment is None or enrollment.status != EnrollmentStatus.DRAFT:
        raise EnrollmentNotFound(conversation.data["enrollment_id"])
    config = context.config
    first_month, rate = first_deduction(
        config.premium_schedule, context.today, config.deduction_offset_months
    )
    others = await context.enrollments.deducted_count(asn.id)
    return agreement_terms(asn.name, asn.nip, enrollment.worker_name, enrollment.nik_masked,
                           rate, first_month, workers=others + 1)


def agreement_terms(asn_name: str, nip: str, worker: str, nik_masked: str, rate: PremiumRate,
                    first_month: date, workers: int) -> dict[str, Any]:
    """The context of the agreement's words: the prompt, the stored wording, the demo data."""
    return {
        "asn_name": asn_name,
        "nip": nip,
        "worker": worker,
        "nik": nik_masked,
        "jkk": rate.jkk,
        "jkm": rate.jkm,
        "premium": rate.total,
        "workers": workers,
        "monthly_total": rate.total * workers,
        "first_month": first_month,
        "version": AGREEMENT_VERSION,
    }


def agreement_record(terms: dict[str, Any], wording: str) -> AgreementRecord:
    """The agreement as stored, from the terms shown and the words rendered from them."""
    return AgreementRecord(
        wording_version=AGREEMENT_VERSION,
        wording=wording,
        premium_jkk=terms["jkk"],
        premium_jkm=terms["jkm"],
        monthly_total=terms["monthly_total"],
        first_month=terms["first_month"],
    )


async def ask_agreement(conversation: Conversation, context: Context) -> Reply:
    """Show the premium, the total and the first month; ask for an explicit yes."""
    try:
        terms = await _terms(conversation, context)
    except EnrollmentNotFound:
        return Reply("deduction/not_available", buttons=((Button("to_menu", "ded:menu"),),))
    except NoPremiumRate as missing:
        log.error("premium schedule has no rate for %s: fix PREMIUM_SCHEDULE", missing.day)
        return Reply("deduction/no_rate", {"month": missing.day},
                     buttons=((Button("later", "ded:later"),),))
    return Reply(
        "deduction/confirm",
        {**terms, "changeable": isinstance(conversation.data.get("form"), dict)},
        buttons=((Button("agree", "ded:agree"),), (Button("later", "ded:later"),)),
    )


async def take_agreement(conversation: Conversation, context: Context) -> Goto:
    choice = choice_of(context, "ded", ("agree", "later", "menu"),
                       {"saya setuju": "agree", "setuju": "agree", "nanti": "later",
                        "nanti saja": "later"})
    if choice == "menu":  # from "not available": nothing is left to keep or agree to
        return Goto(None)
    if choice == "later":
        conversation.replies.append(Reply("deduction/later"))
        return Goto(None)
    asn = context.asn
    assert asn is not None
    try:
        terms = await _terms(conversation, context)
    except EnrollmentNotFound:
        conversation.replies.append(Reply("deduction/not_available"))
        return Goto(None)
    except NoPremiumRate as missing:
        raise Invalid("deduction/no_rate", month=missing.day) from None
    record = agreement_record(terms, context.wording("deduction/agreement_wording", terms))
    channel = context.incoming.channel.value
    enrollment_id = int(conversation.data["enrollment_id"])
    await context.enrollments.submit(asn.id, enrollment_id, record, channel, context.now)
    await context.audit.record(
        "deduction.agreed", actor_asn_id=asn.id, channel=channel, now=context.now,
        subject=f"enrollment:{enrollment_id}",
        details={"monthly_total": terms["monthly_total"],
                 "first_month": terms["first_month"].isoformat()},
    )
    conversation.replies.append(Reply("deduction/submitted", terms))
    await _tell_coordinators(conversation, context, terms)
    return Goto(None)


async def _tell_coordinators(conversation: Conversation, context: Context,
                             terms: dict[str, Any]) -> None:
    """DESIGN §5.3: the OPD's coordinators learn that an enrolment waits for them (the
    worker's name and masked NIK only), each in their own chat; a coordinator who submitted
    it is not one of them (another coordinator verifies it)."""
    asn = context.asn
    assert asn is not None
    if asn.unit_id is None:
        return
    news = {"worker": terms["worker"], "nik": terms["nik"]}
    own = await context.roles.address_of_asn(asn.id)
    for address in await context.roles.coordinator_addresses(asn.unit_id):
        if address == own:
            continue
        conversation.replies.append(Reply("coordinator/new_submission", news,
                                          chat_id=address.chat_id,
                                          channel=Channel(address.channel)))


class DeductionFlow(Flow):
    name = prefix(Deduction)
    initial = Deduction.confirm

    def __init__(self) -> None:
        super().__init__({Deduction.confirm: Step(ask_agreement, take_agreement,
                                                  "help/deduction",
                                                  cancelled="deduction/later")}, [])

    async def back(self, conversation: Conversation, context: Context) -> Goto:
        """Back to the summary of the draft just saved, to change it (saving again updates
        the same draft); or to "Pekerja saya" when the draft was opened from there."""
        data = conversation.data
        form = data.get("form")
        if not isinstance(form, dict):
            return Goto(Workers.list)
        draft_id = data["enrollment_id"]
        data.clear()
        data.update(form)
        data["draft_id"] = draft_id
        return Goto(Enrollment.summary)
