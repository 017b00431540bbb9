"""How a step reads the user's answer: a number, typed text, a pressed button, one of a few
choices (pressed or named in words), a reason (pressed or in one's own words).

Each raises `Invalid` with the template that explains what was expected, so a step says
what it wants and the router answers anything else kindly, the state unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from flows.conversation import Context, Invalid
from flows.events import Button, Kind

# A number on a button or typed as a choice: ASCII digits that fit PostgreSQL's INTEGER. Not
# str.isdigit: "²" passes it and int() refuses it, and int() refuses 5,000 digits too.
_NUMBER = re.compile(r"[0-9]{1,9}")


def number_of(text: str) -> int | None:
    """The whole number `text` is (an id or page on a button, a choice's number), or None for
    anything else, so a forged or garbled one is a stale button rather than a crash."""
    return int(text) if _NUMBER.fullmatch(text) else None


def printable(text: str) -> str:
    """The text without control characters other than line breaks and tabs: NUL, BEL, ESC
    and the like are invisible to a reader, and PostgreSQL refuses a NUL in text and JSON,
    so typed words stored as they are (a reason, a broadcast) must not carry them."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def text_of(context: Context, max_length: int) -> str:
    """The typed text, or Invalid with the right explanation for anything else."""
    incoming = context.incoming
    if incoming.kind is Kind.BUTTON:
        raise Invalid("errors/stale_button")
    if incoming.kind is Kind.CONTACT:
        raise Invalid("errors/unexpected_contact")
    if incoming.kind is not Kind.TEXT:
        raise Invalid("errors/unsupported")
    text = " ".join(printable(incoming.text).split())
    if not text:
        raise Invalid("errors/empty")
    if len(text) > max_length:
        raise Invalid("errors/too_long", limit=max_length)
    return text


def expect_button(context: Context) -> None:
    """Raise the right explanation unless the user pressed a button."""
    kind = context.incoming.kind
    if kind is Kind.TEXT:
        raise Invalid("errors/choose_button")
    if kind is Kind.CONTACT:
        raise Invalid("errors/unexpected_contact")
    if kind is not Kind.BUTTON:
        raise Invalid("errors/unsupported")


def choice_of(context: Context, prefix: str, choices: Sequence[str], typed: Mapping[str, str]
              ) -> str:
    """A pressed button's value, or a typed answer that names one of the choices.

    `typed` maps lower-case words (a number, a label) to a choice, so a user on a phone
    without buttons, or one who types "2", is understood too.
    """
    incoming = context.incoming
    if incoming.kind is Kind.BUTTON:
        head, _, value = incoming.payload.partition(":")
        if head == prefix and value in choices:
            return value
        raise Invalid("errors/stale_button")
    if incoming.kind is Kind.TEXT:
        key = " ".join(incoming.text.split()).lower()
        if key in typed:
            return typed[key]
        raise Invalid("errors/choose_button")
    if incoming.kind is Kind.CONTACT:
        raise Invalid("errors/unexpected_contact")
    raise Invalid("errors/unsupported")


# "<b>", "</i>": code, not words a person wrote.
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>")


def looks_written(text: str, min_letters: int) -> bool:
    """Words a person wrote: at least `min_letters` letters and no markup tags."""
    return sum(ch.isalpha() for ch in text) >= min_letters and not _MARKUP.search(text)


def reason_buttons(label: str, prefix: str, reasons: Sequence[str]
                   ) -> tuple[tuple[Button, ...], ...]:
    """A row per reason (label "<label>_<reason>", payload "<prefix>:<reason>"), then "back"."""
    return (*((Button(f"{label}_{reason}", f"{prefix}:{reason}"),) for reason in reasons),
            (Button("back", f"{prefix}:back"),))


def reason_of(context: Context, prefix: str, reasons: Sequence[str], folder: str
              ) -> str | None:
    """The reason for a decision: a pressed reason's wording (`<folder>/reason_<reason>`) or
    the user's own typed words; None when "back" was pressed. "other", and typed text that
    is no reason, ask for one to be typed (`<folder>/type_reason`)."""
    if context.incoming.kind is Kind.BUTTON:
        choice = choice_of(context, prefix, (*reasons, "back"), {})
        if choice == "back":
            return None
        if choice == "other":
            raise Invalid(f"{folder}/type_reason")
        return context.wording(f"{folder}/reason_{choice}", {})
    reason = text_of(context, max_length=300)
    if not looks_written(reason, min_letters=3):
        raise Invalid(f"{folder}/type_reason")
    return reason
