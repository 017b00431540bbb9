"""Mermaid diagrams of the flows, generated from their transition tables.

`python -m flows.diagram > docs/flows.md` rewrites the document; a test fails when the
document no longer matches the tables, so the picture never drifts from the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
    lines = ["stateDiagram-v2", f"    [*] --> {_node(flow.initial)}"]
    lines += [f'    state "{state}" as {_node(state)}' for state in flow.steps]
    for row in flow.transitions:
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


def main() -> None:
    print(document(build_router().flows), end="")


if __name__ == "__main__":
    main()
