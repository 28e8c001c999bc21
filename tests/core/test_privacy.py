"""The masks every page shows (``core.privacy``): ID numbers and phones on their own and
inside free text, and the ``scrub`` template filter. Moved whole from
tests/residents/test_identity.py with the code they test."""

import unicodedata

import pytest
from django.template import Context, Template, engines

import residents.identity
from core.privacy import mask_id_number, mask_phone, scrub_personal_numbers
from tests.residents.helpers import id_ending_in_x


def test_point3_masking_lives_in_the_ground_floor_and_identity_keeps_validation():
    for name in ("mask_id_number", "mask_phone", "masked_id_parts", "scrub_personal_numbers"):
        assert not hasattr(residents.identity, name), name
    assert callable(residents.identity.validate_id_number)


def test_point3_the_scrub_filter_is_cores_and_loads_as_before():
    libraries = engines["django"].engine.template_libraries
    assert libraries["privacy"].filters["scrub"].__module__ == "core.templatetags.privacy"
    text = Template("{% load privacy %}{{ text|scrub }}|{{ none|scrub }}")
    assert text.render(Context({"text": "电话13800138000", "none": None})) == "电话138****8000|"


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
