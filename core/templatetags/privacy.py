"""``{% load privacy %}`` ``{{ text|scrub }}``: free text (descriptions, notes, reports,
comments, visit findings) with the phone and ID numbers in it masked, as every page shows
it. The text as written is seen only through a logged reveal."""

from django import template

from core.privacy import scrub_personal_numbers

register = template.Library()


@register.filter(is_safe=False)
def scrub(text) -> str:
    return scrub_personal_numbers("" if text is None else str(text))
