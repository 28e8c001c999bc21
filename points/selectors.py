"""Scoped reads of the ledger, the balances and the reward items. Each returns a queryset or a
value built in a fixed number of queries, whatever the size of the scope."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from core.keyset import COUNT_CAP, KeysetPage
from grids.access import scope_for
from grids.models import Area, Person
from grids.rules import AreaKind
from grids.selectors import area_keys_of
from points import permissions as perm
from points.models import GoodDeed, PointBalance, PointEntry, RedemptionRequest, RewardItem
from points.services import COMMUNITY_KINDS

BELOW_COMMUNITY = frozenset({AreaKind.COMPOUND, AreaKind.GRID, AreaKind.BUILDING, AreaKind.UNIT})


def balances_visible_to(user) -> QuerySet[PointBalance]:
    """The balances of the people counted (by their home) in ``user``'s scope, through the
    home's ancestor keys: one indexed column per grant."""
    scope = scope_for(user)
    return PointBalance.objects.filter(
        scope.keyed_q(roles=perm.roles_allowed(perm.VIEW)), area__isnull=False
    )


# Most earned first; ties by the balance (who has spent less), then by who started saving
# first. The order of the ``point_ranking_*`` indexes: the top of a district's (a street's, a
# community's, a grid's, the city's) ranking is read from one, not sorted out of the scope.
RANKING_ORDER = ("-earned", "-balance", "pk")
RANKED_CAP = COUNT_CAP  # the ranking lists its top 1,000; a name or a place narrows it


def ranking(user, *, community: Area | None = None) -> QuerySet[PointBalance]:
    """The ranking by points earned in the scope (or one community of it), in
    ``RANKING_ORDER``. The person and the home ride along (one query a page)."""
    rows = balances_visible_to(user)
    if community is not None:
        rows = rows.filter(community_id=community.pk)
    return rows.select_related("person", "area").order_by(*RANKING_ORDER)


