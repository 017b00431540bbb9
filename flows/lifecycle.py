"""The cover's lifecycle: which status may follow which, and what moves it (DESIGN §7).

One table, read like the diagram in docs/lifecycle.md (generated from it by
`python -m flows.diagram lifecycle > docs/lifecycle.md`). It is a `transitions` machine like
the conversations', built once per process and asked, never driven: storage applies a move
to a row in one statement guarded by the source status (storage/lifecycle.py), so a move the
table does not allow is refused before anything is written, and a row that changed meanwhile
is refused by the guard instead of being half-applied.

Who moves what:
- submit: the ASN agrees to the deduction (flows/deduction.py);
- verify / reject: the OPD's coordinator; BPJS may also reject a verified enrolment;
- register: BPJS gave a KPJ number (`bpjs import`), or a takeover kept the old one;
- pay: the salary treasurer's file shows a first month deducted (`payroll import`);
- lapse: more than 3 months unpaid in a row; the NIK is free again;
- reinstate: a correction shows the arrears paid while nobody else holds the NIK;
- end: the arrears window closed (3 months after the lapse) or the worker was enrolled anew;
- stop: the ASN stops it, the worker withdraws consent, or the ASN left the roster.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions import Machine

from flows.enrollment_status import EnrollmentStatus as S


class Move(StrEnum):
    """A trigger of the lifecycle table; stored in `enrollment_moves.move`."""

    SUBMIT = "submit"
    VERIFY = "verify"
    REJECT = "reject"
    REGISTER = "register"
    PAY = "pay"
    LAPSE = "lapse"
    REINSTATE = "reinstate"
    END = "end"
    STOP = "stop"


INITIAL = S.DRAFT
TRANSITIONS: tuple[dict[str, Any], ...] = (
    {"trigger": Move.SUBMIT, "source": [S.DRAFT], "dest": S.SUBMITTED},
    {"trigger": Move.VERIFY, "source": [S.SUBMITTED], "dest": S.VERIFIED},
    {"trigger": Move.REJECT, "source": [S.SUBMITTED, S.VERIFIED], "dest": S.REJECTED},
    {"trigger": Move.REGISTER, "source": [S.VERIFIED], "dest": S.REGISTERED},
    {"trigger": Move.PAY, "source": [S.REGISTERED], "dest": S.ACTIVE},
    {"trigger": Move.LAPSE, "source": [S.REGISTERED, S.ACTIVE], "dest": S.LAPSED},
    {"trigger": Move.REINSTATE, "source": [S.LAPSED], "dest": S.ACTIVE},
    {"trigger": Move.END, "source": [S.LAPSED], "dest": S.ENDED},
    {"trigger": Move.STOP,
     "source": [S.DRAFT, S.SUBMITTED, S.VERIFIED, S.REGISTERED, S.ACTIVE], "dest": S.STOPPED},
)
# Statuses no move leaves.
FINAL = (S.REJECTED, S.STOPPED, S.ENDED)


class MoveRefused(Exception):
    """The table has no such move from this status (or the row changed meanwhile)."""

    def __init__(self, move: str, status: str) -> None:
        super().__init__(f"move {move!r} is not allowed from status {status!r}")
        self.move = move
        self.status = status


@dataclass(frozen=True, slots=True)
class Actor:
    """Who or what moved an enrolment: an ASN (the ASN, a coordinator) or a named process
    (bpjs_import, payroll_import, roster_import, scheduler). Stored as `kind:id` or `kind`."""

    kind: str
    asn_id: int | None = None

    def __str__(self) -> str:
        return self.kind if self.asn_id is None else f"{self.kind}:{self.asn_id}"




def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """The row with plain strings: `transitions` names Enum states by their member names."""
    return {"trigger": str(row["trigger"]), "source": [str(s) for s in row["source"]],
            "dest": str(row["dest"])}


# Asked, never driven: no model is attached, so one machine serves every caller.
_MACHINE = Machine(model=None, states=[str(status) for status in S],
                   transitions=[_plain(row) for row in TRANSITIONS], initial=str(INITIAL),
                   auto_transitions=False)


def next_status(status: str, move: str) -> S:
    """Where `move` takes an enrolment in `status`; MoveRefused when the table has no row.
    Plain strings go to the machine: `transitions` would name an Enum by its member name."""
    found = _MACHINE.get_transitions(trigger=str(move), source=str(status))
    if not found:
        raise MoveRefused(move, status)
    return S(found[0].dest)


def sources(move: str) -> tuple[S, ...]:
    """Every status `move` may leave: the guard of a bulk move."""
    return tuple(S(t.source) for t in _MACHINE.get_transitions(trigger=str(move)))


def moves_from(status: str) -> tuple[Move, ...]:
    """The moves the table allows from `status`, in the table's order."""
    allowed = set(_MACHINE.get_triggers(str(status)))
    return tuple(move for move in Move if move in allowed)
