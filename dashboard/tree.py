"""The tree browser's figures: for a node and its children, the registered households and the
open and overdue problems of their whole subtrees. They sit here, above grids, residents and
issues, because they read all three; grids itself knows only the tree."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from grids.models import Area
from grids.selectors import (
    area_children,
    area_subtree_q,
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
    ``overdue_count`` over its whole subtree: one query for all of them."""
    now = now or timezone.now()
    return area_children(area).annotate(
        household_count=count_in_subtree(Household.objects.all()),
        open_count=count_in_subtree(_open_tickets()),
        overdue_count=count_in_subtree(_open_tickets().filter(deadline__lt=now)),
        has_children=has_children_expr(),
    )


def area_totals(area: Area, *, now=None) -> dict[str, int]:
    """Registered households, open and overdue problems in ``area``'s subtree. Two queries."""
    now = now or timezone.now()
    households = Household.objects.filter(area_subtree_q(area, "area__")).count()
    tickets = _open_tickets().filter(keyed_subtree_q(area))
    counts = tickets.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(deadline__lt=now)))
    return {"households": households, "open": counts["open"], "overdue": counts["overdue"]}
