"""最美三长 (Guangchang): the best unit head, building head and grid head of each community
for a month, by the points they earned in it and the residents' ratings of the problems
they solved. It reads the ledger (points) and the problems' ratings (issues), so it lives
here, above both.

The ordering, per community and post title, best first:

1. points earned in the month in that community: the sum of the person's ledger entries
   dated in it and placed there (awards,
   good deeds, manual entries; redemptions are spending, not earning, and an act undone
   counts neither its award nor its reversal);
2. residents' ratings: of the problems the person resolved in the month, how many the
   reporter rated satisfied or basically satisfied (more is better);
3. of those, fewer rated unsatisfied;
4. the name, then the person's id (a stable order for a tie).

A head is a person with a current post of that title on a node inside the community. Heads
who earned no points there that month are not listed: solving a problem at one's own level
and a resident's satisfied rating both earn points, so a head with satisfied residents is
among them.
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
from issues.models import Ticket, TicketEvent
from issues.rules import SATISFIED
from points.models import PointEntry

TITLES = (PostTitle.UNIT_HEAD, PostTitle.BUILDING_HEAD, PostTitle.GRID_HEAD)
# What is not earned in a month: spending, and an act undone — its award and its reversal
# both left out, also when the points were spent before and the reversal took back less.
NOT_EARNED = (
    Q(kind=PointEntry.Kind.REDEMPTION)
    | Q(kind=PointEntry.Kind.REVERSAL)
    | Q(kind=PointEntry.Kind.AWARD, reversed_by__isnull=False)
)
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
    title in ``month`` (see the module's ordering). Five queries whatever the number of
    communities and heads, each reading only the month's activity in them, never every head
    in post: the communities; who earned points there in the month (on the entries'
    community key) — only they can be listed; their posts; their points in the month; the
    ratings of the problems they resolved in it."""
    start, end = month_bounds(month)
    ids = sorted(set(scope_community_ids))
    communities = list(Area.objects.filter(pk__in=ids).order_by("tree_id", "lft"))
    if not communities:
        return []
    earners = set(
        PointEntry.objects.filter(community_id__in=ids, at__gte=start, at__lt=end)
        .exclude(NOT_EARNED)
        .order_by()
        .values_list("person_id", flat=True)
        .distinct()
    )
    people = sorted(earners)
    posts = (
        list(
            Post.objects.filter(person_id__in=people, title__in=TITLES, ended_on__isnull=True)
            .order_by("pk")
            .values_list(
                "person_id",
                "person__name",
                "person__user_id",
                "title",
                "area__name",
                "area__tree_id",
                "area__lft",
            )
        )
        if people
        else []
    )
    by_tree: dict[int, list[Area]] = {}
    for c in communities:
        by_tree.setdefault(c.tree_id, []).append(c)

    def community_of(tree_id: int, lft: int) -> Area | None:
        return next((c for c in by_tree.get(tree_id, ()) if c.lft < lft < c.rght), None)

    candidates: dict[tuple[int, str, int], Candidate] = {}
    users: dict[int, int] = {}
    for person_id, name, user_id, title, area_name, tree_id, lft in posts:
        community = community_of(tree_id, lft)
        if community is None:
            continue
        key = (community.pk, title, person_id)
        candidates.setdefault(key, Candidate(person_id, name, title, area_name))
        if user_id:
            users[user_id] = person_id
    person_ids = sorted({key[2] for key in candidates})
    # Points earned in each community: a head ranks in a community by what they earned there.
    points = (
        {
            (person, community): total
            for person, community, total in PointEntry.objects.filter(
                person_id__in=person_ids, community_id__in=ids, at__gte=start, at__lt=end
            )
            .exclude(NOT_EARNED)
            .values("person_id", "community_id")
            .annotate(total=Sum("amount"))
            .values_list("person_id", "community_id", "total")
        }
        if person_ids
        else {}
    )
    ratings = (
        {
            row["actor_id"]: row
            for row in TicketEvent.objects.filter(
                kind=TicketEvent.Kind.RESOLVE, actor_id__in=sorted(users), at__gte=start, at__lt=end
            )
            .values("actor_id")
            .annotate(
                satisfied=Count("ticket", distinct=True, filter=Q(ticket__rating__in=SATISFIED)),
                unsatisfied=Count(
                    "ticket", distinct=True, filter=Q(ticket__rating=Ticket.Rating.UNSATISFIED)
                ),
            )
        }
        if users
        else {}
    )
    person_ratings = {users[user_id]: row for user_id, row in ratings.items()}
    result = {c.pk: CommunityBest(community=c) for c in communities}
    for (community_id, title, person_id), candidate in candidates.items():
        candidate.points = points.get((person_id, community_id), 0) or 0
        rated = person_ratings.get(person_id)
        if rated:
            candidate.satisfied, candidate.unsatisfied = rated["satisfied"], rated["unsatisfied"]
        if candidate.points <= 0 and not candidate.satisfied:
            continue
        best = result[community_id].best.get(title)
        if best is None or candidate.sort_key() < best.sort_key():
            result[community_id].best[title] = candidate
    return list(result.values())


def month_from(text: str) -> dt.date:
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        today = timezone.localdate()
        return dt.date(today.year, today.month, 1)
