"""ID numbers (GB 11643-1999), mobile numbers and the masks every page shows."""

import datetime as dt
import unicodedata

import pytest
from django.core.exceptions import ValidationError

from grids.validators import normalize_phone, validate_mobile
from residents import services
from residents.identity import (
    id_birth_date,
    id_gender,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    scrub_personal_numbers,
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
        "369921-19900101003",  # punctuation
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


# --- masks ---------------------------------------------------------------------------------


def test_id_mask_shape():
    assert mask_id_number("362401199001011234") == "3****************4"
    number = id_ending_in_x()
    assert mask_id_number(number) == number[0] + "*" * 16 + number[-1]
    assert mask_id_number(number).endswith("X")


def test_phone_mask_shape():
    assert mask_phone("13812341234") == "138****1234"


@pytest.mark.parametrize("mask", [mask_id_number, mask_phone])
def test_empty_values_mask_to_empty(mask):
    assert mask("") == ""
    assert mask(None) == ""


def test_short_values_are_masked_entirely():
    assert mask_id_number("1234567") == "*******"
    assert mask_phone("123456") == "******"


def test_the_model_shows_masks(world):
    resident = world.residents["U1"]
    assert resident.masked_id_number == resident.id_number[0] + "*" * 16 + resident.id_number[-1]
    assert resident.masked_phone == resident.phone[:3] + "****" + resident.phone[-4:]
    assert resident.id_number not in str(resident)
    assert resident.masked_id_number in str(resident)


# --- personal numbers inside free text -------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789-() ", "０１２３４５６７８９－（）\u3000")

MASKED = [
    # mobiles, however written: ``138****8000``, the country code dropped with the number
    ("13800138000", "138****8000"),
    ("+8613800138000", "138****8000"),
    ("8613800138000", "138****8000"),
    ("+86 138 0013 8000", "138****8000"),
    ("+86-138-0013-8000", "138****8000"),
    ("008613800138000", "138****8000"),
    ("(+86)13800138000", "138****8000"),
    ("138-0013-8000", "138****8000"),
    ("138 0013 8000", "138****8000"),
    ("138 00138000", "138****8000"),
    ("１３８００１３８０００", "138****8000"),
    ("１３８－００１３－８０００", "138****8000"),
    ("１３８\u3000００１３\u3000８０００", "138****8000"),  # ideographic spaces
    ("＋８６１３８００１３８０００", "138****8000"),
    ("199\u20140013\u20148000", "199****8000"),  # em dashes
    # ID numbers of 18: the first and the last shown, a lowercase x as X
    ("362401199001011234", "3****************4"),
    ("36240119900101123X", "3****************X"),
    ("36240119900101123x", "3****************X"),
    ("362401-19900101-1234", "3****************4"),
    ("362401 19900101 123x", "3****************X"),
    ("362401 1990 0101 1234", "3****************4"),
    ("3624 0119 9001 0112 34", "3****************4"),
    ("３６２４０１１９９００１０１１２３４", "3****************4"),
    ("３６２４０１１９９００１０１１２３ｘ", "3****************X"),
    # old ID numbers of 15
    ("362401900101123", "3*************3"),
    ("362401 900101 123", "3*************3"),
    ("362401-900101-123", "3*************3"),
    ("３６２４０１９００１０１１２３", "3*************3"),
    # landlines with their area code
    ("0794-1234567", "079****4567"),
    ("07941234567", "079****4567"),
    ("0794 1234567", "079****4567"),
    ("010-12345678", "010****5678"),
    ("(0794)1234567", "079****4567"),
    ("（０７９４）１２３４５６７", "079****4567"),
    ("０７９４－１２３４５６７", "079****4567"),
]


@pytest.mark.parametrize(("raw", "masked"), MASKED)
@pytest.mark.parametrize("around", ["{}", "请联系{}，谢谢", "电话:{}。", "ID{}号"])
def test_personal_numbers_in_text_are_masked(raw, masked, around):
    assert scrub_personal_numbers(around.format(raw)) == around.format(masked)


@pytest.mark.parametrize(("raw", "masked"), MASKED)
def test_no_digits_of_the_number_survive_but_the_mask(raw, masked):
    scrubbed = scrub_personal_numbers(f"反映人{raw}")
    digits = "".join(c for c in scrubbed if c.isdigit())
    assert digits == "".join(c for c in masked if c.isdigit())


NOT_MASKED = [
    "住3栋2单元301室",
    "2024年5月3日下午",
    "交了5000元物业费",
    "共计12000000元",
    "2024-05-03 10:30 停水",
    "1号楼101、102、103室都漏水",
    "房号1301，邮编344000",
    "第１２３号，３０１室，２０２４年",  # full-width, short: left exactly as written
    "工单编号20240503001",  # 11 digits, but no mobile starts with 2
    "水表读数1234567890",  # 10 digits, no area code
    "1栋 2单元 301 302 303 304",
    "楼道灯坏了一个多月，老人上下楼不方便（已报修３次）",
    "",
]


@pytest.mark.parametrize("text", NOT_MASKED)
def test_ordinary_numbers_and_text_are_left_alone(text):
    assert scrub_personal_numbers(text) == text


def test_several_numbers_in_one_text_and_the_text_around_them_kept():
    text = (
        "张先生（１３８００１３８０００）和李女士138 0013 8001都反映，"
        "身份证362401199001011234、旧证362401900101123，座机0794-1234567，"
        "3栋301室，已交5000元。"
    )
    assert scrub_personal_numbers(text) == (
        "张先生（138****8000）和李女士138****8001都反映，"
        "身份证3****************4、旧证3*************3，座机079****4567，"
        "3栋301室，已交5000元。"
    )


def test_two_mobiles_separated_by_a_space_are_masked_each():
    assert scrub_personal_numbers("13800138000 13900139000") == "138****8000 139****9000"


def test_full_width_forms_match_their_ascii_selves():
    for raw, masked in MASKED:
        if raw.isascii():
            assert scrub_personal_numbers(raw.translate(FULL_WIDTH)) == masked


# --- issue 9, point 3: every common way of writing a number, and what is left alone ----------

# The formats the scrubber read before (MASKED above) and twelve more a hostile probe found
# it missing, plus zero-width characters of each kind, full-width digits and +86 / 0086.
POINT3_MORE_FORMATS = [
    ("147.0123.4567", "147****4567"),
    ("147 - 0123 - 4567", "147****4567"),
    ("147/0123/4567", "147****4567"),
    ("1470 123 4567", "147****4567"),
    ("147_0123_4567", "147****4567"),
    ("138  0013  8000", "138****8000"),  # double spaces
    ("138\u200b0013\u200b8000", "138****8000"),  # zero-width space
    ("138\u200c00138000", "138****8000"),  # zero-width non-joiner
    ("1380\u200d0138000", "138****8000"),  # zero-width joiner
    ("13800\u20601380\u200b00", "138****8000"),  # word joiner
    ("\ufeff13800138000", "\ufeff138****8000"),  # a BOM before stays, the number goes
    ("369921.19910824.0236", "3****************6"),
    ("369921/19910824/0236", "3****************6"),
    ("369 921 199 108 240 236", "3****************6"),
    ("3699\u200b2119910824023x", "3****************X"),
    ("１４７．０１２３．４５６７", "147****4567"),  # full-width digits and dots
    ("+86 147.0123.4567", "147****4567"),
    ("0086 147 0123 4567", "147****4567"),
    ("+86-1470-123-4567", "147****4567"),
]
POINT3_FORMATS = MASKED + POINT3_MORE_FORMATS

POINT3_NOT_SCRUBBED = [
    *NOT_MASKED,
    "2024-03-05",
    "2024.03.05 停电",
    "2024/03/05",
    "10:30 到 11:45",
    "金额1,234.56元",
    "共计 12,345,678.90 元",
    "工单 #20240503001",
    "工单编号 2024-0503-001",
    "IP 192.168.100.200",
    "100 200 300 400 500 600",  # six groups of three, but no birth date inside
    "3栋 2单元 1301",
    "电话已打过 3 次",
]


@pytest.mark.parametrize(("raw", "masked"), POINT3_FORMATS)
@pytest.mark.parametrize("around", ["{}", "反映人{}，请回电。"])
def test_point3_every_common_format_is_scrubbed(raw, masked, around):
    scrubbed = scrub_personal_numbers(around.format(raw))
    assert scrubbed == around.format(masked)
    shown = "".join(c for c in unicodedata.normalize("NFKC", scrubbed) if c.isdigit())
    assert shown == "".join(c for c in masked if c.isdigit())


def test_point3_the_table_has_every_format():
    assert len(POINT3_FORMATS) >= 34 + 12


@pytest.mark.parametrize("text", POINT3_NOT_SCRUBBED)
def test_point3_ordinary_text_is_not_scrubbed(text):
    assert scrub_personal_numbers(text) == text
