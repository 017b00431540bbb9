"""Typed words that name a button: one rule, exact label first, never one of two."""

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.button_words import MAX_TYPED, AmbiguousWords, named_choice, words_of
from messages.renderer import LABELS

LABELS_SHOWN = [("✅ Setujui no. 5", "ok:5"), ("❌ Tolak no. 5", "no:5"),
                ("⛔ Hentikan: DEWI LESTARI", "stop:7"), ("➕ Daftarkan pekerja", "new"),
                ("Keluarga/saudara", "kel")]


@pytest.mark.parametrize(("typed", "choice"), [
    ("✅ Setujui no. 5", "ok:5"), ("setujui no. 5", "ok:5"), ("SETUJUI NO 5", "ok:5"),
    ("  setujui   no.5 ", "ok:5"), ("tolak no 5", "no:5"),
    ("hentikan dewi lestari", "stop:7"), ("🛑 Hentikan DEWI LESTARI", "stop:7"),
    ("daftarkan pekerja", "new"), ("Daftarkan Pekerja!", "new"),
    ("keluarga saudara", "kel"), ("KELUARGA/SAUDARA", "kel"),
])
def test_the_words_of_a_label_name_its_button(typed, choice):
    assert named_choice(typed, LABELS_SHOWN) == choice


@pytest.mark.parametrize("typed", ["setujui", "no. 5", "5", "hentikan dewi", "daftarkan",
                                   "setujui no. 6", "😀", "", "   ", "setujui no. 5 dan 6"])
def test_part_of_a_label_or_other_words_name_nothing(typed):
    assert named_choice(typed, LABELS_SHOWN) is None


def test_words_that_fit_two_buttons_name_neither():
    shown = [("⛔ Hentikan: DEWI", "stop:1"), ("⛔ Hentikan: Dewi", "stop:2")]
    assert named_choice("⛔ Hentikan: DEWI", shown) == "stop:1"  # exactly the first
    with pytest.raises(AmbiguousWords) as both:
        named_choice("hentikan dewi", shown)
    assert both.value.labels == ("⛔ Hentikan: DEWI", "⛔ Hentikan: Dewi")


def test_the_same_choice_under_two_labels_is_still_one():
    assert named_choice("lainnya", [("Lainnya", "x"), ("lainnya", "x")]) == "x"


def test_a_closer_tier_decides_before_a_looser_one():
    shown = [("Batal", "cancel"), ("❌ Batal", "stop")]
    assert named_choice("Batal", shown) == "cancel"
    assert named_choice("❌ Batal", shown) == "stop"
    with pytest.raises(AmbiguousWords):
        named_choice("batal!", shown)


def test_a_text_longer_than_any_label_is_not_compared():
    label = "a" * (MAX_TYPED + 1)
    assert named_choice(label, [(label, "x")]) is None


@given(st.text(max_size=60))
def test_words_are_letters_and_digits_in_one_case_and_idempotent(text):
    words = words_of(text)
    assert words == words_of(words)
    assert all(ch.isalnum() or ch == " " for ch in words)
    assert words == words.strip() and "  " not in words


def test_every_fixed_label_has_a_letter_so_typed_text_can_name_it():
    """The flows compare only typed text with a letter (flows/conversation.py)."""
    labels = tomllib.loads(LABELS.read_text(encoding="utf-8"))
    for key, label in labels.items():
        if "{" not in label:
            assert any(ch.isalpha() for ch in label), key
