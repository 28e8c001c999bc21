"""Chinese resident ID numbers (GB 11643-1999): normalising, validating, and what the
number tells (birth date, gender). Masking numbers for display is ``core.privacy``'s.
"""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.numbers import id_number_normalise

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: full-width digits are not digits here


def normalize_id_number(value: str) -> str:
    """Full-width digits and Ｘ, a lower-case x, spaces, hyphens, dots and slashes taken
    away (``core.numbers.id_number_normalise``)."""
    return id_number_normalise(value)


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_birth_date(value: str) -> dt.date | None:
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def id_gender(value: str) -> str:
    """The 17th digit: odd for men, even for women."""
    return "M" if int(value[16]) % 2 else "F"


def validate_id_number(value: str) -> None:
    value = normalize_id_number(value)
    if len(value) != 18:
        raise ValidationError(
            _("an ID number has 18 characters, this one has %(n)s"),
            code="id_length",
            params={"n": len(value)},
        )
    if not _ID_RE.match(value):
        raise ValidationError(_("an ID number is 17 digits and a digit or X"), code="id_characters")
    birth = id_birth_date(value)
    if birth is None or not dt.date(1900, 1, 1) <= birth <= timezone.localdate():
        raise ValidationError(
            _("the birth date inside the ID number is not a real date"), code="id_birth_date"
        )
    if id_check_digit(value[:17]) != value[17]:
        raise ValidationError(_("the ID number's check digit is wrong"), code="id_checksum")
