"""最美三长 (Guangchang): the best unit head, building head and grid head of each community
for a month, by the points they earned in it and the residents' ratings of the problems
they solved, both read from the points ledger: a satisfied rating earns the solver
``rated_satisfied``, an unsatisfied one reopens the problem and reverses their
``problem_solved_own_level``. So the list reads only the month's ledger of the communities,
never every head in post nor every step of the month's problems.

The ordering, per community and post title, best first:

1. points earned in the month in that community: the sum of the person's ledger entries
   dated in it and placed there (awards, good deeds, manual entries; redemptions are
   spending, not earning, and an act undone counts neither its award nor its reversal);
2. residents' satisfied ratings of the problems they solved, that month (more is better);
3. fewer problems of theirs reopened by an unsatisfied rating, that month;
4. the name, then the person's id (a stable order for a tie).

A head is a person with a current post of that title on a node inside the community. Heads
who earned no points there that month are not listed.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Area, Post
from grids.rules import ANCESTOR_KEYS, PostTitle
from points.models import PointEntry

TITLES = (PostTitle.UNIT_HEAD, PostTitle.BUILDING_HEAD, PostTitle.GRID_HEAD)
# What is not earned in a month: spending, and an act undone — its award and its reversal
# both left out, also when the points were spent before and the reversal took back less.
NOT_EARNED = (
    Q(kind=PointEntry.Kind.REDEMPTION)
    | Q(kind=PointEntry.Kind.REVERSAL)
    | Q(kind=PointEntry.Kind.AWARD, reversed_by__isnull=False)
)
# Residents' ratings, read from the same ledger: a satisfied rating earns whoever solved the
# problem ``rated_satisfied`` (an award not undone); an unsatisfied one reopens it, which
# reverses the solver's ``problem_solved_own_level``.
SATISFIED_RATING = Q(
    kind=PointEntry.Kind.AWARD, rule__code="rated_satisfied", reversed_by__isnull=True
)
REOPENED = Q(kind=PointEntry.Kind.REVERSAL, rule__code="problem_solved_own_level")
STREET_KINDS = sorted(ANCESTOR_KEYS["street"])
TITLE_LABELS = {
    PostTitle.UNIT_HEAD: _("Best unit head"),
    PostTitle.BUILDING_HEAD: _("Best building head"),
    PostTitle.GRID_HEAD: _("Best grid head"),
}


@dataclass
class Candidate:
    person_id: int
    name: str
    title: str
    area_name: str
    points: int = 0
    satisfied: int = 0
    unsatisfied: int = 0

    def sort_key(self):
        return (-self.points, -self.satisfied, self.unsatisfied, self.name, self.person_id)

    def stored(self) -> dict:
        """As the monthly digest keeps it (plain JSON)."""
        return {
            "person_id": self.person_id,
            "name": self.name,
            "area_name": self.area_name,
            "points": self.points,
            "satisfied": self.satisfied,
            "unsatisfied": self.unsatisfied,
        }


@dataclass
class CommunityBest:
    community: Area
    best: dict = field(default_factory=dict)  # title → Candidate | None

    @property
    def rows(self):
        return [(TITLE_LABELS[title], self.best.get(title)) for title in TITLES]


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month's first moment and the next month's, in the portal's time zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime(month.year, month.month, 1, tzinfo=zone)
    days = calendar.monthrange(month.year, month.month)[1]
    return start, start + dt.timedelta(days=days)


def best_heads(*, scope_community_ids, month: dt.date) -> list[CommunityBest]:
    """For each community of ``scope_community_ids`` (in tree order), the best head of each
    title in ``month`` (see the module's ordering). Three queries whatever the number of
    communities and heads, each reading only the month's activity in them, never every head
    in post: the communities; the month's ledger there, per person (points earned, satisfied
    ratings, reopened problems — only those who earned can be listed); their posts."""
    start, end = month_bounds(month)
    ids = sorted(set(scope_community_ids))
    communities = list(Area.objects.filter(pk__in=ids).order_by("tree_id", "lft"))
    if not communities:
        return []
    ledger = {
        (row["person_id"], row["community_id"]): row
        for row in PointEntry.objects.filter(community_id__in=ids, at__gte=start, at__lt=end)
        .order_by()
        .values("person_id", "community_id")
        .annotate(
            points=Sum("amount", filter=~NOT_EARNED),
            satisfied=Count("pk", filter=SATISFIED_RATING),
            unsatisfied=Count("pk", filter=REOPENED),
        )
        if row["points"] and row["points"] > 0
    }
    # The posts of those who earned there, as a semi-join on the month's ledger (a list of
    # thousands of ids would be looked up one by one).
    earners = PointEntry.objects.filter(community_id__in=ids, at__gte=start, at__lt=end).values(
        "person_id"
    )
    posts = (
        Post.objects.filter(person_id__in=earners, title__in=TITLES, ended_on__isnull=True)
        .order_by("pk")
        .values_list(
            "person_id", "person__name", "title", "area__name", "area__tree_id", "area__lft"
        )
        if ledger
        else []
    )
    by_tree: dict[int, list[Area]] = {}
    for c in communities:
        by_tree.setdefault(c.tree_id, []).append(c)

    def community_of(tree_id: int, lft: int) -> Area | None:
        return next((c for c in by_tree.get(tree_id, ()) if c.lft < lft < c.rght), None)

    result = {c.pk: CommunityBest(community=c) for c in communities}
    for person_id, name, title, area_name, tree_id, lft in posts:
        community = community_of(tree_id, lft)
        row = ledger.get((person_id, community.pk)) if community is not None else None
        if row is None:
            continue  # a post elsewhere, or nothing earned in this community
        candidate = Candidate(
            person_id,
            name,
            title,
            area_name,
            points=row["points"],
            satisfied=row["satisfied"],
            unsatisfied=row["unsatisfied"],
        )
        best = result[community.pk].best.get(title)
        if best is None or candidate.sort_key() < best.sort_key():
            result[community.pk].best[title] = candidate
    return list(result.values())


def month_from(text: str) -> dt.date:
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        today = timezone.localdate()
        return dt.date(today.year, today.month, 1)
