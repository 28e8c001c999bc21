"""The month's 最美三长 page (``/digests/best-heads/``): a month that is over is read from its
monthly digests, which keep each community's list (``digests.figures``); the month not yet
over is worked out (``dashboard.best_heads``). Here, above the digests, because it reads
them."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from dashboard.best_heads import (
    STREET_KINDS,
    Candidate,
    CommunityBest,
    best_heads,
    month_bounds,
    month_from,
)
from grids.models import Area
from points import permissions as perm
from points.selectors import communities_visible_to

from .models import Digest


def best_heads_kept(*, communities: list[Area], month: dt.date) -> list[CommunityBest] | None:
    """The month's list as its monthly digests keep it (``digests.figures``): for a month
    that is over, one query for the digests of those communities' streets that month,
    whatever the number of heads (a community whose street has none is worked out); None
    when none was built (then it is all worked out, ``best_heads``)."""
    start, _end = month_bounds(month)
    if start >= month_bounds(timezone.localdate())[0]:
        return None  # the month is not over: nothing kept yet
    # The streets' digests over these communities only (a street is the root of its tree).
    kept = list(
        Digest.objects.filter(
            kind=Digest.Kind.MONTHLY,
            period_start=month,
            node__kind__in=STREET_KINDS,
            node__tree_id__in=sorted({c.tree_id for c in communities}),
        ).values_list("node__tree_id", "figures__engagement")
    )
    if not kept:
        return None
    covered = {tree_id for tree_id, _rows in kept}
    stored = {
        row["code"]: row.get("best_heads") or [] for _t, rows in kept for row in rows or () if row
    }
    # A community whose street has no digest for the month is worked out, not left empty.
    missing = [c.pk for c in communities if c.tree_id not in covered]
    worked_out = {
        found.community.pk: found
        for found in (best_heads(scope_community_ids=missing, month=month) if missing else ())
    }
    result = []
    for community in communities:
        if community.pk in worked_out:
            result.append(worked_out[community.pk])
            continue
        best = CommunityBest(community=community)
        for candidate in filter(None, stored.get(community.code, ())):
            title = candidate["title"]
            fields = {k: candidate[k] for k in ("person_id", "name", "area_name")}
            best.best[title] = Candidate(
                **fields,
                title=title,
                points=candidate["points"],
                satisfied=candidate["satisfied"],
                unsatisfied=candidate["unsatisfied"],
            )
        result.append(best)
    return result


def last_month() -> dt.date:
    """The month the latest monthly digest (每月一调度) is about: the last one that is over."""
    first = timezone.localdate().replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


@login_required
@require_safe
def best_heads_page(request):
    """The month's 最美三长 of every community in the viewer's scope (``?month=2026-11``; the
    last month that is over by default, as the monthly digest)."""
    if not perm.user_may(request.user, perm.VIEW):
        raise PermissionDenied
    month = month_from(request.GET.get("month", "")) if request.GET.get("month") else last_month()
    communities = list(communities_visible_to(request.user)[:500])
    found = best_heads_kept(communities=communities, month=month)
    if found is None:
        found = best_heads(scope_community_ids=[c.pk for c in communities], month=month)
    return render(
        request,
        "digests/best_heads.html",
        {
            "month": month,
            "month_value": f"{month:%Y-%m}",
            "communities": found,
        },
    )
