"""A form set aside: /mulai in the middle of an enrolment goes to the main menu and keeps the
answers, and the menu offers to go on where the form stopped.

The paused form rides in the conversation's data under one key while its owner is anywhere
else (the menu, "Pekerja saya", a coordinator's or camat's work), so every place that starts
afresh forgets everything but it. It holds the ASN's id, so a chat account that another ASN
links later never sees it.
"""

from __future__ import annotations

from typing import Any

from flows.conversation import Context, Conversation, Goto
from flows.enrollment import STEP_OF
from flows.states import Enrollment

PAUSED = "paused"


def pause(conversation: Conversation, asn_id: int) -> None:
    """Keep the form's state and answers aside; the conversation then holds nothing else."""
    form = {"asn_id": asn_id, "state": conversation.state, "data": dict(conversation.data)}
    conversation.data.clear()
    conversation.data[PAUSED] = form


def paused_form(data: dict[str, Any], asn_id: int) -> dict[str, Any] | None:
    """The paused form ({"state", "data"}) of this ASN, or None."""
    form = data.get(PAUSED)
    if isinstance(form, dict) and form.get("asn_id") == asn_id:
        return form
    return None


def resume(conversation: Conversation, asn_id: int) -> str | None:
    """Put the paused form back as the conversation's data; the state it stopped at, or None
    when there is none (or it is someone else's)."""
    form = paused_form(conversation.data, asn_id)
    conversation.data.pop(PAUSED, None)
    if form is None:
        return None
    conversation.data.clear()
    conversation.data.update(form["data"])
    return str(form["state"])


def discard(data: dict[str, Any]) -> bool:
    """Forget the paused form; whether there was one."""
    return data.pop(PAUSED, None) is not None


def start_afresh(data: dict[str, Any]) -> None:
    """Forget what a task kept, but not a paused form."""
    form = data.get(PAUSED)
    data.clear()
    if form is not None:
        data[PAUSED] = form


def enrol(conversation: Conversation, context: Context) -> Goto:
    """"Daftarkan pekerja": the form /mulai set aside, where it stopped, or a new one."""
    asn = context.asn
    assert asn is not None
    state = resume(conversation, asn.id)
    if state is not None and state in STEP_OF:
        return Goto(state)
    start_afresh(conversation.data)  # a form of a state this version no longer has: anew
    return Goto(Enrollment.relationship)
