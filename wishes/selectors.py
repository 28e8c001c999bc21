"""Reads of wishes, each scoped: a worker's wish list (their scope's wishes), a claimer's
wishes near them (``rules`` says what near means), a resident's own wishes, and the counts
per grid and community for the dashboard and the digests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from core.keyset import keyset_page
from deliberation import rules as proposal_rules
from deliberation.models import Proposal
from deliberation.selectors import proposals_visible_to
from grids import rules as grid_rules
from grids.access import scope_for
from grids.models import Area, Person
from grids.selectors import area_ancestors, keyed_subtree_q
from residents.models import PartyMember, ResidentAccount, VolunteerTeam
from wishes import rules
from wishes.models import Outcome, State, Wish, WishPhoto

S = State


# --- claimers ------------------------------------------------------------------------------------


def claimer_areas(person: Person | None) -> list[Area]:
    """Where ``person`` may claim wishes: the community they registered at as a Party member
    (双报到) and the areas of the volunteer teams they are in. Two queries."""
    if person is None:
        return []
    areas = list(
        Area.objects.filter(
            pk__in=PartyMember.objects.filter(person=person, registered_area__isnull=False).values(
                "registered_area_id"
            )
        )
    )
    areas += list(
        Area.objects.filter(
            pk__in=VolunteerTeam.objects.filter(members=person).values("area_id")
        ).exclude(pk__in=[a.pk for a in areas])
    )
    return areas


def is_claimer(person: Person | None) -> bool:
    """A Party member registered at a community, or a volunteer: someone who claims wishes."""
    return bool(claimer_areas(person))


def _holds(area: Area, wish: Wish) -> bool:
    """Whether ``wish``'s place lies under ``area`` (no query: the wish's ancestor keys, or
    the tree range below the grid)."""
    key = grid_rules.KEY_OF_KIND.get(area.kind)
    if key is not None:
        return getattr(wish, f"{key}_id") == area.pk
    place = wish.area
    return place.tree_id == area.tree_id and area.lft <= place.lft <= area.rght


def person_may_claim(person: Person, wish: Wish) -> bool:
    return any(_holds(area, wish) for area in claimer_areas(person))


def near_q(areas: list[Area]) -> Q:
    q = Q(pk__in=[])
    for area in areas:
        q |= keyed_subtree_q(area)
    return q


def _listed(rows: QuerySet) -> QuerySet:
    return rows.select_related("area", "claimer", "fulfiller", "account", "resident", "proposal")


def open_near(person: Person, areas: list[Area] | None = None) -> QuerySet[Wish]:
    """The open wishes near ``person``, soonest wanted first, their own left out."""
    areas = claimer_areas(person) if areas is None else areas
    rows = Wish.objects.filter(near_q(areas), state=S.OPEN).exclude(resident__person=person)
    return _listed(rows).order_by("wanted_by", "created_at", "pk")


def claims_of(person: Person) -> QuerySet[Wish]:
    """What ``person`` has in hand (claimed) and what they fulfilled, newest first."""
    rows = Wish.objects.filter(Q(claimer=person) | Q(fulfiller=person))
    return _listed(rows).order_by("-updated_at", "-pk")


def get_wish_for_claimer(person: Person | None, pk) -> Wish:
    """A wish ``person`` may act on as a claimer: open and near them, or claimed or fulfilled
    by them. 404 otherwise, whether it exists or not."""
    if person is None or not str(pk).isdigit():
        raise Http404
    areas = claimer_areas(person)
    if not areas:
        raise Http404
    wish = (
        _listed(Wish.objects.filter(pk=int(pk)))
        .filter((near_q(areas) & Q(state=S.OPEN)) | Q(claimer=person) | Q(fulfiller=person))
        .first()
    )
    if wish is None:
        raise Http404
    return wish


# --- residents -----------------------------------------------------------------------------------


def own_wishes(account: ResidentAccount) -> QuerySet[Wish]:
    """A resident's wishes: posted on their account, or posted for them by a worker with
    their mobile number (which they proved by signing in)."""
    return Wish.objects.filter(
        Q(account=account) | Q(account__isnull=True, for_phone=account.phone)
    )


def own_wishes_page(account: ResidentAccount, number, *, size: int = 20):
    rows = _listed(own_wishes(account))
    page_number = int(number) if str(number or "").isdigit() else 1
    return keyset_page(rows, order="-created_at", size=size, number=page_number)


def get_own_wish(account: ResidentAccount, pk) -> Wish:
    if not str(pk).isdigit():
        raise Http404
    wish = _listed(own_wishes(account)).filter(pk=int(pk)).first()
    if wish is None:
        raise Http404
    return wish


# --- workers -------------------------------------------------------------------------------------


def wishes_visible_to(user) -> QuerySet[Wish]:
    """The wishes of the user's scope held through a role that lists them. No query beyond the
    scope."""
    return Wish.objects.filter(scope_for(user).keyed_q(roles=rules.roles_allowed(rules.LIST)))


def may_list(user) -> bool:
    return any(rules.role_may(role, rules.LIST) for role in scope_for(user).roles)


def get_wish_for_user(user, pk) -> Wish:
    """The wish if it lies in the user's scope; 404 whether it is missing or out of it."""
    if not str(pk).isdigit():
        raise Http404
    wish = _listed(wishes_visible_to(user)).filter(pk=int(pk)).first()
    if wish is None:
        raise Http404
    return wish


