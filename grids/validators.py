import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.numbers import MOBILE_RE, phone_normalise

AREA_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")
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
    """A phone as the portal stores it, from what was typed around it: full-width digits,
    spaces, hyphens, dots, +86/0086/86, a trailing '.0' (``core.numbers.phone_normalise``)."""
    return phone_normalise(value)


def _phone_problem(value: str) -> str | None:
    """What is specifically wrong with a phone that is not valid, when something can be
    said: its digit count, or a country other than China."""
    if value.startswith("+") or value.startswith("00"):
        return _("“%(value)s” is not a mainland China number (+86)")
    if value.isascii() and value.isdigit() and value.startswith("1") and len(value) != 11:
        return _("“%(value)s” has %(count)s digits; a mobile number has 11")
    return None


def validate_phone(value: str) -> None:
    """A mainland mobile number (11 digits, 13x–19x) or a landline with its area code."""
    if not (MOBILE_RE.match(value or "") or LANDLINE_RE.match(value or "")):
        raise ValidationError(
            _phone_problem(value or "")
            or _("“%(value)s” is not a valid phone number (11-digit mobile or 0xxx-xxxxxxx)"),
            code="bad_phone",
            params={"value": value, "count": len(value or "")},
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
            _phone_problem(value or "")
            or _("“%(value)s” is not a mobile number (11 digits starting 13–19)"),
            code="bad_mobile",
            params={"value": value, "count": len(value or "")},
        )
