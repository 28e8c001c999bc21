"""Reads of digests through the user's scope: a digest is readable by whoever's scope holds
its node."""

from django.db.models import QuerySet
from django.http import Http404

from grids.access import scope_for

from .models import Digest


def digests_visible_to(user) -> QuerySet[Digest]:
    return Digest.objects.filter(scope_for(user).area_q("node__"))


def get_digest_for_user(user, pk) -> Digest:
    """The digest, or 404 whether it is missing or its node is outside the user's scope."""
    digest = (
        digests_visible_to(user).select_related("node").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if digest is None:
        raise Http404
    return digest
