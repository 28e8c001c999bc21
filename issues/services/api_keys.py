"""Keys for the intake channels that report through the Open311 API."""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from issues.models import ApiKey, Ticket


def _key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, channel: str) -> tuple[ApiKey, str]:
    """Make a key for one intake channel. Returns the row and the key, which is shown once
    and stored only as a hash."""
    if channel not in Ticket.Channel.values:
        raise ValidationError({"channel": _("unknown channel “%(c)s”") % {"c": channel}})
    raw = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name.strip() or channel, channel=channel, prefix=raw[:8], key_hash=_key_hash(raw)
    )
    return key, raw


def api_key_check(raw: str):
    """The active key matching ``raw``, or None."""
    if not raw:
        return None
    return ApiKey.objects.filter(key_hash=_key_hash(raw), active=True).first()
