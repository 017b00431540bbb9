"""docs/flows.md is generated from the transition tables and must be current."""

from pathlib import Path

from flows.diagram import document, lifecycle_document
from flows.router import build_router

DOC = Path(__file__).resolve().parent.parent / "docs" / "flows.md"


def test_flow_document_is_current():
    assert DOC.read_text(encoding="utf-8") == document(build_router().flows), (
        "docs/flows.md is stale: run `python -m flows.diagram > docs/flows.md`"
    )


def test_every_state_is_namespaced_and_every_transition_lands_on_a_state():
    for flow in build_router().flows:
        for state in flow.steps:
            assert state.startswith(f"{flow.name}:"), state
        for row in flow.transitions:
            assert row["dest"] in flow.steps, row


LIFECYCLE_DOC = DOC.with_name("lifecycle.md")


def test_lifecycle_document_is_current():
    assert LIFECYCLE_DOC.read_text(encoding="utf-8") == lifecycle_document(), (
        "docs/lifecycle.md is stale: run `python -m flows.diagram lifecycle > docs/lifecycle.md`"
    )
