"""Routing one update: global commands first, then role commands, then the current state.

/mulai, /bantuan, /batal and /kembali work in every state. Role commands (/koordinator,
/verifikasi, /progres, /siaran) are declared by the flows that answer them, each with the
role it needs; the router lets only holders in and checks the role again on every update of
a role's conversation, so a revoked role stops working at once. In a group chat only the
group commands (/tautkan) are answered, for the role holder who typed them; anything else
there gets a pointer to the private chat. Anything unexpected gets a kind explanation and
leaves the state as it was; a conversation left half-way resumes where it stopped.

Leaving a task never loses answers unasked: /batal asks first when more than one answer
would go (a second /batal, "Ya, batalkan" or "ya" confirms; anything else carries on), and
/mulai goes to the main menu, setting a pausable form aside for the menu to resume.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from flows.answers import number_of
from flows.broadcast import BroadcastFlow
from flows.conversation import (
    CancelRequested,
    Context,
    Conversation,
    Flow,
    Goto,
    GroupCommand,
    Invalid,
    first_unit,
)
from flows.coordinator import CoordinatorFlow
from flows.deduction import DeductionFlow
from flows.enrollment import EnrollmentFlow
from flows.events import Button, ChatType, Kind, Reply
from flows.identify import IdentifyFlow
from flows.menu import MenuFlow
from flows.paused import PAUSED, discard, pause, start_afresh
from flows.roles import Role
from flows.states import Identify, Menu, prefix
from flows.workers import WorkersFlow
from storage.interfaces import RoleView

START = frozenset({"mulai", "start", "menu"})
HELP = frozenset({"bantuan", "help"})
CANCEL = frozenset({"batal", "cancel"})
BACK = frozenset({"kembali", "back"})
PAGE_PREFIX = "page:"
MAX_PAGE = 100
# /batal's question: set by the update that asked, gone with the next update whatever it is.
CANCEL_ASKED = "cancel_asked"
CANCEL_YES, CANCEL_NO = "cancel:yes", "cancel:no"
CANCEL_WORDS = frozenset({"ya", "iya", "ya batalkan", "batalkan", "batal", "hapus"})
CARRY_ON_WORDS = frozenset({"tidak", "jangan", "lanjut", "lanjutkan", "lanjutkan mengisi"})
_NOT_WORDS = re.compile(r"[^\w\s]")


def _page_turn(kind: Kind, payload: str) -> int | None:
    """The page a "page:N" choice asks for, None for any other input."""
    if kind is not Kind.BUTTON or not payload.startswith(PAGE_PREFIX):
        return None
    page = number_of(payload[len(PAGE_PREFIX):])
    return page if page is not None and page <= MAX_PAGE else None


def _answer_to_cancel(kind: Kind, text: str, payload: str) -> bool | None:
    """The answer to /batal's question: True to cancel, False to carry on, None when the
    update is something else (an answer to the step itself)."""
    if kind is Kind.BUTTON:
        return {CANCEL_YES: True, CANCEL_NO: False}.get(payload)
    if kind is not Kind.TEXT:
        return None
    words = " ".join(_NOT_WORDS.sub(" ", text).split()).lower()
    if words in CANCEL_WORDS:
        return True
    return False if words in CARRY_ON_WORDS else None


@dataclass(frozen=True, slots=True)
class Command:
    """A typed command (private chat) that opens `state` for a holder of `role`."""

    state: str
    role: Role


class Router:
    """Holds the flows, each built once per process, and decides who handles an update."""

    def __init__(self, flows: Sequence[Flow]) -> None:
        self._flows = list(flows)
        # A word may open one state per role (/progres: the OPD's for a coordinator, the
        # kecamatan's for a camat); the first role the sender holds, in flow order, wins.
        self._commands: dict[str, list[Command]] = {}
        self._group_commands: dict[str, GroupCommand] = {}
        for flow in self._flows:
            for word, state in flow.commands.items():
                assert flow.role is not None, f"/{word} opens {state} for no role"
                declared = self._commands.setdefault(word, [])
                assert flow.role not in {other.role for other in declared}, (
                    f"/{word} declared twice for {flow.role}")
                assert flow.owns(state), (flow.name, state)
                declared.append(Command(state, flow.role))
            for word, group_command in flow.group_commands.items():
                assert word not in self._group_commands, f"/{word} declared twice"
                self._group_commands[word] = group_command

    @property
    def flows(self) -> list[Flow]:
        return list(self._flows)

    def flow_for(self, state: str | None) -> Flow | None:
        for flow in self._flows:
            if flow.owns(state):
                return flow
        return None

    async def handle(self, conversation: Conversation, context: Context) -> None:
        """Decide the replies and the next state for one update; storage commits them."""
        incoming = context.incoming
        if incoming.chat_type is not ChatType.PRIVATE:
            await self._group(conversation, context)
            return
        context.asn = await context.roster.identity(incoming.channel.value, incoming.user_id)
        flow = self.flow_for(conversation.state)
        if flow is None or (context.asn is None) != (flow.name == prefix(Identify)):
            # First contact, a state this version no longer knows, or an identity that
            # changed underneath (linked elsewhere, or removed): start from the top.
            if context.asn is None:
                conversation.replies.append(Reply("identify/welcome"))
            await self.enter(conversation, context, None)
            return
        if not await self._may_stay(flow, conversation, context):
            # The role this conversation needs was revoked (or moved to another unit).
            conversation.replies.append(Reply("roles/not_for_you"))
            await self.enter(conversation, context, None)
            return
        asked = bool(conversation.data.pop(CANCEL_ASKED, False))
        command = incoming.command
        if command is not None:
            await self._command(command, flow, conversation, context, asked)
            return
        answer = _answer_to_cancel(incoming.kind, incoming.text, incoming.payload)
        if asked and answer is not None:
            if answer:
                await self._cancel(flow, conversation, context, confirmed=True)
            else:
                conversation.replies.append(await flow.prompt(conversation, context))
            return
        page = _page_turn(incoming.kind, incoming.payload)
        if page is not None:
            # A channel with short lists (WhatsApp) shows long choices a page at a time:
            # the same question again, on the page asked for; the state does not move.
            prompt = await flow.prompt(conversation, context)
            conversation.replies.append(replace(prompt, page=page))
            return
        try:
            outcome = await flow.accept(conversation, context)
        except Invalid as invalid:
            await self._explain(invalid, flow, conversation, context)
            return
        except CancelRequested:
            await self._cancel(flow, conversation, context, confirmed=False)
            return
        if isinstance(outcome, Goto):
            await self.enter(conversation, context, outcome.state)
            return
        flow.fire(conversation, outcome)
        conversation.replies.append(await flow.prompt(conversation, context))

    async def enter(self, conversation: Conversation, context: Context, state: str | None
                    ) -> None:
        """Go to `state` (None: home, the main menu or identification if not yet proven;
        home holds nothing but a paused form, so what a role's conversation kept there is
        dropped, and before identification nothing at all)."""
        if state is None:
            if context.asn is None:
                conversation.data.clear()
                state = Identify.nip
            else:
                start_afresh(conversation.data)
                state = Menu.paused if PAUSED in conversation.data else Menu.main
        flow = self.flow_for(state)
        assert flow is not None, state
        conversation.state = state
        conversation.replies.append(await flow.prompt(conversation, context))

    async def _may_stay(self, flow: Flow, conversation: Conversation, context: Context
                        ) -> bool:
        """A role's conversation goes on only while its holder still holds the role for the
        unit the conversation is about."""
        if flow.role is None:
            return True
        asn = context.asn
        unit_id = conversation.data.get("unit_id")
        return (asn is not None and isinstance(unit_id, int)
                and await context.roles.holds(asn.id, flow.role, unit_id))


    async def _command(
        self, command: str, flow: Flow, conversation: Conversation, context: Context,
        asked: bool,
    ) -> None:
        state = conversation.state
        assert state is not None
        # A place to rest (Step(resting=True)), not a half-done task: there /mulai and
        # /batal simply go home.
        in_progress = not flow.resting(state)
        if command in START:
            await self._start(in_progress, flow, conversation, context)
        elif command in HELP:
            conversation.replies.append(Reply(flow.help_template(state)))
            conversation.replies.append(await flow.prompt(conversation, context))
        elif command in CANCEL:
            await self._cancel(flow, conversation, context, confirmed=asked)
        elif command in BACK:
            await self._back(flow, conversation, context)
        elif command in self._commands:
            await self._role_command(command, in_progress, flow, conversation, context)
        elif command in self._group_commands and context.asn is not None:
            # Typed here instead of in the group: say where it belongs, to holders only.
            held = await self._holding(context, self._group_commands[command])
            template = "roles/in_group_only" if held else "roles/not_for_you"
            await self._explain(Invalid(template, command=command), flow, conversation,
                                context)
        else:
            await self._explain(Invalid("errors/unknown_command"), flow, conversation, context)

    async def _start(self, in_progress: bool, flow: Flow, conversation: Conversation,
                     context: Context) -> None:
        """/mulai: the main menu, as Bantuan says. A pausable form is set aside for the menu
        to resume; another task ends as /batal ends it, asking first if answers would go."""
        asn = context.asn
        if in_progress and flow.pausable and asn is not None:
            if flow.unsaved_answers(conversation):
                pause(conversation, asn.id)
                conversation.replies.append(Reply("common/paused"))
            await self.enter(conversation, context, None)
        elif in_progress:
            await self._cancel(flow, conversation, context, confirmed=False)
        else:
            await self.enter(conversation, context, None)

    async def _cancel(self, flow: Flow, conversation: Conversation, context: Context,
                      confirmed: bool) -> None:
        """/batal (or a step's "Batal"): home, after asking when more than one answer would
        be lost; at home it drops a paused form."""
        lost = flow.unsaved_answers(conversation)
        if lost > 1 and not confirmed:
            conversation.data[CANCEL_ASKED] = True
            conversation.replies.append(Reply(
                "common/confirm_cancel", {"answers": lost},
                buttons=((Button("cancel_yes", CANCEL_YES),), (Button("cancel_no", CANCEL_NO),)),
            ))
            return
        state = conversation.state
        assert state is not None
        if state == Menu.paused and discard(conversation.data):
            conversation.replies.append(Reply("common/cancelled"))
        elif flow.resting(state):
            conversation.replies.append(Reply("common/nothing_to_cancel"))
        else:
            conversation.replies.append(flow.cancelled(conversation))
        await self.enter(conversation, context, None)

    async def _back(self, flow: Flow, conversation: Conversation, context: Context) -> None:
        """/kembali: the step before, as the flow says; at a first step a kind word."""
        outcome = await flow.back(conversation, context)
        if isinstance(outcome, Goto):
            await self.enter(conversation, context, outcome.state)
            return
        if outcome is None:
            conversation.replies.append(Reply("common/no_back"))
        else:
            flow.fire(conversation, outcome)
        conversation.replies.append(await flow.prompt(conversation, context))

    async def _role_command(
        self, word: str, in_progress: bool, flow: Flow, conversation: Conversation,
        context: Context,
    ) -> None:
        """Open a role's conversation for its holder; anyone else is told, kindly, that the
        command is not for them, and stays where they were."""
        asn = context.asn
        if asn is None:  # still identifying: roles come after the proof
            await self._explain(Invalid("errors/unknown_command"), flow, conversation, context)
            return
        for command in self._commands[word]:
            unit = await first_unit(context, command.role)
            if unit is not None:
                break
        else:
            await self._explain(Invalid("roles/not_for_you"), flow, conversation, context)
            return
        if in_progress:
            await self._explain(Invalid("roles/finish_first", command=word), flow,
                                conversation, context)
            return
        start_afresh(conversation.data)
        conversation.data.update(unit)
        await self.enter(conversation, context, command.state)

    async def _group(self, conversation: Conversation, context: Context) -> None:
        """Group chats hold no conversation: a group command is done at once for the role
        holder who typed it; any other command points to the private chat."""
        incoming = context.incoming
        word = incoming.command
        if word is None:
            return
        command = self._group_commands.get(word)
        if command is None:
            conversation.replies.append(Reply("common/private_only"))
            return
        context.asn = await context.roster.identity(incoming.channel.value, incoming.user_id)
        if context.asn is None:
            conversation.replies.append(Reply("roles/group_unknown_user"))
            return
        held = await self._holding(context, command)
        if not held:
            conversation.replies.append(Reply("roles/not_for_you"))
            return
        conversation.replies.append(await command.action(context, held))

    @staticmethod
    async def _holding(context: Context, command: GroupCommand) -> list[RoleView]:
        """The roles (with a unit) the identified sender holds that may use `command`."""
        asn = context.asn
        assert asn is not None
        return [role for role in await context.roles.roles_of(asn.id)
                if role.role in command.roles and role.unit_id is not None]

    async def _explain(
        self, invalid: Invalid, flow: Flow, conversation: Conversation, context: Context
    ) -> None:
        """One message: what went wrong, with the step's buttons again to answer with."""
        prompt = await flow.prompt(conversation, context)
        conversation.replies.append(
            Reply(invalid.template, invalid.context, buttons=prompt.buttons, inline=prompt.inline)
        )


def build_router() -> Router:
    """Every flow's machine, built once for the whole process."""
    return Router([IdentifyFlow(), MenuFlow(), EnrollmentFlow(), DeductionFlow(), WorkersFlow(),
                   CoordinatorFlow(), BroadcastFlow()])