@dataclass
class ListFilters:
    state: str = ""
    outcome: str = ""
    area: Area | None = None


def wish_list_page(user, filters: ListFilters, *, number=None, size: int = 25):
    """One numbered page of the user's wish list (心愿清单), newest first, filtered by state,
    outcome and place. Three queries at most after the scope (``core.keyset``)."""
    rows = wishes_visible_to(user)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.outcome:
        rows = rows.filter(outcome=filters.outcome)
    if filters.area is not None:
        rows = rows.filter(keyed_subtree_q(filters.area))
    page_number = int(number) if str(number or "").isdigit() else 1
    return keyset_page(_listed(rows), order="-created_at", size=size, number=page_number)


# --- the renovation plan (纳入改造): the proposal a wish goes into ------------------------------


def covering_areas(wish: Wish) -> list[Area]:
    """The places a renovation plan for ``wish`` may be put on: its place and those above
    it, up to the community, that take proposals (``deliberation.rules``). One query."""
    chain = area_ancestors(wish.area, include_self=True)
    return [a for a in chain if a.kind in proposal_rules.PROPOSAL_AREA_KINDS]


def plan_proposals(user, wish: Wish, areas: list[Area] | None = None) -> QuerySet[Proposal]:
    """The proposals ``user`` sees that a wish may go into: not yet closed (drafts, under
    discussion, being voted on), on the wish's place or a place above it. Newest first."""
    areas = covering_areas(wish) if areas is None else areas
    return (
        proposals_visible_to(user)
        .filter(area_id__in=[a.pk for a in areas])
        .exclude(state=Proposal.State.CLOSED)
        .select_related("area")
        .order_by("-created_at", "-pk")
    )


def draft_areas(user, wish: Wish, areas: list[Area] | None = None) -> list[Area]:
    """Of the places covering ``wish``, those where ``user`` may draft a proposal. No query
    beyond the scope."""
    areas = covering_areas(wish) if areas is None else areas
    scope = scope_for(user)
    return [a for a in areas if proposal_rules.role_may(scope.role_for(a), proposal_rules.MANAGE)]


def photos_of(wish: Wish) -> QuerySet[WishPhoto]:
    return WishPhoto.objects.filter(wish=wish).order_by("pk")


def get_photo(wish: Wish, photo_pk) -> WishPhoto:
    photo = photos_of(wish).filter(pk=photo_pk).first() if str(photo_pk).isdigit() else None
    if photo is None:
        raise Http404
    return photo


# --- counts per grid and community -----------------------------------------------------------


