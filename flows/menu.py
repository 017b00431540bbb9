"""The main menu of an identified ASN: enrol a worker, see one's workers, get help."""

from __future__ import annotations

from flows.conversation import Context, Conversation, Flow, Goto, Step, choice_of
from flows.events import Button, Reply
from flows.premium import NoPremiumRate, first_deduction


class S:
    MAIN = "Menu:main"


CHOICES = ("enrol", "workers", "help")
TYPED = {
    "1": "enrol", "daftar": "enrol", "daftarkan": "enrol", "daftarkan pekerja": "enrol",
    "2": "workers", "pekerja": "workers", "pekerja saya": "workers",
    "3": "help", "bantuan": "help",
}


async def show_menu(conversation: Conversation, context: Context) -> Reply:
    """Greet by name and offer the three things an ASN can do."""
    asn = context.asn
    assert asn is not None, "the router shows the menu to identified ASN only"
    count = await context.enrollments.holding_count(asn.id)
    config = context.config
    try:
        _, rate = first_deduction(config.premium_schedule, context.today,
                                  config.deduction_offset_months)
        premium: int | None = rate.total
    except NoPremiumRate:
        premium = None  # the deduction step explains; the menu just leaves the figure out
    return Reply(
        "menu/main",
        {"name": asn.name, "workers": count, "premium": premium},
        buttons=(
            (Button("menu_enrol", "menu:enrol"),),
            (Button("menu_workers", "menu:workers"),),
            (Button("menu_help", "menu:help"),),
        ),
    )


async def take_choice(conversation: Conversation, context: Context) -> Goto:
    choice = choice_of(context, "menu", CHOICES, TYPED)
    if choice == "enrol":
        return Goto("Enrollment:relationship")
    if choice == "workers":
        return Goto("Workers:list")
    conversation.replies.append(Reply("help/general"))
    return Goto(S.MAIN)


class MenuFlow(Flow):
    name = "Menu"
    initial = S.MAIN

    def __init__(self) -> None:
        super().__init__({S.MAIN: Step(show_menu, take_choice, help="help/general")}, [])
