"""The main menu of an identified ASN: enrol a worker, see one's workers, get help."""

from __future__ import annotations

from flows.conversation import Context, Conversation, Flow, Goto, Step, choice_of
from flows.events import Button, Reply


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
    return Reply(
        "menu/main",
        {"name": asn.name, "workers": count},
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