COUNT_NAMES = (
    "posted",
    "claimed",
    "fulfilled",
    "confirmed",
    "open",
    "done_at_once",
    "renovation",
    "explained",
)


def _aggregates() -> dict:
    return {
        "posted": Count("pk"),
        # Claimed at least once (Guangchang's "认领微心愿1894条"), whatever happened next.
        "claimed": Count("pk", filter=Q(claimed_at__isnull=False)),
        "fulfilled": Count("pk", filter=Q(fulfilled_at__isnull=False)),
        "confirmed": Count("pk", filter=Q(state=S.CONFIRMED)),
        "open": Count("pk", filter=Q(state__in=rules.OPEN_STATES)),
        "done_at_once": Count("pk", filter=Q(outcome=Outcome.DONE_AT_ONCE)),
        "renovation": Count("pk", filter=Q(outcome=Outcome.RENOVATION)),
        "explained": Count("pk", filter=Q(outcome=Outcome.EXPLAINED)),
    }


@dataclass
class WishCounts:
    """The wishes posted in a scope (and period), per community and per grid: each row a
    dict with ``area`` (the Area) and the ``COUNT_NAMES``. ``total`` sums the communities."""

    communities: list[dict] = field(default_factory=list)
    grids: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=dict)


def wish_counts(
    *,
    user=None,
    area: Area | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    per_grid: bool = True,
) -> WishCounts:
    """Posted / claimed / fulfilled / confirmed / still open and the wish list's outcomes
    (done at once, renovation plan, explained) of the wishes posted in ``[since, until)``,
    per community and per grid: of ``area``'s subtree, or of ``user``'s scope (both: the
    part of the area in the scope). Three queries, whatever the number of wishes or places:
    one grouped count per level (on the ancestor-key indexes) and one for the places' names;
    two without the grids (``per_grid`` False)."""
    rows = Wish.objects.all()
    if user is not None:
        rows = rows.filter(scope_for(user).keyed_q(roles=rules.roles_allowed(rules.LIST)))
    if area is not None:
        rows = rows.filter(keyed_subtree_q(area))
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    rows = rows.order_by()
    by_community = list(
        rows.filter(community__isnull=False).values("community_id").annotate(**_aggregates())
    )
    # ``per_grid`` False: a district's or street's reader needs the communities only.
    by_grid = (
        list(rows.filter(grid__isnull=False).values("grid_id").annotate(**_aggregates()))
        if per_grid
        else []
    )
    ids = {r["community_id"] for r in by_community} | {r["grid_id"] for r in by_grid}
    areas = Area.objects.in_bulk(ids) if ids else {}

    def rows_of(found, key):
        out = []
        for row in found:
            place = areas.get(row.pop(key))
            if place is not None:
                out.append({"area": place, **row})
        return sorted(out, key=lambda r: (r["area"].tree_id, r["area"].lft))

    counts = WishCounts(
        communities=rows_of(by_community, "community_id"), grids=rows_of(by_grid, "grid_id")
    )
    counts.total = {name: sum(r[name] for r in counts.communities) for name in COUNT_NAMES}
    return counts


def renovation_plan_counts(*, user=None, area: Area | None = None) -> dict[str, int]:
    """Of the wishes put into the renovation plan (纳入改造) in ``user``'s scope (and
    ``area``'s subtree): how many, how many went into a proposal put to the households, and
    how many of those passed or failed the vote. For the dashboard and the digest. One
    query."""
    rows = Wish.objects.filter(outcome=Outcome.RENOVATION)
    if user is not None:
        rows = rows.filter(scope_for(user).keyed_q(roles=rules.roles_allowed(rules.LIST)))
    if area is not None:
        rows = rows.filter(keyed_subtree_q(area))
    return rows.order_by().aggregate(
        planned=Count("pk"),
        in_proposal=Count("pk", filter=Q(proposal__isnull=False)),
        passed=Count("pk", filter=Q(proposal__outcome=Proposal.Outcome.PASSED)),
        failed=Count("pk", filter=Q(proposal__outcome=Proposal.Outcome.FAILED)),
    )
