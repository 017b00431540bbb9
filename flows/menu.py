"""The main menu of an identified ASN: enrol a worker (or go on with the one /mulai set
aside), see one's workers, get help, switch reminders off or on; and for role holders, their
coordinator's or camat's work.

A role button carries the unit it opens ("menu:coord:12"); the unit is checked against the
roles table when pressed, so a forged button for another unit opens nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flows.answers import number_of
from flows.conversation import Context, Conversation, Flow, Goto, Invalid, Step
from flows.enrollment import STEP_OF, STEPS, answers_in
from flows.events import Button, Kind, Reply
from flows.paused import PAUSED, enrol, paused_form, start_afresh
from flows.premium import first_premium
from flows.roles import Role
from flows.states import Broadcast, Coordinator, Menu, Workers, prefix
from storage.interfaces import RoleView

# Role buttons open these states, for holders of these roles.
ROLE_ENTRIES = {"coord": (Role.COORDINATOR, Coordinator.menu),
                "camat": (Role.CAMAT, Broadcast.audience)}
TYPED = {
    "daftar": "enrol", "daftarkan": "enrol", "daftarkan pekerja": "enrol",
    "pekerja": "workers", "pekerja saya": "workers",
    "bantuan": "help",
    "pengingat": "reminders", "matikan pengingat": "reminders",
    "nyalakan pengingat": "reminders", "aktifkan pengingat": "reminders",
    "lanjutkan": "enrol", "lanjutkan pendaftaran": "enrol",
    "koordinator": "coord", "verifikasi": "coord",
    "siaran": "camat", "siaran camat": "camat",
}


def _buttons(roles: list[RoleView], reminders_enabled: bool, paused: dict[str, Any] | None
             ) -> list[Button]:
    """The menu's choices in order; a typed number names the choice at that place. While a
    form is set aside, the first choice goes on with it (one enrolment form at a time)."""
    enrol = Button("menu_resume" if paused is not None else "menu_enrol", "menu:enrol")
    buttons = [enrol, Button("menu_workers", "menu:workers"), Button("menu_help", "menu:help")]
    coordinated = [role for role in roles if role.role == Role.COORDINATOR and role.unit_id]
    for role in coordinated:
        buttons.append(Button("menu_coordinator", f"menu:coord:{role.unit_id}",
                              {"unit": role.unit_name}))
    camat = [role for role in roles if role.role == Role.CAMAT and role.unit_id]
    for role in camat:
        # One kecamatan needs no name on the button; several do.
        buttons.append(Button("menu_camat", f"menu:camat:{role.unit_id}",
                              {"unit": role.unit_name if len(camat) > 1 else ""}))
    # The button says what pressing it does, not what holds now.
    buttons.append(Button("menu_reminders_off" if reminders_enabled else "menu_reminders_on",
                          "menu:reminders"))
    return buttons


async def _roles(context: Context) -> list[RoleView]:
    asn = context.asn
    assert asn is not None, "the router shows the menu to identified ASN only"
    return await context.roles.roles_of(asn.id)


async def show_menu(conversation: Conversation, context: Context) -> Reply:
    """Greet by name and offer what this ASN can do."""
    asn = context.asn
    assert asn is not None, "the router shows the menu to identified ASN only"
    count = await context.enrollments.holding_count(asn.id)
    config = context.config
    premium = first_premium(config.premium_schedule, context.today,
                            config.deduction_offset_months)
    paused = paused_form(conversation.data, asn.id)
    buttons = _buttons(await _roles(context), asn.reminders_enabled, paused)
    worker = paused["data"].get("name") if paused is not None else None
    step = STEP_OF.get(paused["state"], 1) if paused is not None else None
    return Reply(
        "menu/main",
        {"name": asn.name, "workers": count, "premium": premium, "paused": paused is not None,
         "paused_worker": worker, "paused_step": step, "steps": STEPS},
        buttons=tuple((button,) for button in buttons),
    )


async def _choice(conversation: Conversation, context: Context) -> str:
    """The pressed button's payload, or the payload of the choice a typed word names."""
    incoming = context.incoming
    if incoming.kind is Kind.BUTTON:
        return incoming.payload
    if incoming.kind is Kind.CONTACT:
        raise Invalid("errors/unexpected_contact")
    if incoming.kind is not Kind.TEXT:
        raise Invalid("errors/unsupported")
    asn = context.asn
    assert asn is not None
    typed = " ".join(incoming.text.split()).lower()
    buttons = _buttons(await _roles(context), asn.reminders_enabled,
                       paused_form(conversation.data, asn.id))
    number = number_of(typed)
    if number is not None and 1 <= number <= len(buttons):
        return buttons[number - 1].payload
    wanted = TYPED.get(typed)
    for button in buttons:
        if wanted is not None and button.payload.split(":")[1] == wanted:
            return button.payload
    raise Invalid("errors/choose_button")


async def take_choice(conversation: Conversation, context: Context) -> Goto:
    head, _, rest = (await _choice(conversation, context)).partition(":")
    choice, _, unit = rest.partition(":")
    if head != "menu":
        raise Invalid("errors/stale_button")
    if choice == "enrol" and not unit:
        return enrol(conversation, context)
    if choice == "workers" and not unit:
        return Goto(Workers.list)
    if choice == "help" and not unit:
        conversation.replies.append(Reply("help/general"))
        return Goto(None)
    if choice == "reminders" and not unit:
        return await _toggle_reminders(conversation, context)
    unit_id = number_of(unit)
    if choice in ROLE_ENTRIES and unit_id is not None:
        return await _open_role(conversation, context, choice, unit_id)
    raise Invalid("errors/stale_button")


async def _toggle_reminders(conversation: Conversation, context: Context) -> Goto:
    """Switch reminders the other way and say, in words, what holds now."""
    asn = context.asn
    assert asn is not None
    enabled = not asn.reminders_enabled
    await context.roster.set_reminders(asn.id, enabled)
    await context.audit.record(
        "reminders.on" if enabled else "reminders.off", actor_asn_id=asn.id,
        channel=context.incoming.channel.value, now=context.now,
    )
    context.asn = replace(asn, reminders_enabled=enabled)
    conversation.replies.append(Reply("menu/reminders_on" if enabled else "menu/reminders_off"))
    return Goto(None)


async def _open_role(conversation: Conversation, context: Context, choice: str, unit_id: int
                     ) -> Goto:
    """Open the role's conversation for the unit on the button, if it is really held."""
    asn = context.asn
    assert asn is not None
    role, state = ROLE_ENTRIES[choice]
    for held in await _roles(context):
        if held.role == role and held.unit_id == unit_id:
            start_afresh(conversation.data)
            conversation.data.update({"unit_id": unit_id, "unit_name": held.unit_name})
            return Goto(state)
    raise Invalid("roles/not_for_you")


class MenuFlow(Flow):
    name = prefix(Menu)
    initial = Menu.main

    def __init__(self) -> None:
        menu = Step(show_menu, take_choice, help="help/general", resting=True)
        super().__init__({Menu.main: menu, Menu.paused: menu}, [])

    def unsaved_answers(self, conversation: Conversation) -> int:
        """The answers of a form set aside: /batal here throws them away (asked first)."""
        form = conversation.data.get(PAUSED)
        return answers_in(form["data"]) if isinstance(form, dict) else 0
