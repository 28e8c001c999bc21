"""Reads of households and residents, always through the user's scope.

``households_visible_to``/``residents_visible_to`` are the only way lists, exports, imports
and searches reach these tables; ``get_household_for_user``/``get_resident_for_user`` fetch
and authorise in one step (404 out of scope, 403 for a role that may not).
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from grids.access import Scope, scope_for
from grids.models import Area
from grids.rules import AreaKind
from grids.selectors import area_subtree_q, count_by_key
from residents.models import Household, Resident, Visit
from residents.permissions import REVEAL, may_see_care_tags, role_may, roles_allowed


def households_visible_to(user) -> QuerySet[Household]:
    return Household.objects.filter(scope_for(user).area_q("area__"))


def residents_visible_to(user) -> QuerySet[Resident]:
    return Resident.objects.filter(scope_for(user).area_q("household__area__"))


def care_tags_q(user, prefix: str = "household__area__") -> Q:
    """The part of ``user``'s scope where residents' care tags may be seen, filtered on and
    exported (``permissions.may_see_care_tags``)."""
    return scope_for(user).area_q(prefix, roles=roles_allowed(REVEAL))


def care_tags_shown(user, residents) -> list[Resident]:
    """Sets ``shown_care_tags`` on each of ``residents`` (their ``household.area`` loaded):
    the resident's tags where ``user`` may see them, None where not. One query for the tags
    of those shown; the others' tags are never read."""
    residents = list(residents)
    scope = scope_for(user)
    shown = [r for r in residents if may_see_care_tags(scope.role_for(r.household.area))]
    tags: dict[int, list] = {r.pk: [] for r in shown}
    if shown:
        through = Resident.care_tags.through.objects.filter(resident_id__in=list(tags))
        for row in through.select_related("caretag").order_by("caretag__pk"):
            tags[row.resident_id].append(row.caretag)
    for resident in residents:
        resident.shown_care_tags = tags.get(resident.pk)
    return residents


def _authorise(scope: Scope, area: Area, action: str) -> None:
    if not role_may(scope.role_for(area), action):
        raise PermissionDenied


def get_household_for_user(user, pk, action: str) -> Household:
    household = (
        households_visible_to(user).select_related("area").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if household is None:
        raise Http404
    _authorise(scope_for(user), household.area, action)
    return household


def get_resident_for_user(user, pk, action: str) -> Resident:
    resident = (
        residents_visible_to(user).select_related("household__area").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if resident is None:
        raise Http404
    _authorise(scope_for(user), resident.household.area, action)
    return resident


def grid_coverage(user, *, root: Area | None = None, days: int = 30, now=None) -> QuerySet[Area]:
    """Every grid in the user's scope (or under ``root``) with its households, those visited in
    the last ``days`` days and those with a member in the online group. One query: a few
    index counts per grid listed."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    grids = Area.objects.filter(scope_for(user).area_q(), kind=AreaKind.GRID)
    if root is not None:
        grids = grids.filter(area_subtree_q(root))
    recent = Visit.objects.filter(
        household=OuterRef("pk"), visited_at__gte=since, visited_at__lte=now
    )
    visited = Household.objects.filter(Exists(recent))
    # Each grid's households through their ancestor key (index ``household_grid``).
    return grids.order_by("tree_id", "lft").annotate(
        household_count=count_by_key(Household.objects.all(), "grid_id"),
        visited_count=count_by_key(visited, "grid_id"),
        online_count=count_by_key(Household.objects.filter(in_online_group=True), "grid_id"),
    )


def households_not_visited(user, *, grid: Area, days: int = 30, now=None) -> QuerySet[Household]:
    """The households of ``grid`` in the user's scope that nobody visited in the last
    ``days`` days, each with its last visit before ``now`` (``last_visited_at``, None when
    never) and its householders (``heads``, a list). One query for the households: the
    grid's through their key (index ``household_grid``), the last visit of each one index
    lookup on ``visit_household_at``; and one for the householders of a page."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    last = (
        Visit.objects.filter(household=OuterRef("pk"), visited_at__lte=now)
        .order_by("-visited_at")
        .values("visited_at")[:1]
    )
    heads = Resident.objects.filter(is_householder=True).order_by("pk")
    return (
        households_visible_to(user)
        .filter(grid_id=grid.pk)
        .annotate(last_visited_at=Subquery(last))
        .filter(Q(last_visited_at__lt=since) | Q(last_visited_at__isnull=True))
        .select_related("area")
        .prefetch_related(Prefetch("residents", queryset=heads, to_attr="heads"))
        .order_by("area__tree_id", "area__lft", "door", "pk")
    )