class RankingPage(KeysetPage):
    """A numbered page of a ranking's top ``RANKED_CAP`` rows: ``count`` is capped as a
    keyset list's (``more than 1,000``), the pages stop at the cap."""

    @property
    def count_capped(self) -> bool:
        return self.count > RANKED_CAP

    @property
    def count_cap(self) -> int:
        return RANKED_CAP

    @property
    def num_pages(self) -> int:
        return max(1, -(-min(self.count, RANKED_CAP) // self.size))

    @property
    def first_rank(self) -> int:
        return (self.number - 1) * self.size + 1


def ranking_page(rows: QuerySet[PointBalance], *, number=None, size: int = 25) -> RankingPage:
    """Page ``number`` (1 when missing or not a number; the last within the cap when past
    it) of a ranking (``ranking``, filtered as wanted). Two queries: the count, capped, and
    the page's rows, both within the top ``RANKED_CAP`` of the ranking's index."""
    count = rows.order_by()[: RANKED_CAP + 1].count()
    last = max(1, -(-min(count, RANKED_CAP) // size))
    number = int(number) if str(number or "").isdigit() else 1
    number = min(max(number, 1), last)
    offset = (number - 1) * size
    found = list(rows[offset : min(offset + size, RANKED_CAP)])
    return RankingPage(
        object_list=found,
        size=size,
        count=count,
        is_first=number == 1,
        number=number,
        next_cursor="" if number < last else None,
        previous_cursor="" if number > 1 else None,
    )


def get_balance_for_user(user, person_pk: int) -> PointBalance:
    """The balance (and person) of ``person_pk`` if counted in ``user``'s scope; 404 if the
    person is missing or counted elsewhere."""
    row = (
        balances_visible_to(user)
        .select_related("person", "area")
        .filter(person_id=person_pk)
        .first()
    )
    if row is None:
        raise Http404
    return row


def entries_of(person: Person) -> QuerySet[PointEntry]:
    """A person's ledger, newest first, with what each line needs to be shown."""
    return (
        PointEntry.objects.filter(person=person)
        .select_related("rule", "item", "actor__person", "area")
        .order_by("-at", "-pk")
    )


def communities_visible_to(user, action: str = perm.VIEW) -> QuerySet[Area]:
    """The communities and villages of the scope where ``action`` is allowed."""
    scope = scope_for(user)
    return Area.objects.filter(
        scope.area_q(roles=perm.roles_allowed(action)), kind__in=COMMUNITY_KINDS
    ).order_by("tree_id", "lft")


def reward_items_visible_to(user) -> QuerySet[RewardItem]:
    """The reward items of the communities in ``user``'s scope, and of the community above
    a head's grid, building or unit (what the residents they serve can redeem)."""
    scope = scope_for(user)
    roles = perm.roles_allowed(perm.VIEW)
    below = [g.area_id for g in scope.grants if g.role in roles and g.kind in BELOW_COMMUNITY]
    above = [keys["community_id"] for keys in area_keys_of(below).values()] if below else []
    q = scope.area_q(prefix="community__", roles=roles)
    # An empty Q() is every row (an administrator's scope); OR-ing a filter to it would
    # drop it and keep only the filter, so the superuser saw no reward item at all.
    if above and q:
        q |= Q(community_id__in=above)
    return RewardItem.objects.filter(q).select_related("community")


def get_reward_item_for_user(user, pk: int) -> RewardItem:
    item = reward_items_visible_to(user).filter(pk=pk).first()
    if item is None:
        raise Http404
    return item


def reward_items_of(community_id: int | None, *, offered_only: bool = True) -> list[RewardItem]:
    """A community's reward items, cheapest first (the resident's page, the redeem form)."""
    if community_id is None:
        return []
    rows = RewardItem.objects.filter(community_id=community_id)
    if offered_only:
        rows = rows.filter(active=True)
    return list(rows.order_by("cost", "name", "pk"))


def points_figures(*, scope_community_ids, since: dt.datetime, until: dt.datetime) -> dict:
    """For the dashboard and the monthly digest: per community of ``scope_community_ids``,
    the points earned (awards, savings, manual entries, net of reversals), redeemed, the
    good deeds registered and the people saving, from ``since`` to ``until``. Two queries
    (the ledger by community through its index, the good deeds)."""
    ids = sorted(set(scope_community_ids))
    rows = (
        PointEntry.objects.filter(community_id__in=ids, at__gte=since, at__lt=until)
        .values("community_id")
        .annotate(
            earned=Sum("amount", filter=~Q(kind=PointEntry.Kind.REDEMPTION), default=0),
            redeemed=Sum("amount", filter=Q(kind=PointEntry.Kind.REDEMPTION), default=0),
            savers=Count("person", distinct=True, filter=Q(kind=PointEntry.Kind.SAVING)),
        )
    )
    figures = {pk: {"earned": 0, "redeemed": 0, "savers": 0, "good_deeds": 0} for pk in ids}
    for row in rows:
        figures[row["community_id"]].update(
            earned=row["earned"], redeemed=-row["redeemed"], savers=row["savers"]
        )
    deeds = (
        GoodDeed.objects.filter(community_id__in=ids, created_at__gte=since, created_at__lt=until)
        .values("community_id")
        .annotate(n=Count("pk"))
    )
    for row in deeds:
        figures[row["community_id"]]["good_deeds"] = row["n"]
    return figures


def open_requests_of(person: Person) -> list[RedemptionRequest]:
    """A person's requests not yet answered, oldest first, with their items."""
    return list(
        RedemptionRequest.objects.filter(person=person, state=RedemptionRequest.State.REQUESTED)
        .select_related("item")
        .order_by("requested_at", "pk")
    )


def requests_of(person: Person, *, limit: int = 20) -> list[RedemptionRequest]:
    """A person's latest requests, newest first (the resident's page)."""
    return list(
        RedemptionRequest.objects.filter(person=person)
        .select_related("item")
        .order_by("-requested_at", "-pk")[:limit]
    )


def open_requests_visible_to(user) -> QuerySet[RedemptionRequest]:
    """The requests waiting for the reward items ``user`` sees (answered by those who keep
    the community's moral bank)."""
    return (
        RedemptionRequest.objects.filter(
            item__in=reward_items_visible_to(user).values("pk"),
            state=RedemptionRequest.State.REQUESTED,
        )
        .select_related("item__community", "person")
        .order_by("requested_at", "pk")
    )


def get_open_request_for_user(user, pk: int) -> RedemptionRequest:
    found = open_requests_visible_to(user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found
