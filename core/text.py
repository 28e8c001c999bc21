"""Control characters in text that comes in, and in text that goes out as XML.

Intake refuses C0 and C1 control characters (and DEL): one of them in a description made
the public XML feed unreadable for every consumer. Multi-line text may hold tab, line feed
and carriage return; a single-line field none of them. Old rows from before the check are
made safe on the way out (``xml_text``), and error messages show a refused character as
its code point, never raw (``visible``)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

SINGLE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MULTI_LINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Characters XML 1.0 does not allow at all, plus the control characters it only tolerates.
NOT_FOR_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control character in ``text`` that intake refuses, or None."""
    found = (MULTI_LINE_CONTROL if multiline else SINGLE_LINE_CONTROL).search(text)
    return found.group() if found else None


def code_point(character: str) -> str:
    return f"U+{ord(character):04X}"


def visible(text: str) -> str:
    """``text`` with every control character shown as its code point, for messages that
    quote what a client sent."""
    return SINGLE_LINE_CONTROL.sub(lambda m: f"<{code_point(m.group())}>", text)


def xml_text(text: str) -> str:
    """``text`` without the characters an XML document may not carry."""
    return NOT_FOR_XML.sub("", text)


CONTROL_MESSAGE = _(
    "This text contains a control character (%(character)s), which is not allowed; "
    "remove it (it often comes along when text is copied from another program)."
)


@deconstructible
class NoControlCharacters:
    """A form field validator refusing the control characters of ``control_character``."""

    code = "control_character"

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, value) -> None:
        found = control_character(str(value), multiline=self.multiline)
        if found is not None:
            raise ValidationError(
                CONTROL_MESSAGE, code=self.code, params={"character": code_point(found)}
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline
