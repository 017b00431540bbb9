"""Routing one update: global commands first, then the current state's step.

/mulai, /bantuan and /batal work in every state. Anything unexpected gets a kind explanation
and leaves the state as it was; a conversation left half-way resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from flows.conversation import Context, Conversation, Flow, Goto, Invalid
from flows.events import ChatType, Kind, Reply
from flows.identify import S as Identify
from flows.menu import S as Menu
from flows.workers import S as Workers

START = frozenset({"mulai", "start", "menu"})
HELP = frozenset({"bantuan", "help"})
CANCEL = frozenset({"batal", "cancel"})
BACK = frozenset({"kembali", "back"})
# Places to rest, not half-done tasks: there /mulai and /batal simply go home.
RESTING = frozenset({Identify.NIP, Menu.MAIN, Workers.LIST})
PAGE_PREFIX = "page:"
MAX_PAGE = 100


def _page_turn(kind: Kind, payload: str) -> int | None:
    """The page a "page:N" choice asks for, None for any other input."""
    if kind is not Kind.BUTTON or not payload.startswith(PAGE_PREFIX):
        return None
    number = payload[len(PAGE_PREFIX):]
    return int(number) if number.isdigit() and int(number) <= MAX_PAGE else None


class Router:
    """Holds the flows, each built once per process, and decides who handles an update."""

    def __init__(self, flows: Sequence[Flow]) -> None:
        self._flows = list(flows)

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
            if incoming.kind is Kind.COMMAND:
                conversation.replies.append(Reply("common/private_only"))
            return
        context.asn = await context.roster.identity(incoming.channel.value, incoming.user_id)
        flow = self.flow_for(conversation.state)
        if flow is None or (context.asn is None) != (flow.name == "Identify"):
            # First contact, a state this version no longer knows, or an identity that
            # changed underneath (linked elsewhere, or removed): start from the top.
            conversation.data.clear()
            if context.asn is None:
                conversation.replies.append(Reply("identify/welcome"))
            await self.enter(conversation, context, None)
            return
        command = incoming.command
        if command is not None:
            await self._command(command, flow, conversation, context)
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
        if isinstance(outcome, Goto):
            await self.enter(conversation, context, outcome.state)
            return
        flow.fire(conversation, outcome)
        conversation.replies.append(await flow.prompt(conversation, context))

    async def enter(self, conversation: Conversation, context: Context, state: str | None
                    ) -> None:
        """Go to `state` (None: the main menu, or identification if not yet proven)."""
        if state is None:
            state = Menu.MAIN if context.asn is not None else Identify.NIP
        flow = self.flow_for(state)
        assert flow is not None, state
        conversation.state = state
        conversation.replies.append(await flow.prompt(conversation, context))

    async def _command(
        self, command: str, flow: Flow, conversation: Conversation, context: Context
    ) -> None:
        state = conversation.state
        assert state is not None
        in_progress = state not in RESTING
        if command in START:
            if in_progress:
                conversation.replies.append(Reply("common/resume_hint"))
                conversation.replies.append(await flow.prompt(conversation, context))
            else:
                await self.enter(conversation, context, None)
        elif command in HELP:
            conversation.replies.append(Reply(flow.help_template(state)))
            conversation.replies.append(await flow.prompt(conversation, context))
        elif command in CANCEL:
            if in_progress:
                conversation.data.clear()
                conversation.replies.append(Reply(flow.cancel_template(state)))
            else:
                conversation.replies.append(Reply("common/nothing_to_cancel"))
            await self.enter(conversation, context, None)
        elif command in BACK:
            if flow.can(conversation, "back"):
                flow.fire(conversation, "back")
            else:
                conversation.replies.append(Reply("common/no_back"))
            conversation.replies.append(await flow.prompt(conversation, context))
        else:
            await self._explain(Invalid("errors/unknown_command"), flow, conversation, context)

    async def _explain(
        self, invalid: Invalid, flow: Flow, conversation: Conversation, context: Context
    ) -> None:
        """One message: what went wrong, with the step's buttons again to answer with."""
        prompt = await flow.prompt(conversation, context)
        conversation.replies.append(
            Reply(invalid.template, invalid.context, buttons=prompt.buttons, inline=prompt.inline)
        )
