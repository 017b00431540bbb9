"""The pieces every flow shares: the conversation model, its context, and how a step answers.

A flow is a `transitions` machine built once per process plus one `Step` per state: `prompt`
builds the question shown on entering the state, `accept` reads the user's answer and either
names a trigger (the machine picks the next state from its table), hands over to another flow
(`Goto`), or raises `Invalid` with the template that explains what was expected. A state
changes only through a trigger that finished, so a failed step leaves the state as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from transitions import Machine

from flows.button_words import MAX_TYPED, AmbiguousWords, named_choice
from flows.events import Incoming, Kind, Reply
from flows.premium import PremiumRate
from flows.roles import Role
from storage.interfaces import (
    AsnView,
    AuditRepository,
    BroadcastRepository,
    EnrollmentRepository,
    InvitationRepository,
    ProgressRepository,
    RoleRepository,
    RoleView,
    RosterRepository,
    VerificationRepository,
)


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """The settings flows need, copied once from the application settings."""

    premium_schedule: tuple[PremiumRate, ...]
    min_age: int
    max_age: int
    login_max_failures: int
    login_window: timedelta
    deduction_offset_months: int
    region_name: str
    coverage_target_percent: float
    report_day: int
    report_time: time


@dataclass
class Conversation:
    """The model a machine drives for one update: state, JSON data, and replies to send.

    No slots: `transitions` attaches its trigger methods to the model while it is added."""

    state: str | None
    data: dict[str, Any]
    replies: list[Reply] = field(default_factory=list)


@dataclass(slots=True)
class Context:
    """What a step may use while handling one update.

    `render` turns a Reply into the outbox body one channel shows, for a message queued in
    bulk (a broadcast renders once per channel, not once per recipient).
    """

    incoming: Incoming
    now: datetime
    today: date
    roster: RosterRepository
    enrollments: EnrollmentRepository
    audit: AuditRepository
    roles: RoleRepository
    verifications: VerificationRepository
    progress: ProgressRepository
    broadcasts: BroadcastRepository
    invitations: InvitationRepository
    config: FlowConfig
    wording: Callable[[str, Mapping[str, Any]], str]
    render: Callable[[Reply, str], dict[str, Any]]
    label: Callable[[str, Mapping[str, Any]], str]  # a button's words, as every channel shows them
    asn: AsnView | None = None


class Invalid(Exception):
    """The answer cannot be taken; `template` explains what is expected."""

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.context = context


class CancelRequested(Exception):
    """A step's own "Batal" (its button or the word): the router treats it as /batal, so it
    asks first when answers would be lost."""


@dataclass(frozen=True, slots=True)
class Goto:
    """Leave this flow for a state of another flow (or None: home, which keeps nothing but a
    form /mulai set aside)."""

    state: str | None


Prompt = Callable[[Conversation, Context], Awaitable[Reply]]
Accept = Callable[[Conversation, Context], Awaitable["str | Goto"]]
# A command in a group chat: done at once (no conversation), by someone holding a role.
GroupAction = Callable[[Context, Sequence[RoleView]], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Step:
    prompt: Prompt
    accept: Accept
    help: str = "help/general"
    cancelled: str = "common/cancelled"  # what /batal says here
    # A place to rest (a list, a report), not a half-done task: /mulai and /batal go home.
    resting: bool = False


@dataclass(frozen=True, slots=True)
class GroupCommand:
    """A typed command in a group chat, for holders of one of `roles`."""

    action: GroupAction
    roles: frozenset[Role]


def move(trigger: str, source: str | Sequence[str], dest: str, when: str | None = None
         ) -> dict[str, Any]:
    """One row of a flow's table, as `transitions` takes it: `trigger` moves from `source`
    (a state, or any of several) to `dest`, if the condition named `when` holds."""
    row: dict[str, Any] = {"trigger": trigger, "dest": dest,
                           "source": source if isinstance(source, str) else list(source)}
    if when is not None:
        row["conditions"] = when
    return row


class Flow:
    """A conversation: a machine built once, steps per state, and an entry state.

    A flow for a role names it in `role`: the router lets only its holders in, for the
    unit kept in the conversation's data ("unit_id"), and checks again on every update,
    so a revoked role stops working at once. `commands` are the typed commands that open
    one of its states (private chat), for holders of that role only; `group_commands` the
    ones it answers in a group chat, each with the roles that may use it.
    """

    name: str
    initial: str
    role: ClassVar[Role | None] = None
    # A form whose answers /mulai keeps aside (flows/paused.py) instead of dropping them.
    pausable: ClassVar[bool] = False
    commands: ClassVar[Mapping[str, str]] = {}
    group_commands: ClassVar[Mapping[str, GroupCommand]] = {}

    def __init__(self, steps: Mapping[str, Step], transitions: Sequence[dict[str, Any]]) -> None:
        self.steps = dict(steps)
        self.transitions = list(transitions)
        self.machine = Machine(
            model=None,
            states=list(self.steps),
            transitions=self.transitions,
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
        )

    def owns(self, state: str | None) -> bool:
        return state in self.steps

    async def prompt(self, conversation: Conversation, context: Context) -> Reply:
        return await self.steps[self._state(conversation)].prompt(conversation, context)

    async def accept(self, conversation: Conversation, context: Context) -> str | Goto:
        """The step's answer to the update; typed words naming one of the step's buttons
        are taken as that button (see `press_named`)."""
        step = self.steps[self._state(conversation)]
        if context.incoming.kind is Kind.TEXT:
            await press_named(step, conversation, context)
        return await step.accept(conversation, context)

    def fire(self, conversation: Conversation, trigger: str) -> None:
        """Move along the table; the machine evaluates conditions such as "editing".

        The conversation is handed to the machine's event for this one trigger instead of
        `add_model`/`remove_model`: registering a model binds a method per trigger and per
        state to it (about 65 µs for the enrolment machine), driving the event with the model
        costs about 15 µs and moves it the same way.
        """
        event = self.machine.events.get(trigger)
        if event is None or not event.trigger(conversation):
            raise RuntimeError(f"{trigger} from {conversation.state} matched no transition")

    def can(self, conversation: Conversation, trigger: str) -> bool:
        """Whether the table has `trigger` from the conversation's state at all."""
        return trigger in self.machine.get_triggers(self._state(conversation))

    def help_template(self, state: str) -> str:
        return self.steps[state].help

    def cancelled(self, conversation: Conversation) -> Reply:
        """What /batal says here (the step's `cancelled` template)."""
        return Reply(self.steps[self._state(conversation)].cancelled)

    def unsaved_answers(self, conversation: Conversation) -> int:
        """How many answers leaving now would throw away: the router asks before /batal
        throws away more than one, and /mulai sets a `pausable` flow's answers aside."""
        return 0

    async def back(self, conversation: Conversation, context: Context) -> str | Goto | None:
        """Where /kembali leads: a trigger of the table, another flow's state, or None at a
        first step (the router then says so)."""
        return "back" if self.can(conversation, "back") else None

    def resting(self, state: str) -> bool:
        return self.steps[state].resting

    @staticmethod
    def _state(conversation: Conversation) -> str:
        if conversation.state is None:
            raise RuntimeError("a flow step needs a state")
        return conversation.state


