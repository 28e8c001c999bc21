"""Phone and ID numbers as people type them (issue 15, point 5): one normaliser each, a valid
number brought back from any decoration, the paths that take numbers all using it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from core.numbers import fold_width, id_number_normalise, phone_normalise
from core.sms import sms_number_normalise
from grids.validators import normalize_phone, validate_mobile, validate_phone
from residents.identity import id_check_digit, normalize_id_number, validate_id_number

EXAMPLES = 400
SEPARATORS = [" ", "-", ".", "\u3000", "－", "—", "  ", " - "]
DIGITS = st.sampled_from("0123456789")


def _wide(text: str, which: list[bool]) -> str:
    """``text`` with the characters ``which`` picks in their full-width form."""
    return "".join(
        chr(ord(c) + 0xFEE0) if pick and "!" <= c <= "~" else c
        for c, pick in zip(text, which, strict=False)
    )


@st.composite
def mobiles(draw) -> str:
    return (
        "1"
        + draw(st.sampled_from("3456789"))
        + "".join(draw(st.lists(DIGITS, min_size=9, max_size=9)))
    )


@st.composite
def grouped(draw, number: str) -> str:
    """``number`` cut into groups joined by random separators, some digits full-width."""
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=4)))
    parts = [number[i:j] for i, j in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + part
    return _wide(text, draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text))))


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), number=mobiles())
def test_a_mobile_comes_back_from_any_decoration(data, number):
    prefix = data.draw(
        st.sampled_from(["", "+86", "+86 ", "0086", "0086 ", "86", "86-", "(+86) ", "＋８６ "])
    )
    blanks = data.draw(st.sampled_from(["", " ", "\u3000", "\t"]))
    typed = blanks + prefix + data.draw(grouped(number)) + blanks
    assert normalize_phone(typed) == number
    validate_mobile(normalize_phone(typed))
    assert sms_number_normalise(typed) == "+86" + number


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_a_landline_comes_back_from_any_decoration(data):
    area = data.draw(st.sampled_from(["010", "021", "029", "0571", "0755", "0931"]))
    local = data.draw(st.sampled_from("2345678")) + "".join(
        data.draw(st.lists(DIGITS, min_size=6 if len(area) == 4 else 7, max_size=7))
    )
    stored = f"{area}-{local}"
    typed = data.draw(
        st.sampled_from([area + local, f"({area}){local}", f"+86 {area[1:]} {local}"])
    )
    typed = _wide(
        typed, data.draw(st.lists(st.booleans(), min_size=len(typed), max_size=len(typed)))
    )
    assert phone_normalise(typed) == stored
    validate_phone(stored)


@st.composite
def id_numbers(draw) -> str:
    region = "".join(draw(st.lists(DIGITS, min_size=6, max_size=6)))
    birth = draw(st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)))
    order = "".join(draw(st.lists(DIGITS, min_size=3, max_size=3)))
    first17 = f"{region}{birth:%Y%m%d}{order}"
    return first17 + id_check_digit(first17)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), number=id_numbers())
def test_an_id_number_comes_back_from_any_decoration(data, number):
    typed = data.draw(grouped(number))
    if number.endswith("X"):
        typed = typed[:-1] + data.draw(st.sampled_from(["X", "x", "Ｘ", "ｘ"]))
    typed = data.draw(st.sampled_from(["", " ", "\u3000"])) + typed
    assert normalize_id_number(typed) == number == id_number_normalise(typed)
    validate_id_number(typed)


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=st.text(max_size=30))
def test_the_normalisers_never_fail_and_are_idempotent(text):
    phone = phone_normalise(text)
    assert phone_normalise(phone) == phone
    id_number = id_number_normalise(text)
    assert id_number_normalise(id_number) == id_number


def test_only_ascii_digits_are_digits_afterwards():
    assert fold_width("１３８") == "138"
    # Arabic-Indic digits are digits to \d and int(), never a phone.
    with pytest.raises(ValidationError):
        validate_mobile(normalize_phone("١٣٨٠٠١٣٨٠٠٠"))
    with pytest.raises(ValueError):
        sms_number_normalise("١٣٨٠٠١٣٨٠٠٠")


def _english(caught) -> str:
    with translation.override("en"):
        return caught.value.messages[0]


@pytest.mark.parametrize(
    ("typed", "code", "words"),
    [
        ("1380013800", "bad_mobile", "has 10 digits; a mobile number has 11"),
        # a float's .0 is no digit: one digit short stays one digit short
        ("1380013800.0", "bad_mobile", "has 10 digits; a mobile number has 11"),
        ("１３８００１３８０００１", "bad_mobile", "has 12 digits"),
        ("+1 415 555 0100", "bad_mobile", "is not a mainland China number"),
        ("138-0013-800a", "bad_mobile", "is not a mobile number"),
        ("0571-123", "bad_mobile", "is not a mobile number"),
    ],
)
def test_an_invalid_mobile_gets_the_specific_error(typed, code, words):
    with pytest.raises(ValidationError) as caught:
        validate_mobile(normalize_phone(typed))
    assert caught.value.code == code
    assert words in _english(caught)


def test_an_invalid_phone_gets_the_specific_error():
    with pytest.raises(ValidationError) as caught:
        validate_phone(normalize_phone("0044 20 7946 0000"))
    assert "is not a mainland China number" in _english(caught)
    with pytest.raises(ValidationError) as caught:
        validate_phone(normalize_phone("139 1234 567"))
    assert "has 10 digits" in _english(caught)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("11010519491231002", "id_length"),
        ("11010519491231002Y", "id_characters"),
        ("110105194913310021", "id_birth_date"),
        ("110105194912310021", "id_checksum"),
    ],
)
def test_an_invalid_id_number_gets_the_specific_error(typed, code):
    with pytest.raises(ValidationError) as caught:
        validate_id_number(_wide(typed, [True] * len(typed)))
    assert caught.value.code == code


# --- every path that takes a number uses the normaliser -----------------------------------

WIDE_MOBILE = "＋８６ １３８－００１３－８０００"


@pytest.mark.django_db
def test_a_person_typed_with_full_width_digits_is_the_same_person():
    from grids import services

    first = services.person_get_or_create(name="王芳", phone="13800138000")
    assert services.person_get_or_create(name="王芳", phone=WIDE_MOBILE) == first


@pytest.mark.django_db
def test_the_inbox_finds_a_reporter_by_a_full_width_number():
    from issues.selectors import inbox_search

    q, why = inbox_search(None, WIDE_MOBILE)
    assert why is None and "13800138000" in str(q)


def test_the_resident_sign_in_takes_a_full_width_number():
    from residents.accounts import phone_normalise as sign_in_phone

    assert sign_in_phone(WIDE_MOBILE) == "13800138000"


def test_a_float_tail_is_taken_off_a_whole_number_only():
    assert normalize_phone("13800138000.0") == "13800138000"
    assert normalize_phone("+8613800138000.0") == "13800138000"
    assert id_number_normalise("11010519491231002X") == "11010519491231002X"
    # 17 digits and a float's .0 are not an 18-character ID number
    assert id_number_normalise("11010519491231002.0") == "11010519491231002"
