"""Phone and ID numbers as people type them, brought to the one form the portal stores.

A number arrives from a spreadsheet, a form, the resident pages or an Open311 client with
what people put around it: full-width digits from a Chinese input method (１３８…), spaces,
hyphens, dots or brackets between the groups, ``+86``/``0086``/``86`` in front, an ID
number's x in lower case or full width (Ｘ), a ``.0`` left by a reader that took the cell
for a number. ``phone_normalise`` and ``id_number_normalise`` take all of that away and
nothing else: a number that still is not valid comes out recognisably as typed, for the
validator to name what is wrong with it. Only ASCII digits count as digits afterwards
(``[0-9]``, never ``\\d``, which matches every script's digits).
"""

from __future__ import annotations

import re

# The full-width forms (U+FF01-FF5E) of ASCII, the ideographic space, and the dashes and
# minus signs that word processors put in place of a hyphen.
_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
_WIDTH.update({"\u3000": " ", "\u2212": "-", "\u30fc": "-"})
_WIDTH.update({chr(code): "-" for code in range(0x2010, 0x2016)})  # ‐ ‑ ‒ – — ―
_FOLD = str.maketrans(_WIDTH)
_SEPARATORS = re.compile(r"[\s\-.()/]")
_DIALLED = re.compile(r"^\+?[0-9]*\Z")
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}\Z")
_LANDLINE_DIGITS = re.compile(r"^0[0-9]{9,11}\Z")
_LANDLINE = re.compile(r"^0[0-9]{2,3}-[0-9]{7,8}\Z")
_INTERNATIONAL = ("+86", "0086")
_FLOAT_TAIL = re.compile(r"^\+?[0-9]+\.0\Z")


def fold_width(text: str) -> str:
    """``text`` with full-width ASCII, the ideographic space and typographic dashes made
    plain ASCII."""
    return text.translate(_FOLD)


def phone_normalise(raw: str | None) -> str:
    """A mainland mobile as its 11 digits, a landline as ``0AA-NNNNNNNN`` (area codes 010
    and 02x have three digits, the others four), whatever was around them. Anything else is
    returned folded and without separators, for the validator to refuse."""
    text = _without_float_tail(fold_width(raw or "").strip())
    return _phone(text)


def _without_float_tail(text: str) -> str:
    """``text`` without the ``.0`` a reader that took a number cell for a float wrote after
    its digits. Taken off before the dots count as separators: otherwise the 0 became a digit,
    and a mobile typed one digit short (1380013800.0) came out as a valid, different one."""
    return text[:-2] if _FLOAT_TAIL.match(text) else text


def _is_phone(number: str) -> bool:
    return bool(MOBILE_RE.match(number) or _LANDLINE.match(number))


def _phone(text: str) -> str:
    digits = _SEPARATORS.sub("", text)
    if not _DIALLED.match(digits):
        return text.replace(" ", "")
    for prefix in _INTERNATIONAL:
        if digits.startswith(prefix):
            national = digits[len(prefix) :]
            if MOBILE_RE.match(national):
                return national
            # Abroad a landline is dialled without its trunk 0 (+86 10 1234 5678).
            landline = national if national.startswith("0") else "0" + national
            return _landline(landline) or digits
    if digits.startswith("86") and MOBILE_RE.match(digits[2:]):
        return digits[2:]
    if MOBILE_RE.match(digits):
        return digits
    return _landline(digits) or digits


def _landline(digits: str) -> str:
    if not _LANDLINE_DIGITS.match(digits):
        return ""
    area = 3 if digits[1] in "12" else 4
    local = digits[area:]
    if not 7 <= len(local) <= 8:
        return ""
    return f"{digits[:area]}-{local}"


def id_number_normalise(raw: str | None) -> str:
    """An ID number's 18 characters, the check character X in upper case, without the
    spaces, hyphens, dots or slashes it was written with."""
    return _SEPARATORS.sub("", _without_float_tail(fold_width(raw or "").strip())).upper()
