"""Which kecamatan a typed name means: named ones are taken, near misses only offered."""

import csv
from pathlib import Path

import pytest

from flows.kecamatan import kecamatan_words, match_kecamatan
from storage.interfaces import KecamatanView

KENDAL_CSV = Path(__file__).resolve().parents[2] / "storage" / "data" / "kendal_kecamatan.csv"


def kendal() -> list[KecamatanView]:
    with KENDAL_CSV.open(encoding="utf-8") as rows:
        return [KecamatanView(number, row["nama"])
                for number, row in enumerate(csv.DictReader(rows), start=1)]


def named(typed: str) -> str | None:
    found = match_kecamatan(typed, kendal()).named
    return found.name if found else None


def offered(typed: str) -> list[str]:
    return [item.name for item in match_kecamatan(typed, kendal()).close]


@pytest.mark.parametrize("typed", ["Patebon", "PATEBON", "patebon", "Kec. Patebon",
                                   "kec patebon", "Kec.Patebon", "kecamatan patebon",
                                   "KECAMATAN  PATEBON", " Patebon. ", "Patebon, Kendal",
                                   "Kec. Patebon, Kab. Kendal"])
def test_the_ways_a_name_is_written_all_name_it(typed):
    assert named(typed) == "Patebon"


def test_a_two_word_name_and_its_one_word_neighbour_are_told_apart():
    assert named("kaliwungu selatan") == "Kaliwungu Selatan"
    assert named("Kec. Kaliwungu") == "Kaliwungu"


@pytest.mark.parametrize(("typed", "close"), [
    ("Ptebon", ["Patebon"]), ("kec. ptebon", ["Patebon"]), ("welery", ["Weleri"]),
    ("Sukorjo", ["Sukorejo"]), ("kaliwunggu", ["Kaliwungu"]),
    ("patebn", ["Patebon", "Patean"]),  # two are close: both offered, the closer first
    ("desa sidomulyo kec. cepiring", ["Cepiring"]),  # the whole name among the words
    ("Kota Kendal", ["Kendal"]),
])
def test_a_near_miss_is_only_offered(typed, close):
    assert named(typed) is None
    assert offered(typed) == close


@pytest.mark.parametrize("typed", ["Tugu", "Semarang", "kecamatan", "kec.", "", "😀", "123"])
def test_a_name_far_from_every_one_is_neither_taken_nor_offered(typed):
    assert (named(typed), offered(typed)) == (None, [])


def test_at_most_three_are_offered():
    many = [KecamatanView(number, f"Sumber {letter}")
            for number, letter in enumerate("abcde", start=1)]
    assert len(match_kecamatan("sumber", many).close) == 3


def test_the_prefix_is_dropped_only_before_a_name():
    assert kecamatan_words("Kecamatan") == "kecamatan"
    assert kecamatan_words("Kec. Patebon") == "patebon"
