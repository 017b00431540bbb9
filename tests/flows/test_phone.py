"""Phone numbers: every way people write an Indonesian number gives the same E.164."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.masking import mask_phone
from flows.phone import InvalidPhone, to_e164

# A mobile number: 08 + operator prefix + 7 or 8 digits.
subscriber = st.tuples(
    st.sampled_from(["11", "12", "13", "21", "22", "52", "53", "55", "56", "57", "58",
                     "77", "78", "81", "82", "95", "96", "97", "98"]),
    st.text("0123456789", min_size=7, max_size=8),
)


def spaced(digits: str, separator: str) -> str:
    return separator.join(digits[i:i + 4] for i in range(0, len(digits), 4))


@given(subscriber, st.sampled_from(["", " ", "-", ".", " - "]))
def test_local_international_and_spaced_forms_agree(number, separator):
    national = "8" + number[0] + number[1]  # without the trunk 0
    expected = "+62" + national
    forms = ["0" + national, "62" + national, "+62" + national,
             "0" + spaced(national, separator), "62" + spaced(national, separator),
             "+62 " + spaced(national, separator)]
    try:
        results = {to_e164(form) for form in forms}
    except InvalidPhone:  # not every prefix-and-length pair is allotted; all forms agree
        for form in forms:
            with pytest.raises(InvalidPhone):
                to_e164(form)
        return
    assert results == {expected}


@given(st.text(max_size=30))
def test_the_result_is_e164_and_stable(text):
    try:
        e164 = to_e164(text)
    except InvalidPhone:
        return
    assert e164.startswith("+") and e164[1:].isdigit()
    assert to_e164(e164) == e164


@pytest.mark.parametrize(
    ("typed", "e164"),
    [("081234567890", "+6281234567890"), ("0812-3456-7890", "+6281234567890"),
     ("(0812) 3456 7890", "+6281234567890"), ("62 812-3456-7890", "+6281234567890"),
     ("+62 812 3456 7890", "+6281234567890"), ("6281234567890", "+6281234567890"),
     ("(024) 3581234", "+62243581234"), ("+1 202 555 0100", "+12025550100")],
)
def test_usual_forms(typed, e164):
    assert to_e164(typed) == e164


def test_separators_do_not_change_how_a_leading_62_is_read():
    assert to_e164("6280000000.") == to_e164("6280000000")


@pytest.mark.parametrize("typed", ["", "12345", "0812", "08123456789012345", "nomor",
                                   "+62", "0812-abcd-7890"])
def test_not_a_phone_number(typed):
    with pytest.raises(InvalidPhone):
        to_e164(typed)


def test_mask_shows_the_country_operator_and_last_four_only():
    assert mask_phone("+6281234567890") == "+62812••••7890"
    assert mask_phone("+621234") == "••••"
