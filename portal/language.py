"""The language switch: Django's ``set_language``, with the page to go back to read in the
language its own path carries.

The portal's URLs carry the language in a prefix for English only (``/en/tickets/``; Chinese,
the default, has none). The switch itself lives at ``/i18n/setlang/``, outside the prefixed
patterns, where Django activates the default language; Django's view then cannot resolve the
English ``next`` path and sends the user back to it unchanged: whoever picked English could
not get back to Chinese. Resolving ``next`` in its own language lets Django translate it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils import translation
from django.views.i18n import set_language as django_set_language


def set_language(request):
    next_url = request.POST.get("next", request.GET.get("next", ""))
    language = translation.get_language_from_path(urlsplit(next_url).path)
    if not language:
        return django_set_language(request)
    with translation.override(language):
        return django_set_language(request)
