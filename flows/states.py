"""Where a conversation can be: every flow's states, named as conversation rows store them.

States are declared in aiogram's form: the attribute `nik` of `class Enrollment` is the
state "Enrollment:nik", so a state is typed once, here, and every flow, the router and the
reminders' query refer to it through its class (`Goto(Deduction.confirm)`). The strings are
stored in `conversations.state`: renaming a class or an attribute is a data migration.

They sit in one module, not beside each flow's table, because flows hand over to each
other in both directions (the summary opens Deduction:confirm, whose /kembali returns to
Enrollment:summary): one place to import them from keeps the flow modules free of cycles.
"""

from __future__ import annotations


class State:
    """One state of the class it is declared in: "<class name>:<attribute>"."""

    __slots__ = ("_name",)

    def __init__(self) -> None:
        self._name = ""

    def __set_name__(self, owner: type, attribute: str) -> None:
        self._name = f"{owner.__name__}:{attribute}"

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return self._name


def prefix(group: type) -> str:
    """The part before the colon of every state of `group`: its flow's name ("Enrollment")."""
    return group.__name__


class Identify:
    """Proving to be an ASN on the roster (flows/identify.py)."""

    nip = State()
    phone = State()


class Menu:
    """The main menu (flows/menu.py)."""

    main = State()
    # The same menu while /mulai holds a form aside: a state of its own, so the reminders'
    # query (storage/reminders.py) still finds an enrolment left half-way.
    paused = State()


class Enrollment:
    """Enrolling a worker (flows/enrollment.py)."""

    relationship = State()
    nik = State()
    name = State()
    birth_date = State()
    birth_date_check = State()
    occupation = State()
    phone = State()
    kecamatan = State()
    kecamatan_confirm = State()
    kecamatan_other = State()
    desa = State()
    consent = State()
    summary = State()
    edit = State()


class Deduction:
    """Agreeing to the payroll deduction (flows/deduction.py)."""

    confirm = State()


class Workers:
    """The ASN's workers, and stopping one (flows/workers.py)."""

    list = State()
    stop_reason = State()
    stop_confirm = State()


class Coordinator:
    """The OPD coordinator's verifications and progress (flows/coordinator.py)."""

    menu = State()
    progress = State()
    pending = State()
    review = State()
    confirm_approve = State()
    reject_reason = State()
    confirm_reject = State()


class Broadcast:
    """The camat's kecamatan and broadcasts (flows/broadcast.py)."""

    audience = State()
    kecamatan = State()
    content = State()
    preview = State()
    progress = State()
