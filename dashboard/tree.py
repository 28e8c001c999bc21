"""The tree browser's figures: for a node and its children, the registered households and the
open and overdue problems of their whole subtrees. They sit here, above grids, residents and
issues, because they read all three; grids itself knows only the tree."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from grids.models import Area
from grids.rules import AreaKind
from grids.selectors import (
    area_children,
    area_keys,
    count_by_key,
    count_in_subtree,
    has_children_expr,
    keyed_subtree_q,
)
from issues.models import Ticket
from issues.rules import OPEN_STATES
from residents.models import Household


def _open_tickets() -> QuerySet[Ticket]:
    return Ticket.objects.filter(state__in=OPEN_STATES)


def area_children_with_counts(area: Area, *, now=None) -> QuerySet[Area]:
    """``area``'s children, each with ``household_count``, ``open_count`` and
    ``overdue_count`` over its whole subtree: one query for all of them.

    Children that are districts, streets, communities or grids are counted through the
    ancestor keys of households and problems (``AncestorKeys``): for each child an index
    count (``household_street_community`` for a street, the covering index of open problems
    by district and street), narrowed by the node's own keys. Other children (a grid's
    buildings, a community's compounds) by their nested-set range, small subtrees."""
    now = now or timezone.now()
    children = area_children(area)
    key = _children_key(area)
    if key is None:
        return children.annotate(
            household_count=count_in_subtree(Household.objects.all()),
            open_count=count_in_subtree(_open_tickets()),
            overdue_count=count_in_subtree(_open_tickets().filter(deadline__lt=now)),
            has_children=has_children_expr(),
        )
    within = {name: pk for name, pk in area_keys(area).items() if pk is not None}
    within = {name: pk for name, pk in within.items() if name != key}
    households = Household.objects.filter(**within)
    tickets = _open_tickets().filter(**within)
    return children.annotate(
        household_count=count_by_key(households, key),
        open_count=count_by_key(tickets, key),
        overdue_count=count_by_key(tickets.filter(deadline__lt=now), key),
        has_children=has_children_expr(),
    )


def _children_key(area: Area) -> str | None:
    """The key column that tells ``area``'s children apart, when they are all of one key
    kind (a city's districts, a district's streets, a street's communities)."""
    if area.kind == AreaKind.CITY:
        return "district_id"
    below = {
        AreaKind.DISTRICT: "street_id",
        AreaKind.STREET: "community_id",
        AreaKind.TOWN: "community_id",
    }
    return below.get(area.kind)


def area_totals(area: Area, *, now=None) -> dict[str, int]:
    """Registered households, open and overdue problems in ``area``'s subtree. Two queries."""
    now = now or timezone.now()
    households = Household.objects.filter(keyed_subtree_q(area)).count()
    tickets = _open_tickets().filter(keyed_subtree_q(area))
    counts = tickets.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(deadline__lt=now)))
    return {"households": households, "open": counts["open"], "overdue": counts["overdue"]}
