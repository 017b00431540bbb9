"""Identify: prove to be an ASN on the roster, by NIP and then one's own phone contact.

    Identify:nip --next--> Identify:phone --(match)--> main menu
         ^                      |
         +------mismatch--------+

On a channel that vouches for the sender's number (WhatsApp: `Incoming.phone`), that number
is the phone proof: the typed NIP is matched with it at once, and the contact step is skipped
(a mismatch stays at Identify:nip).

Nothing from the roster (not even whether the NIP exists) is shown before the phone is proven:
a wrong NIP and a wrong phone get the same answer, and failures are capped per account.
"""

from __future__ import annotations

from datetime import timedelta

from flows.answers import text_of
from flows.conversation import Context, Conversation, Flow, Goto, Invalid, Step, move
from flows.events import Button, Kind, Reply
from flows.masking import mask_phone
from flows.nip import InvalidNip, parse_nip
from flows.phone import InvalidPhone, to_e164
from flows.states import Identify, prefix
from storage.interfaces import AsnView

TRANSITIONS = [
    move("next", Identify.nip, Identify.phone),
    move("mismatch", Identify.phone, Identify.nip),
    move("back", Identify.phone, Identify.nip),
]


async def _ensure_not_locked(context: Context) -> None:
    config = context.config
    since = context.now - config.login_window
    incoming = context.incoming
    failures = await context.roster.failures_since(
        incoming.channel.value, incoming.user_id, since
    )
    if failures >= config.login_max_failures:
        raise Invalid("identify/locked", minutes=int(config.login_window / timedelta(minutes=1)))


async def ask_nip(conversation: Conversation, context: Context) -> Reply:
    """Ask for the 18-digit NIP."""
    return Reply("identify/ask_nip", remove_keyboard=True)


async def take_nip(conversation: Conversation, context: Context) -> str | Goto:
    """Check the NIP's structure only; whether it is on the roster is told after the phone.

    Where the channel already vouches for the sender's phone, NIP and that phone are matched
    here; a mismatch is counted like a wrong contact and the NIP is asked for again."""
    await _ensure_not_locked(context)
    try:
        nip = parse_nip(text_of(context, max_length=64))
    except InvalidNip:
        raise Invalid("identify/bad_nip") from None
    if context.incoming.phone is not None:
        phone = _e164(context.incoming.phone)
        asn = await _match(nip.value, phone, context)
        if asn is None:
            remaining = await _record_failure(phone, context)
            raise Invalid("whatsapp/identify_mismatch", remaining=remaining)
        return await _linked(asn, phone, conversation, context)
    conversation.data["nip"] = nip.value
    return "next"


async def ask_phone(conversation: Conversation, context: Context) -> Reply:
    """Ask for the user's own contact through the share-contact button."""
    return Reply(
        "identify/ask_phone",
        buttons=((Button("share_contact", "contact", request_contact=True),),),
        inline=False,
    )


async def take_phone(conversation: Conversation, context: Context) -> str | Goto:
    """The contact must be the sender's own, and NIP plus phone must match the roster."""
    incoming = context.incoming
    if incoming.kind is Kind.TEXT:
        raise Invalid("identify/use_contact_button")
    if incoming.kind is Kind.BUTTON:
        raise Invalid("errors/stale_button")
    if incoming.kind is not Kind.CONTACT or incoming.contact is None:
        raise Invalid("errors/unsupported")
    if incoming.contact.user_id != incoming.user_id:
        raise Invalid("identify/not_own_contact")
    await _ensure_not_locked(context)
    phone = _e164(incoming.contact.phone)
    asn = await _match(conversation.data["nip"], phone, context)
    if asn is None:
        remaining = await _record_failure(phone, context)
        conversation.data.clear()
        conversation.replies.append(
            Reply("identify/mismatch", {"remaining": remaining}, remove_keyboard=True)
        )
        return "mismatch"
    return await _linked(asn, phone, conversation, context)


def _e164(phone: str) -> str | None:
    """The phone in E.164, or None when it is no phone number at all."""
    try:
        return to_e164(phone)
    except InvalidPhone:
        return None


async def _match(nip: str, phone: str | None, context: Context) -> AsnView | None:
    """The ASN with this NIP and this (E.164) phone on the roster, or None."""
    if phone is None:
        return None
    return await context.roster.find_by_nip_and_phone(nip, phone)


async def _record_failure(phone: str | None, context: Context) -> int:
    """Count a failed proof for this chat account; the attempts left in the window."""
    incoming = context.incoming
    channel = incoming.channel.value
    await context.roster.record_failure(channel, incoming.user_id, context.now)
    since = context.now - context.config.login_window
    used = await context.roster.failures_since(channel, incoming.user_id, since)
    await context.audit.record(
        "identity.failed", actor_asn_id=None, channel=channel, now=context.now,
        details={"phone": mask_phone(phone) if phone else None},
    )
    return max(context.config.login_max_failures - used, 0)


async def _linked(asn: AsnView, phone: str | None, conversation: Conversation,
                  context: Context) -> Goto:
    """Link this chat account to the ASN and greet them by name: the proof is complete."""
    incoming = context.incoming
    channel = incoming.channel.value
    await context.roster.link_identity(
        channel, incoming.user_id, incoming.chat_id, asn.id, context.now
    )
    await context.audit.record(
        "identity.linked", actor_asn_id=asn.id, channel=channel, now=context.now,
        details={"phone": mask_phone(phone or "")},
    )
    context.asn = asn
    conversation.data.clear()
    conversation.replies.append(
        Reply("identify/linked", {"name": asn.name, "unit": asn.unit_name}, remove_keyboard=True)
    )
    return Goto(None)


class IdentifyFlow(Flow):
    name = prefix(Identify)
    initial = Identify.nip

    def __init__(self) -> None:
        super().__init__(
            {
                Identify.nip: Step(ask_nip, take_nip, help="help/identify_nip", resting=True),
                Identify.phone: Step(ask_phone, take_phone, help="help/identify_phone"),
            },
            TRANSITIONS,
        )
