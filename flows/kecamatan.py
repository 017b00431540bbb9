"""Which of the region's kecamatan a typed name means.

"Kec. Patebon", "kecamatan patebon", "PATEBON" and "Patebon, Kendal" all name Patebon and
are taken. "Ptebon" only comes close to it: it is offered ("Maksud Anda Patebon?") and taken
once the user says yes, never silently, since a worker's address must not be guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from flows.button_words import words_of
from storage.interfaces import KecamatanView

# Words people put before the name, dropped when a name follows them.
PREFIXES = frozenset({"kecamatan", "kec"})
# difflib's ratio from which a name is offered: "ptebon" is 0.92 of "patebon", "bojo" 0.75 of
# "boja"; "patebon" is 0.67 of "patean", not offered for it.
CLOSE = 0.75
MAX_OFFERED = 3


@dataclass(frozen=True, slots=True)
class KecamatanMatch:
    """The kecamatan the text names (`named`), or those it comes close to (`close`, the
    closest first), or neither."""

    named: KecamatanView | None = None
    close: tuple[KecamatanView, ...] = ()


def kecamatan_words(text: str) -> str:
    """The words of a kecamatan's name as typed: letters and digits in one case, without
    "Kec."/"Kecamatan" before it or the regency after a comma."""
    words = words_of(text.split(",", 1)[0]).split()
    if len(words) > 1 and words[0] in PREFIXES:
        words = words[1:]
    return " ".join(words)


def match_kecamatan(typed: str, kecamatan: Sequence[KecamatanView]) -> KecamatanMatch:
    """The listed kecamatan `typed` names, or the ones it comes close to: by spelling
    (difflib) or because the whole name is among the typed words ("desa x kaliwungu")."""
    wanted = kecamatan_words(typed)
    if not wanted:
        return KecamatanMatch()
    names = [(kecamatan_words(item.name), item) for item in kecamatan]
    named = [item for name, item in names if name == wanted]
    if len(named) == 1:
        return KecamatanMatch(named=named[0])
    scored = sorted(
        ((_closeness(wanted, name), item) for name, item in names),
        key=lambda pair: -pair[0],
    )
    return KecamatanMatch(close=tuple(item for score, item in scored if score >= CLOSE
                                      )[:MAX_OFFERED])


def _closeness(typed: str, name: str) -> float:
    """How close the typed words are to a name: 1 when they hold the whole name as words."""
    if name and f" {name} " in f" {typed} ":
        return 1.0
    return SequenceMatcher(None, typed, name).ratio()
