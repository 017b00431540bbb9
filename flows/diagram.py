"""Mermaid diagrams of the flows and of the cover's lifecycle, generated from their tables.

`python -m flows.diagram > docs/flows.md` and `python -m flows.diagram lifecycle >
docs/lifecycle.md` rewrite the documents; a test fails when a document no longer matches
its table, so the picture never drifts from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

from flows import lifecycle
from flows.conversation import Flow
from flows.router import build_router

HEADER = """# Conversation flows

Generated from the transition tables in `flows/` by `python -m flows.diagram > docs/flows.md`;
`tests/test_flow_diagrams.py` fails when this file is out of date. Each state also accepts
/mulai, /bantuan and /batal (see `flows/router.py`); steps that hand over to another flow
(saving the summary opens `Deduction:confirm`, finishing returns to `Menu:main`) do so in
code, not in these tables. The Coordinator and Broadcast flows open from the menu's role
buttons or from role commands (/koordinator, /verifikasi, /progres, /siaran), for holders of
the role only; the router checks the role again on every update of those flows.
"""


def _node(state: str) -> str:
    return state.replace(":", "_")


def _condition(row: dict[str, Any]) -> str:
    condition = row.get("conditions")
    if condition is None:
        return ""
    name = condition if isinstance(condition, str) else condition.__name__
    return f" [{name}]"


def mermaid(flow: Flow) -> str:
    return _table(flow.initial, flow.steps, flow.transitions)


def _table(initial: str, states: Iterable[str], transitions: Sequence[dict[str, Any]]) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {_node(initial)}"]
    lines += [f'    state "{state}" as {_node(state)}' for state in states]
    for row in transitions:
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        for source in sources:
            lines.append(
                f"    {_node(source)} --> {_node(row['dest'])}: {row['trigger']}{_condition(row)}"
            )
    return "\n".join(lines)


def document(flows: Iterable[Flow]) -> str:
    parts = [HEADER]
    for flow in flows:
        parts.append(f"## {flow.name}\n\n```mermaid\n{mermaid(flow)}\n```\n")
    return "\n".join(parts)


LIFECYCLE_HEADER = """# The cover's lifecycle

Generated from the table in `flows/lifecycle.py` by `python -m flows.diagram lifecycle >
docs/lifecycle.md`; `tests/test_flow_diagrams.py` fails when this file is out of date. Every
move is stored in `enrollment_moves` with who or what made it and when; a move the table does
not have is refused before anything is written. What each move means, and the rules for paid
months, lapse, departures and takeovers, are in docs/coverage.md.
"""


def lifecycle_document() -> str:
    table = _table(str(lifecycle.INITIAL), [str(status) for status in lifecycle.S],
                   lifecycle.TRANSITIONS)
    final = "\n".join(f"    {_node(str(status))} --> [*]" for status in lifecycle.FINAL)
    return f"{LIFECYCLE_HEADER}\n```mermaid\n{table}\n{final}\n```\n"


def main(argv: Sequence[str] = ()) -> None:
    if list(argv) == ["lifecycle"]:
        print(lifecycle_document(), end="")
    else:
        print(document(build_router().flows), end="")


if __name__ == "__main__":
    main(sys.argv[1:])
