"""Typed words that name a button: "setujui no. 5" for "✅ Setujui no. 5".

People on a phone type what a button says instead of pressing it: without its emoji, in
their own case, with a space too many or a colon left out. One rule, used wherever typed text
meets the buttons on screen (every flow's step, and the terminal chat): the label exactly
first, then the label in any case, then its words alone (letters and digits). A tier whose
words fit two different buttons names neither, so typing never picks one of two by chance.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeVar

Choice = TypeVar("Choice")

# No label is longer: a longer text is an answer of its own, not worth comparing.
MAX_TYPED = 200


class AmbiguousWords(Exception):
    """The typed words fit more than one button; `labels` are the buttons they fit."""

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__("ambiguous")
        self.labels = tuple(labels)


def spaced(text: str) -> str:
    """The text with one space between its parts and none around it."""
    return " ".join(text.split())


def folded(text: str) -> str:
    """`spaced`, in one case (Unicode case folding, compatibility forms made plain)."""
    return spaced(unicodedata.normalize("NFKC", text).casefold())


def words_of(text: str) -> str:
    """Only the letters and digits, case-folded, one space between words: what is left of a
    label once its emoji, symbols and punctuation are gone ("⛔ Hentikan: DEWI" gives
    "hentikan dewi")."""
    kept = "".join(ch if ch.isalnum() else " " for ch in folded(text))
    return " ".join(kept.split())


_TIERS: tuple[Callable[[str], str], ...] = (spaced, folded, words_of)


def named_choice(typed: str, choices: Sequence[tuple[str, Choice]]) -> Choice | None:
    """The choice whose label the typed text names, or None when none fits.

    `choices` pairs each label (as the user reads it) with its choice. Raises
    AmbiguousWords when the closest tier that fits at all fits two different choices.
    """
    if len(typed) > MAX_TYPED:
        return None
    for key in _TIERS:
        wanted = key(typed)
        if not wanted:
            return None
        fits = [(label, choice) for label, choice in choices if key(label) == wanted]
        distinct: list[Choice] = []
        for _, choice in fits:
            if choice not in distinct:  # the same choice twice is still one
                distinct.append(choice)
        if len(distinct) == 1:
            return fits[0][1]
        if distinct:
            raise AmbiguousWords([label for label, _ in fits])
    return None