async def press_named(step: Step, conversation: Conversation, context: Context) -> None:
    """Typed words that name one of the buttons the step shows count as pressing it, on
    every channel and in every step, by one rule (flows/button_words.py): the update becomes
    that button's press. Words that fit two buttons are explained, not guessed.

    Only text with a letter is compared: every label has one, and the typed numbers, NIK
    and NIP that make up most typed answers then cost no second prompt."""
    incoming = context.incoming
    if len(incoming.text) > MAX_TYPED or not any(ch.isalpha() for ch in incoming.text):
        return
    prompt = await step.prompt(conversation, context)
    # Only the labels: rendering the whole prompt's text again cost a template per answer.
    choices = [(context.label(button.label, button.context), button.payload)
               for row in prompt.buttons for button in row
               if not button.request_contact]  # a contact card cannot be typed
    if not choices:
        return
    try:
        payload = named_choice(incoming.text, choices)
    except AmbiguousWords as ambiguous:
        raise Invalid("errors/ambiguous_button", ambiguous_labels=list(ambiguous.labels)) from None
    if payload is not None:
        context.incoming = replace(incoming, kind=Kind.BUTTON, payload=payload)


async def first_unit(context: Context, role: Role) -> dict[str, Any] | None:
    """The unit a typed role command opens ({"unit_id", "unit_name"}): the holder's first by
    name (the menu offers each one when someone holds a role for several), or None."""
    asn = context.asn
    if asn is None:
        return None
    for held in await context.roles.roles_of(asn.id):
        if held.role == role and held.unit_id is not None:
            return {"unit_id": held.unit_id, "unit_name": held.unit_name}
    return None
