"""ID numbers and phones masked, on their own and inside free text.

Masking happens here and only here, so every page, export, admin list and log shows the
same shape: ``3****************4`` and ``138****1234`` -- in free text too
(``scrub_personal_numbers``). Ground floor: no app is imported; validating an ID number is
``residents.identity``'s.
"""

import re
import unicodedata


def mask_id_number(value: str) -> str:
    """``3****************4``: the first and the last character, nothing else.

    Why so few: the pages also show the gender, and the area code (the first six digits) is
    shared by most of a community, so what is left to guess is the birth date (positions
    7-14) and the sequence (15-17). The former ``3624**********1234`` gave away three of the
    four sequence digits and the check digit; with the birth date beside it about nine
    numbers remained, and three tries at the full-number search found the right one.

    The first digit names a region of provinces, which the community's own code already
    tells; the last is the check digit, which cuts the candidates by eleven. With the birth
    date shown only to those who may reveal the number (``residents.permissions.REVEAL``),
    a reader of this mask still faces some 36,500 birth dates × 500 sequences / 11, about
    1.6 million numbers, for anyone in the community -- and the full-number search is
    rate limited and logged. Showing the last two instead would give away one of the five
    sequence digits of that gender as well, narrowing five times more."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


_MASKED_ID_RE = re.compile(r"^([0-9])\*{16}([0-9X])$")


def masked_id_parts(term: str) -> tuple[str, str] | None:
    """(first, last) when ``term`` is an ID number's mask exactly as the pages show it, so a
    worker can search by what they see; None otherwise. Nothing longer is accepted: a
    search by a wider mask (the former ``3624**********1234``) would confirm digits the
    pages no longer show."""
    match = _MASKED_ID_RE.match((term or "").strip().upper())
    return (match[1], match[2]) if match else None


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """``张**``: a person's name but for its first character (a one-character name shows
    as ``*``)."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) < 2:
        return "*"
    return value[0] + "*" * (len(value) - 1)


# --- personal numbers inside free text ------------------------------------------------------

# Between two digit groups: nothing; up to three spaces (a tab counts); or one hyphen, dash,
# dot, slash or underscore with up to two spaces on either side (``147 - 0123 - 4567``).
# After NFKC the full-width forms and the ideographic space are these.
_SEP = r"(?:[ \t]{1,3}|[ \t]{0,2}[\-\u2010-\u2015\u2212./_][ \t]{0,2})?"
# Tried left to right at each place, the first that fits wins; none starts or ends inside a
# longer run of digits. Ordinary numbers (a room 301, a year 2024, 5000元, a date
# 2024-05-03, 2024.05.03, an amount 1,234.56, a time 10:30) fit none of them.
_NUMBER_IN_TEXT = re.compile(
    # An ID number: 18 (17 digits and a check digit or X), contiguous or grouped 6-8-4,
    # 6-4-4-4 or 4-4-4-4-2; grouped by threes only if it carries a birth date (below).
    rf"(?<!\d)(?P<id18>\d{{6}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{3}}[\dXx]"
    rf"|\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d[\dXx])(?!\d)"
    rf"|(?<!\d)(?P<id18by3>\d{{3}}(?:{_SEP}\d{{3}}){{4}}{_SEP}\d{{2}}[\dXx])(?!\d)"
    # A mobile: 11 digits from 13x to 19x, grouped 3-4-4, 4-3-4 or not, maybe after +86,
    # 0086, 86 or (+86).
    rf"|(?<!\d)(?:(?:\+|00)?86{_SEP}|\(\+?86\){_SEP})?"
    rf"(?P<mobile>1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}|1[3-9]\d\d{_SEP}\d{{3}}{_SEP}\d{{4}})(?!\d)"
    # An old ID number: 15 digits, contiguous or grouped 6-6-3.
    rf"|(?<!\d)(?P<id15>\d{{6}}{_SEP}\d{{6}}{_SEP}\d{{3}})(?!\d)"
    # A landline with its area code: 0794-1234567, 010 12345678, (0794)1234567.
    rf"|(?<!\d)(?P<landline>(?:0\d{{2,3}}|\(0\d{{2,3}}\)){_SEP}\d{{3,4}}{_SEP}\d{{4}})(?!\d)",
    re.ASCII,  # \d is 0-9: other scripts' digits are made ASCII first
)
_NOT_DIGIT = re.compile(r"[^0-9X]")
# Characters that show as nothing and would split a number so no pattern sees it.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_BIRTH_DATE_INSIDE = re.compile(r"^\d{6}(?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


def _nfkc_with_origins(text: str) -> tuple[str, list[int]]:
    """``text`` in NFKC, one character at a time, and for each character of the result the
    index of the character of ``text`` it came from. A decimal digit of any script that NFKC
    leaves alone (٣, ३) becomes its ASCII digit too; zero-width characters are dropped."""
    parts: list[str] = []
    origins: list[int] = []
    for i, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        normal = char if char.isascii() else unicodedata.normalize("NFKC", char)
        if len(normal) == 1 and not normal.isascii() and normal.isdecimal():
            normal = str(unicodedata.decimal(normal))
        parts.append(normal)
        origins.extend([i] * len(normal))
    return "".join(parts), origins


def _mask_match(match: re.Match) -> str:
    kind = match.lastgroup
    digits = _NOT_DIGIT.sub("", match.group(kind).upper())
    if kind in ("id18", "id18by3", "id15"):
        return mask_id_number(digits)
    return mask_phone(digits)


def scrub_personal_numbers(text: str) -> str:
    """``text`` with every ID number (18 or 15 digits), mobile and landline in it masked:
    ``3****************4``, ``3*************3``, ``138****8000``, ``079****4567``.

    Numbers are found in the NFKC form of the text with zero-width characters dropped, so
    full-width digits (``１３８…``), the full-width hyphen and the ideographic space count as
    their ASCII selves and a U+200B inside a number hides nothing; spaces, hyphens, dots,
    slashes or underscores between the usual groups (``138 0013 8000``, ``147.0123.4567``,
    ``362401/19900101/123x``, ``369 921 199 108 240 236``) and a +86 / 0086 / 86 before a
    mobile are read through. A masked number replaces the whole span it was written in
    (country code and separators included); everything else is returned exactly as given
    (full-width punctuation stays full-width)."""
    if not text:
        return text or ""
    normal, origins = (text, None) if text.isascii() else _nfkc_with_origins(text)
    pieces: list[str] = []
    done = 0  # how much of ``text`` has been copied
    for match in _NUMBER_IN_TEXT.finditer(normal):
        if match.lastgroup == "id18by3" and not _BIRTH_DATE_INSIDE.match(
            _NOT_DIGIT.sub("", match.group("id18by3"))
        ):
            continue  # six groups of three without a birth date: a list of numbers
        start, end = match.span()
        if origins is not None:
            start, end = origins[start], origins[end - 1] + 1
        pieces += [text[done:start], _mask_match(match)]
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)
