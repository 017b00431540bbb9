"""NIP: 18 digits starting with a real birth date; PNS and PPPK middles both accepted."""

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from flows.nip import InvalidNip, normalise_nip, parse_nip


@given(st.dates(date(1940, 1, 1), date(2010, 12, 31)), st.text("0123456789", min_size=10,
                                                               max_size=10))
def test_any_birth_date_with_any_ten_more_digits_is_a_nip(born, rest):
    """PNS: appointment YYYYMM + gender + serial; PPPK: a different middle. Both pass."""
    text = born.strftime("%Y%m%d") + rest
    nip = parse_nip(text)
    assert (nip.value, nip.birth_date) == (text, born)


@given(st.dates(date(1940, 1, 1), date(2010, 12, 31)),
       st.text("0123456789", min_size=10, max_size=10), st.sampled_from([" ", ".", "-"]))
def test_groups_may_be_separated(born, rest, separator):
    text = born.strftime("%Y%m%d") + rest
    typed = separator.join([text[:8], text[8:14], text[14:15], text[15:]])
    assert parse_nip(typed).value == text == normalise_nip(typed)


@pytest.mark.parametrize(
    "text",
    ["198503152010011001",  # PNS: appointment January 2010, man, serial 001
     "199204172023212003",  # PPPK 2023: "21" where a PNS has the month
     "19850315 201001 1 001", "19850315.201001.1.001"],
)
def test_examples(text):
    assert parse_nip(text).birth_date.year in {1985, 1992}


@pytest.mark.parametrize(
    "text",
    ["19850315201001100", "1985031520100110011", "19850315201001100a",
     "198513152010011001", "198502302010011001", "198500152010011001",
     "193912312010011001", "", "NIP 198503152010011001", "１９８５０３１５２０１００１１００１"],
)
def test_refused(text):
    with pytest.raises(InvalidNip):
        parse_nip(text)


@given(st.text(max_size=30))
def test_anything_without_eighteen_digits_is_refused(text):
    value = normalise_nip(text)
    assume(not (len(value) == 18 and value.isascii() and value.isdigit()))
    with pytest.raises(InvalidNip):
        parse_nip(text)
