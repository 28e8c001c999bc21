import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

AREA_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")
# [0-9], not \d: \d also matches full-width digits, which no phone can dial.
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE_RE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")

BAD_CODE_MESSAGE = _(
    "“%(value)s” is not a valid code "
    "(up to 32 letters, digits, - or _, starting with a letter or digit)"
)


def validate_area_code(value: str) -> None:
    if not AREA_CODE_RE.match(value or ""):
        raise ValidationError(
            BAD_CODE_MESSAGE,
            code="bad_code",
            params={"value": value},
        )


def normalize_phone(value: str) -> str:
    """Strip what spreadsheets add around a phone: spaces, a +86 prefix, a trailing '.0'."""
    value = (value or "").strip().replace(" ", "")
    if value.endswith(".0"):
        value = value[:-2]
    if value.startswith("+86"):
        value = value[3:]
    return value


def validate_phone(value: str) -> None:
    """A mainland mobile number (11 digits, 13x–19x) or a landline with its area code."""
    if not (MOBILE_RE.match(value or "") or LANDLINE_RE.match(value or "")):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number (11-digit mobile or 0xxx-xxxxxxx)"),
            code="bad_phone",
            params={"value": value},
        )


def validate_post_start(value) -> None:
    """A post counts from the day it is given; one that started in the future would hand
    over scope today."""
    if value > timezone.localdate():
        raise ValidationError(_("a post cannot start in the future"), code="future_start")


def validate_mobile(value: str) -> None:
    """A mainland mobile number only: what a resident gives to be called back."""
    if not MOBILE_RE.match(value or ""):
        raise ValidationError(
            _("“%(value)s” is not a mobile number (11 digits starting 13–19)"),
            code="bad_mobile",
            params={"value": value},
        )
