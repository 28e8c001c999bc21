"""ID numbers (GB 11643-1999) and mobile numbers: what is valid, and the model's masks."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from grids.validators import normalize_phone, validate_mobile
from residents import services
from residents.identity import (
    id_birth_date,
    id_gender,
    normalize_id_number,
    validate_id_number,
)

from .helpers import GB11643_WEIGHTS, check_digit, id_ending_in_x, make_id, wrong_check

# Published examples: the standard's own (440524188001010014) and a widely quoted one.
PUBLISHED = ("440524188001010014", "11010519491231002X")


def _code(value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_id_number(value)
    return caught.value.code


def test_weights_are_the_standard_ones():
    assert GB11643_WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@pytest.mark.parametrize("number", PUBLISHED)
def test_our_check_digit_agrees_with_published_examples(number):
    assert check_digit(number[:17]) == number[17]


def test_a_published_example_is_valid():
    validate_id_number(PUBLISHED[1])


def test_the_standards_own_example_is_refused_for_its_1880_birth_date():
    # Right checksum, but nobody born before 1900 is registered as a living resident.
    assert _code(PUBLISHED[0]) == "id_birth_date"


@pytest.mark.parametrize("serial", [1, 2, 7, 123, 499])
def test_valid_numbers_pass(serial):
    validate_id_number(make_id(serial))
    validate_id_number(make_id(serial, birth="20000229", male=False))


def test_a_number_ending_in_x_is_valid():
    number = id_ending_in_x()
    assert number.endswith("X")
    validate_id_number(number)


def test_lowercase_x_is_normalised():
    number = id_ending_in_x()
    lower = number[:-1] + "x"
    assert normalize_id_number(f"  {lower} ") == number
    validate_id_number(lower)


def test_spaces_inside_are_dropped():
    number = make_id(3)
    assert normalize_id_number(f"{number[:6]} {number[6:14]} {number[14:]}") == number


def test_the_service_stores_the_normalised_number(world):
    number = id_ending_in_x(start=40)
    resident = services.resident_create(
        household=world.households["U1"], name="小写", id_number=number[:-1].lower() + "x "
    )
    resident.refresh_from_db()
    assert resident.id_number == number


@pytest.mark.parametrize("serial", [1, 5, 40])
def test_a_wrong_check_digit_is_refused(serial):
    number = make_id(serial)
    assert _code(wrong_check(number)) == "id_checksum"


def test_an_x_where_a_digit_belongs_is_refused():
    number = make_id(1)
    assert number[-1] != "X"
    assert _code(number[:-1] + "X") == "id_checksum"


@pytest.mark.parametrize(("length", "cut"), [(17, lambda n: n[:17]), (19, lambda n: n + "1")])
def test_wrong_length_is_refused(length, cut):
    value = cut(make_id(2))
    assert len(value) == length
    with pytest.raises(ValidationError) as caught:
        validate_id_number(value)
    assert caught.value.code == "id_length"
    assert caught.value.params == {"n": length}


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_is_refused_as_wrong_length(value):
    assert _code(value) == "id_length"


@pytest.mark.parametrize(
    "value",
    [
        "36992A199001010039",  # a letter in the region code
        "3699211990010100X9",  # X anywhere but last
        "36992119900101003Y",  # a letter other than X at the end
        "369921·1990010100X",  # punctuation (a hyphen, a space or a dot is taken away)
    ],
)
def test_letters_and_punctuation_are_refused(value):
    assert len(value) == 18
    assert _code(value) == "id_characters"


@pytest.mark.parametrize("birth", ["19990230", "19991301", "19990000", "20010229", "18991231"])
def test_an_impossible_or_too_old_birth_date_is_refused(birth):
    # The check digit is right, so only the date can be what is wrong.
    assert _code(make_id(1, birth=birth)) == "id_birth_date"


def test_a_birth_date_in_the_future_is_refused():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert _code(make_id(1, birth=tomorrow.strftime("%Y%m%d"))) == "id_birth_date"


def test_a_leap_day_is_a_real_date():
    validate_id_number(make_id(1, birth="20000229"))


def test_full_width_digits_are_refused_or_normalised(world):
    number = world.residents["U1"].id_number
    full_width = number[:17].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    full_width += number[17]
    with pytest.raises(ValidationError):
        services.resident_create(
            household=world.households["U2"], name="全角", id_number=full_width
        )


# --- what an ID number carries -------------------------------------------------------------


@pytest.mark.parametrize(("male", "gender"), [(True, "M"), (False, "F")])
def test_gender_comes_from_the_17th_digit(male, gender):
    number = make_id(8, male=male)
    assert int(number[16]) % 2 == (1 if male else 0)
    assert id_gender(number) == gender


def test_birth_date_comes_from_digits_7_to_14():
    assert id_birth_date(make_id(1, birth="19850607")) == dt.date(1985, 6, 7)
    assert id_birth_date(PUBLISHED[1]) == dt.date(1949, 12, 31)
    assert id_birth_date(make_id(1, birth="19990230")) is None


def test_the_service_derives_gender_and_birth_date(world):
    number = make_id(77, birth="19620315", male=False)
    resident = services.resident_create(
        household=world.households["U1"], name="派生", id_number=number
    )
    assert (resident.gender, resident.birth_date) == ("F", dt.date(1962, 3, 15))


def test_the_service_refuses_a_gender_or_birth_date_that_contradicts_the_id(world):
    number = make_id(78, birth="19620315", male=False)
    household = world.households["U1"]
    with pytest.raises(ValidationError) as caught:
        services.resident_create(household=household, name="甲", id_number=number, gender="M")
    assert set(caught.value.message_dict) == {"gender"}
    with pytest.raises(ValidationError) as caught:
        services.resident_create(
            household=household, name="甲", id_number=number, birth_date=dt.date(1962, 3, 16)
        )
    assert set(caught.value.message_dict) == {"birth_date"}
    # Agreeing values are accepted.
    services.resident_create(
        household=household,
        name="甲",
        id_number=number,
        gender="F",
        birth_date=dt.date(1962, 3, 15),
    )


# --- mobile numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["13812341234", "19912345678", "15000000000", "16600001111"])
def test_valid_mobiles(value):
    validate_mobile(value)


@pytest.mark.parametrize(
    "value",
    [
        "1381234123",  # 10 digits
        "138123412345",  # 12 digits
        "12812341234",  # 12x is not a mobile prefix
        "10012341234",
        "23812341234",
        "1381234123a",
        "0791-8888888",  # a landline is not a mobile
        "",
    ],
)
def test_invalid_mobiles(value):
    with pytest.raises(ValidationError) as caught:
        validate_mobile(value)
    assert caught.value.code == "bad_mobile"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("+8613812341234", "13812341234"),
        ("+86 138 1234 1234", "13812341234"),
        (" 138 1234 1234 ", "13812341234"),
        ("13812341234.0", "13812341234"),  # what a spreadsheet number cell becomes
        ("", ""),
        (None, ""),
    ],
)
def test_phones_are_normalised(raw, clean):
    assert normalize_phone(raw) == clean
    if clean:
        validate_mobile(normalize_phone(raw))


def test_the_service_stores_a_normalised_mobile(world):
    resident = services.resident_create(
        household=world.households["U1"],
        name="电话",
        id_number=make_id(90),
        phone="+86 139 1234 5678",
    )
    assert resident.phone == "13912345678"
    with pytest.raises(ValidationError):
        services.resident_create(
            household=world.households["U1"], name="电话", id_number=make_id(91), phone="1391234567"
        )


def test_a_mobile_with_full_width_digits_is_refused():
    with pytest.raises(ValidationError):
        validate_mobile("138１２３４５６７８")


# --- masks (their rules: tests/core/test_privacy.py) ----------------------------------------


def test_the_model_shows_masks(world):
    resident = world.residents["U1"]
    assert resident.masked_id_number == resident.id_number[0] + "*" * 16 + resident.id_number[-1]
    assert resident.masked_phone == resident.phone[:3] + "****" + resident.phone[-4:]
    assert resident.id_number not in str(resident)
    assert resident.masked_id_number in str(resident)
