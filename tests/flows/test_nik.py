"""NIK: structure only (region, DDMMYY with day + 40 for women, serial); masks show 4 + 4."""

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from flows.masking import mask_nik
from flows.nik import InvalidNik, NikProblem, parse_nik


@st.composite
def niks(draw) -> tuple[str, dict]:
    """A structurally valid NIK and what it says."""
    province = draw(st.integers(11, 99))
    regency = draw(st.integers(1, 99))
    district = draw(st.integers(0, 99))
    female = draw(st.booleans())
    day = draw(st.integers(1, 31))
    month = draw(st.integers(1, 12))
    year2 = draw(st.integers(0, 99))
    serial = draw(st.integers(1, 9999))
    nik = (f"{province:02}{regency:02}{district:02}{day + 40 * female:02}{month:02}"
           f"{year2:02}{serial:04}")
    return nik, {"region": nik[:6], "day": day, "month": month, "year2": year2,
                 "female": female}


@given(niks())
def test_every_well_structured_nik_parses_and_says_what_its_digits_say(case):
    text, expected = case
    nik = parse_nik(text)
    assert nik.value == text
    assert {"region": nik.region, "day": nik.day, "month": nik.month, "year2": nik.year2,
            "female": nik.female} == expected


@given(niks(), st.sampled_from([" ", ".", "-", "  "]))
def test_separators_between_groups_are_ignored(case, separator):
    text, _ = case
    typed = separator.join([text[:6], text[6:12], text[12:]])
    assert parse_nik(f" {typed} ").value == text


@given(niks(), st.dates(date(1990, 1, 1), date(2100, 12, 31)))
def test_the_suggested_birth_date_is_never_after_today(case, today):
    nik = parse_nik(case[0])
    born = nik.birth_date(today)
    if born is not None:
        assert born <= today
        assert (born.day, born.month, born.year % 100) == (nik.day, nik.month, nik.year2)
        assert today.year - born.year < 101  # the latest century that fits


def test_birth_date_picks_the_century_and_reads_day_plus_forty():
    today = date(2025, 8, 21)
    assert parse_nik("3324015708800001").birth_date(today) == date(1980, 8, 17)
    assert parse_nik("3324011205100002").birth_date(today) == date(2010, 5, 12)
    assert parse_nik("3324011205300002").birth_date(today) == date(1930, 5, 12)
    assert parse_nik("3324012908250003").birth_date(today) == date(1925, 8, 29)  # not 2025
    assert parse_nik("3324012902810001").birth_date(today) is None  # 29 Feb 1981


@given(st.text(max_size=40))
def test_anything_else_is_refused(text):
    digits = "".join(ch for ch in text if ch not in " .-\t\n\r\x0b\x0c")
    assume(not (len(digits) == 16 and digits.isascii() and digits.isdigit()))
    with pytest.raises(InvalidNik):
        parse_nik(text)


@pytest.mark.parametrize(
    "text",
    ["332401570880001", "33240157088000012", "1024015708800001", "3300015708800001",
     "3324013208800001", "3324017208800001", "3324014008800001", "3324010008800001",
     "3324011513800001", "3324011500800001", "3324015708800000", "３３２４０１５７０８８０００１"],
)
def test_structural_errors(text):
    with pytest.raises(InvalidNik):
        parse_nik(text)


@pytest.mark.parametrize(
    ("text", "problem", "length"),
    [("332401570880001", NikProblem.LENGTH, 15),
     ("33240157088000012", NikProblem.LENGTH, 17),
     ("3324 0157 0880 001", NikProblem.LENGTH, 15),  # the separators are not counted
     ("3324-0157-0880-00012", NikProblem.LENGTH, 17),
     ("33240157O8800001", NikProblem.NOT_DIGITS, 16),  # a letter O for a zero
     ("３３２４０１５７０８８０００１", NikProblem.NOT_DIGITS, 15),
     ("1024015708800001", NikProblem.REGION, 16), ("3300015708800001", NikProblem.REGION, 16),
     ("3324013208800001", NikProblem.BIRTH_DATE, 16),
     ("3324011513800001", NikProblem.BIRTH_DATE, 16),
     ("3324015708800000", NikProblem.SERIAL, 16)],
)
def test_a_refusal_says_what_is_wrong_and_how_many_digits_were_typed(text, problem, length):
    with pytest.raises(InvalidNik) as refused:
        parse_nik(text)
    assert (refused.value.problem, refused.value.length) == (problem, length)


@given(st.text(alphabet="0123456789 .-", max_size=30))
def test_the_length_told_is_the_digits_typed(text):
    digits = sum(ch.isdigit() for ch in text)
    try:
        parse_nik(text)
    except InvalidNik as refused:
        if refused.problem is NikProblem.LENGTH:
            assert refused.length == digits != 16


@given(niks())
def test_a_mask_shows_only_the_first_and_last_four_digits(case):
    text, _ = case
    masked = mask_nik(text)
    assert masked == parse_nik(text).masked
    assert masked[:4] == text[:4] and masked[-4:] == text[-4:]
    assert masked[4:-4] == "•" * 8
    assert sum(ch.isdigit() for ch in masked) == 8
    assert text not in masked and text[4:12] not in masked


def test_mask_example_from_the_design():
    assert mask_nik("3324015708800001") == "3324••••••••0001"
