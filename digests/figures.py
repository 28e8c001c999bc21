"""The figures of the three digests, for every digest node of a run at once.

The cost does not grow with the number of nodes. One query loads the nodes that bucket the
figures (districts, streets/towns, communities/villages, grids) with their nested-set ranges;
then each figure comes from one query over the tickets (or visits, events, posts) of the whole
run, and every row is put in the buckets of the nodes over its place by bisecting those ranges
in Python — no query per node, and no ``CASE`` with one branch per node either (a city has
thousands of grids: that many branches would pass the databases' parameter limits).

* daily: 1 query (tickets touched during the day, flags computed in the database);
* weekly: 1 query (open tickets, and those reported, solved or reopened during the week),
  for every community (its rectification list, grid by grid) as for every street and
  district;
* monthly: 11 queries (tickets reported, solved, closed or reopened during the month; visits;
  people acting on tickets; heads in post; wishes, regular meetings, household votes and
  points, on their community keys; the month's 最美三长, ``dashboard.best_heads``). The
  median is taken in Python from the solved tickets' durations.

Only problems taken on count (``issues.rules.TAKEN_ON_STATES``): a declined report (受理/
核实 found it not ours, a duplicate merged into another problem, already solved, outside the
area) is in no digest — not in what came in, moved, was solved or is open, nor in the heads'
activity.

Figures are plain JSON (codes, names, numbers, ISO times); labels are added when rendered,
in the reader's language.
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.privacy import scrub_personal_numbers
from councils.models import Meeting
from councils.rules import State as MeetingState
from dashboard.best_heads import NOT_EARNED, best_heads
from dashboard.best_heads import TITLES as BEST_TITLES
from dashboard.figures import LEVEL_BANDS as DASHBOARD_BANDS
from dashboard.figures import percent, wilson_lower_bound
from deliberation.models import Proposal
from grids.models import Area, Post
from grids.rules import ANCESTOR_KEYS, KEY_OF_KIND, KIND_DEPTH, AreaKind
from grids.rules import PostTitle as T
from grids.selectors import PATH_SEPARATOR, area_subtree_q, keyed_subtree_q
from issues.models import Ticket, TicketEvent
from issues.rules import OPEN_STATES, SATISFIED, SOLVED_STATES, TAKEN_ON_STATES
from points.models import PointEntry
from residents.models import Visit
from wishes.models import Wish

from .models import Digest
from .periods import Period

E = TicketEvent.Kind
R = Ticket.Rating
K = Digest.Kind
SOURCE = Ticket.RatingSource

# Layers of the tree a figure is bucketed by; nodes of one layer never nest.
DISTRICT, STREET, COMMUNITY, GRID = "district", "street", "community", "grid"
# The layers are the problems' ancestor keys (``district_id`` … ``grid_id``).
LAYER_KINDS: dict[str, frozenset[str]] = ANCESTOR_KEYS
LAYER_OF_KIND = KEY_OF_KIND
# Which layers get a digest of each kind.
DIGEST_LAYERS = {
    K.DAILY: (COMMUNITY, GRID),
    # 每周一督促: the county office's list of every community, and each community its own
    # rectification list (整改清单).
    K.WEEKLY: (COMMUNITY, STREET, DISTRICT),
    K.MONTHLY: (STREET, DISTRICT),
}

# Where a solved problem was solved, in the dashboard's four bands of 小事不出网格、大事不出
# 社区、难事不出街道: grid (unit, building, grid), community, street, above (county office,
# departments).
LEVEL_BANDS: dict[str, tuple[str, ...]] = {band.key: band.levels for band in DASHBOARD_BANDS}
BAND_OF_LEVEL = {level: band for band, levels in LEVEL_BANDS.items() for level in levels}
# Heads counted for "heads' activity": everybody in post from the community down.
HEAD_TITLES = (
    T.COMMUNITY_SECRETARY,
    T.COMMUNITY_WORKER,
    T.ZONE_HEAD,
    T.GRID_HEAD,
    T.GRID_WORKER,
    T.BUILDING_HEAD,
    T.UNIT_HEAD,
)


# --- the nodes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    pk: int
    code: str
    name: str
    kind: str
    tree_id: int
    lft: int
    rght: int
    upper_id: int | None = None  # a tree root's node above (a street's district)

    @property
    def layer(self) -> str:
        return LAYER_OF_KIND[self.kind]

    def holds(self, tree_id: int, lft: int) -> bool:
        return tree_id == self.tree_id and self.lft <= lft <= self.rght

    def ref(self) -> dict:
        return {"code": self.code, "name": self.name}


class Forest:
    """The bucketing nodes of a run, and which of them holds a place. No query after
    ``load``. A place's street holds it by range (a street is the root of its own tree);
    the district above by the street's ``upper`` link."""

    def __init__(self, nodes: Iterable[Node]):
        self.nodes = sorted(nodes, key=lambda n: (n.tree_id, n.lft))
        self.by_pk = {n.pk: n for n in self.nodes}
        self._layers: dict[str, dict[int, tuple[list[int], list[Node]]]] = {}
        # Tree id → the loaded node its root hangs from; node pk → the roots hung below it.
        self._hung_from: dict[int, Node] = {}
        self._hanging: dict[int, list[Node]] = {}
        self._roots = {n.tree_id: n for n in self.nodes if n.lft == 1}
        for node in self.nodes:
            lfts, members = self._layers.setdefault(node.layer, {}).setdefault(
                node.tree_id, ([], [])
            )
            lfts.append(node.lft)
            members.append(node)
            above = self.by_pk.get(node.upper_id)
            if above is not None:
                self._hung_from[node.tree_id] = above
                self._hanging.setdefault(above.pk, []).append(node)

    @classmethod
    def load(cls, root: Area | None = None) -> Forest:
        """The nodes in ``root``'s subtree (everywhere without one). One query."""
        areas = Area.objects.filter(kind__in=list(LAYER_OF_KIND))
        if root is not None:
            areas = areas.filter(area_subtree_q(root))
        rows = areas.values_list("pk", "code", "name", "kind", "tree_id", "lft", "rght", "upper_id")
        return cls(Node(*row) for row in rows)

    def holder(self, layer: str, tree_id: int, lft: int) -> Node | None:
        """The node of ``layer`` whose subtree holds the place at (tree_id, lft)."""
        lfts, members = self._layers.get(layer, {}).get(tree_id, ((), ()))
        i = bisect.bisect_right(lfts, lft) - 1
        if i >= 0 and members[i].holds(tree_id, lft):
            return members[i]
        above = self._hung_from.get(tree_id)
        while above is not None:
            if above.layer == layer:
                return above
            above = self._hung_from.get(above.tree_id)
        return None

    def under(self, layer: str, node: Node) -> list[Node]:
        """The nodes of ``layer`` in ``node``'s subtree, in tree order (the trees hung below
        a district in the order of their ids)."""
        found = []
        ranges = [(node.tree_id, node.lft, node.rght)]
        while ranges:
            tree_id, lft, rght = ranges.pop(0)
            lfts, members = self._layers.get(layer, {}).get(tree_id, ([], []))
            first = bisect.bisect_left(lfts, lft)
            last = bisect.bisect_right(lfts, rght)
            found += members[first:last]
            root = self._roots.get(tree_id) if lft == 1 else None
            if root is not None:  # a whole tree: the trees hung below its root come next
                ranges += [(r.tree_id, r.lft, r.rght) for r in self._hanging.get(root.pk, [])]
        return found

    def digest_nodes(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.layer in DIGEST_LAYERS[kind]]

    def buckets(self, tree_id: int, lft: int) -> dict[str, Node | None]:
        return {layer: self.holder(layer, tree_id, lft) for layer in LAYER_KINDS}


def _iso(moment: dt.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment is not None else None


def _within(moment: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    return moment is not None and start <= moment < end


def _place(row: dict) -> str:
    """How a ticket's place is named in a list: a unit with its building ("1栋 1单元")."""
    if row["area__kind"] == AreaKind.UNIT and row["area__parent__name"]:
        return f"{row['area__parent__name']} {row['area__name']}"
    return row["area__name"]


# A place's own kind and name and those of the nodes up to three levels above it: enough to
# name it from below its community (a unit's building, grid and compound).
PATH_FIELDS = tuple(
    f"area__{'parent__' * up}{name}" for up in range(1, 4) for name in ("name", "kind")
)
BELOW_COMMUNITY = KIND_DEPTH[AreaKind.COMMUNITY]


def _path(row: dict) -> str:
    """A ticket's place from below its community down ("第1网格 › 1栋 › 1单元"), read from
    the ``PATH_FIELDS`` of its row; "" for a place at a community or above."""
    names = []
    for up in range(4):
        prefix = f"area__{'parent__' * up}"
        kind = row[f"{prefix}kind"]
        if kind is None or KIND_DEPTH.get(kind, 0) <= BELOW_COMMUNITY:
            break
        names.append(row[f"{prefix}name"])
    return PATH_SEPARATOR.join(reversed(names))


TICKET_FIELDS = (
    "pk",
    "state",
    "level",
    "created_at",
    "resolved_at",
    "deadline",
    "category__name",
    "area__name",
    "area__kind",
    "area__parent__name",
    "area__tree_id",
    "area__lft",
)


def _tickets(root: Area | None):
    """The problems taken on (declined reports left out), under ``root`` if given."""
    tickets = Ticket.objects.filter(state__in=TAKEN_ON_STATES)
    if root is not None:
        tickets = tickets.filter(keyed_subtree_q(root))
    return tickets.order_by()


# --- what the three digests share ------------------------------------------------------------


def _zero(names: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


def _add(counts: dict[str, int], flags: dict[str, bool]) -> None:
    for name, flag in flags.items():
        counts[name] += int(bool(flag))


def _count_in(figures: dict, flags: dict[str, bool], row: dict | None) -> None:
    """Count a ticket's flags in a node's totals, and in ``row`` of the node's table — or in
    its rest when the ticket is under none of the table's rows."""
    _add(figures["totals"], flags)
    _add(row if row is not None else figures["rest"], flags)


def _reported_between(start: dt.datetime, end: dt.datetime) -> Q:
    return Q(created_at__gte=start, created_at__lt=end)


def _solved_between(start: dt.datetime, end: dt.datetime) -> Q:
    """Solved in [start, end) and still solved."""
    return Q(state__in=SOLVED_STATES, resolved_at__gte=start, resolved_at__lt=end)


def _solved_within(row: dict, start: dt.datetime, end: dt.datetime) -> bool:
    """``_solved_between`` for a row already read."""
    return row["state"] in SOLVED_STATES and _within(row["resolved_at"], start, end)


def _reopened_between(start: dt.datetime, end: dt.datetime) -> Q:
    """The tickets reopened in [start, end)."""
    reopened = TicketEvent.objects.filter(kind=E.REOPEN, at__gte=start, at__lt=end)
    return Q(pk__in=reopened.values("ticket_id"))


def _reopens_between(
    start: dt.datetime, end: dt.datetime, *, by_reporter: bool = False
) -> Coalesce:
    """How many times the ticket was reopened in [start, end): a subquery to annotate with.
    ``by_reporter``: only the reopens a reporter's own rating caused (the resident pages, the
    tracking link), not those of a return call."""
    reopens = TicketEvent.objects.filter(
        ticket=OuterRef("pk"), kind=E.REOPEN, at__gte=start, at__lt=end
    )
    if by_reporter:
        reopens = reopens.filter(reporter__isnull=False)
    reopens = reopens.order_by().values("ticket_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(reopens, output_field=IntegerField()), Value(0))


def _street_name(forest: Forest, community: Node) -> str:
    street = forest.holder(STREET, community.tree_id, community.lft)
    return street.name if street else ""


def _community_row(forest: Forest, community: Node, figures: dict) -> dict:
    """A community's row in a street's or district's table: who it is, its street, then
    ``figures``."""
    return {**community.ref(), "street": _street_name(forest, community), **figures}


def _streets_and_communities(forest: Forest, node: Node) -> tuple[list[Node], list[Node]]:
    """The rows of a street's or district's tables, in tree order: the streets under it (a
    district's; none for a street) and the communities under it."""
    communities = forest.under(COMMUNITY, node)
    streets = forest.under(STREET, node) if node.layer == DISTRICT else []
    return streets, communities


# --- daily: what came in, what moved, what was solved, what became overdue ------------------

DAILY_COUNTS = ("new", "moved", "solved", "overdue")


def daily_figures(
    forest: Forest, period: Period, *, now: dt.datetime, root: Area | None = None
) -> dict[int, dict]:
    """The daily figures of every community and grid of ``forest``. One query.

    A ticket counts on the day when it was reported that day (*new*), when any step after its
    report happened that day (*moved*), when it was solved that day and still is (*solved*),
    and when it became overdue that day (*overdue*): the overdue sweep flagged it that day
    (its rectification event), or its deadline passed that day and it is still open, not yet
    flagged. A day being built before it ends is counted up to ``now`` (its ``as_of``)."""
    start = period.starts_at
    as_of = min(now, period.ends_at)
    rows = _daily_tickets(start, as_of, root)
    per_node = {n.pk: _daily_empty(forest, n, as_of) for n in forest.digest_nodes(K.DAILY)}
    parts_of = {pk: {p["code"]: p for p in f["parts"]} for pk, f in per_node.items()}
    for row in rows:
        flags = _daily_flags(row, start, as_of)
        if not any(flags.values()):
            continue  # only its report event fell in the day, yet it was reported before
        where = forest.buckets(row["area__tree_id"], row["area__lft"])
        grid, community = where[GRID], where[COMMUNITY]
        item = _daily_item(row, grid, flags)
        for node in (community, grid):
            if node is None or node.pk not in per_node:
                continue
            figures = per_node[node.pk]
            figures["tickets"].append(item)
            if node.layer == COMMUNITY:
                _count_in(figures, flags, parts_of[node.pk].get(grid.code) if grid else None)
            else:
                _add(figures["totals"], flags)
    return per_node


def _daily_tickets(start: dt.datetime, as_of: dt.datetime, root: Area | None):
    """The tickets that may count on the day, up to ``as_of``, with whether a step after the
    report (*moved*) or the overdue sweep (*flagged*) fell in it."""
    that_day = TicketEvent.objects.filter(ticket=OuterRef("pk"), at__gte=start, at__lt=as_of)
    touched = TicketEvent.objects.filter(at__gte=start, at__lt=as_of).values("ticket_id")
    return (
        _tickets(root)
        .filter(
            Q(pk__in=touched)
            | _reported_between(start, as_of)
            | Q(state__in=OPEN_STATES, deadline__gte=start, deadline__lt=as_of)
        )
        .annotate(
            moved=Exists(that_day.exclude(kind=E.REPORT)),
            flagged=Exists(that_day.filter(kind=E.RECTIFY)),
        )
        .values(*TICKET_FIELDS, "moved", "flagged")
        .order_by("pk")
    )


def _daily_empty(forest: Forest, node: Node, as_of: dt.datetime) -> dict:
    """A community's or grid's daily figures before any ticket is counted; a community's
    table has a row (a part) per grid."""
    parts = forest.under(GRID, node) if node.layer == COMMUNITY else []
    return {
        "as_of": _iso(as_of),
        "totals": _zero(DAILY_COUNTS),
        "parts": [{**n.ref(), **_zero(DAILY_COUNTS)} for n in parts],
        "rest": _zero(DAILY_COUNTS),
        "tickets": [],
    }


def _daily_flags(row: dict, start: dt.datetime, as_of: dt.datetime) -> dict[str, bool]:
    return {
        "new": _within(row["created_at"], start, as_of),
        "moved": row["moved"],
        "solved": _solved_within(row, start, as_of),
        "overdue": row["flagged"]
        or (row["state"] in OPEN_STATES and _within(row["deadline"], start, as_of)),
    }


def _daily_item(row: dict, grid: Node | None, flags: dict[str, bool]) -> dict:
    """A ticket as listed in the daily digest."""
    return {
        "id": row["pk"],
        "category": row["category__name"],
        "place": _place(row),
        "grid": grid.name if grid else "",
        "state": row["state"],
        "level": row["level"],
        "deadline": _iso(row["deadline"]),
        **flags,
    }


# --- weekly: every open and overdue problem, the rectification list, reopened ones ----------

WEEKLY_COUNTS = ("new", "solved", "open", "overdue", "rectification", "reopened")


def weekly_figures(
    forest: Forest, period: Period, *, now: dt.datetime, root: Area | None = None
) -> dict[int, dict]:
    """The weekly figures of every community, street and district of ``forest``. One query.

    *new*, *solved* and *reopened* count what happened during the week; *open*, *overdue*
    and the rectification list are a snapshot taken when the digest is built
    (``snapshot_at``): a ticket's state at a past moment is not kept. A street's or a
    district's table has a row per community (a district's, per street too); a community's,
    a row per grid."""
    start, end = period.starts_at, period.ends_at
    rows = _weekly_tickets(start, end, root)
    per_node = {n.pk: _weekly_empty(forest, n, now) for n in forest.digest_nodes(K.WEEKLY)}
    # node → {grid, community or street code: its row}
    rows_of = {
        pk: {r["code"]: r for r in f["streets"] + f["communities"] + f["grids"]}
        for pk, f in per_node.items()
    }
    for row in rows:
        flags = _weekly_flags(row, start, end, now)
        where = forest.buckets(row["area__tree_id"], row["area__lft"])
        grid, community, street = where[GRID], where[COMMUNITY], where[STREET]
        item = _weekly_item(row, community, street, overdue=flags["overdue"])
        lists = _weekly_lists(flags, row["rating"])
        for node in (community, street, where[DISTRICT]):
            if node is None or node.pk not in per_node:
                continue
            figures, own_rows = per_node[node.pk], rows_of[node.pk]
            below = grid if node is community else community
            _count_in(figures, flags, own_rows.get(below.code) if below else None)
            if street is not None and node.layer == DISTRICT:
                _add(own_rows[street.code], flags)
            for name in lists:
                figures[name].append(item)
    _sort_open_tickets(forest, per_node)
    return per_node


def _weekly_tickets(start: dt.datetime, end: dt.datetime, root: Area | None):
    """The open tickets, and those reported, solved or reopened during the week, with how
    many times each was reopened during the week; by deadline."""
    return (
        _tickets(root)
        .filter(
            Q(state__in=OPEN_STATES)
            | _reported_between(start, end)
            | _solved_between(start, end)
            | _reopened_between(start, end)
        )
        .annotate(reopens_in_week=_reopens_between(start, end))
        .values(
            *TICKET_FIELDS,
            *(f for f in PATH_FIELDS if f not in TICKET_FIELDS),
            "handler_area__name",
            "on_rectification_list",
            "escalation_count",
            "reopen_count",
            "rating",
            "rating_comment",
            "reopens_in_week",
        )
        .order_by("deadline", "pk")
    )


def _weekly_empty(forest: Forest, node: Node, now: dt.datetime) -> dict:
    """A community's, street's or district's weekly figures before any ticket is counted."""
    if node.layer == COMMUNITY:
        streets, communities, grids = [], [], forest.under(GRID, node)
    else:
        (streets, communities), grids = _streets_and_communities(forest, node), []
    return {
        "snapshot_at": _iso(now),
        "totals": _zero(WEEKLY_COUNTS),
        "streets": [{**n.ref(), **_zero(WEEKLY_COUNTS)} for n in streets],
        "communities": [_community_row(forest, n, _zero(WEEKLY_COUNTS)) for n in communities],
        "grids": [{**n.ref(), **_zero(WEEKLY_COUNTS)} for n in grids],
        "rest": _zero(WEEKLY_COUNTS),
        "open_tickets": [],
        "rectification": [],
        "reopened": [],
        "unsatisfied_open": [],
    }


def _weekly_flags(
    row: dict, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> dict[str, bool]:
    is_open = row["state"] in OPEN_STATES
    return {
        "new": _within(row["created_at"], start, end),
        "solved": _solved_within(row, start, end),
        "open": is_open,
        "overdue": is_open and row["deadline"] is not None and row["deadline"] < now,
        "rectification": is_open and row["on_rectification_list"],
        "reopened": row["reopens_in_week"] > 0,
    }


def _weekly_item(row: dict, community: Node | None, street: Node | None, *, overdue: bool) -> dict:
    """A ticket as listed in the weekly digest."""
    return {
        "id": row["pk"],
        "category": row["category__name"],
        "place": _place(row),
        # below the community: "第1网格 › 1栋 › 1单元" (its community's own digest has no
        # community column to say the rest)
        "path": _path(row),
        "community": community.name if community else "",
        "community_code": community.code if community else "",
        "street": street.name if street else "",
        "state": row["state"],
        "level": row["level"],
        "handler": row["handler_area__name"] or "",
        "deadline": _iso(row["deadline"]),
        "overdue": overdue,
        "escalations": row["escalation_count"],
        "reopen_count": row["reopen_count"],
        "reopens_in_week": row["reopens_in_week"],
        # Free text from the resident who rated: it may hold a phone or ID number.
        "rating_comment": scrub_personal_numbers(row["rating_comment"]),
    }


def _weekly_lists(flags: dict[str, bool], rating: str) -> list[str]:
    """The lists of the weekly digest a ticket goes in."""
    goes_in = {
        "open_tickets": flags["open"],
        "rectification": flags["rectification"],
        "reopened": flags["reopened"],
        "unsatisfied_open": flags["open"] and rating == R.UNSATISFIED,
    }
    return [name for name, yes in goes_in.items() if yes]


def _sort_open_tickets(forest: Forest, per_node: dict[int, dict]) -> None:
    """By community in tree order, the overdue first, then by deadline (none last)."""
    order = {n.code: i for i, n in enumerate(forest.nodes)}

    def key(ticket: dict) -> tuple:
        return (
            order.get(ticket["community_code"], len(order)),
            not ticket["overdue"],
            ticket["deadline"] is None,
            ticket["deadline"] or "",
            ticket["id"],
        )

    def urgency(ticket: dict) -> tuple:
        return (
            not ticket["overdue"],
            ticket["deadline"] is None,
            ticket["deadline"] or "",
            ticket["id"],
        )

    for figures in per_node.values():
        # A district of a city holds thousands of open problems: a digest lists the most
        # urgent WEEKLY_LISTED of each list (overdue first, then the nearest deadline) and
        # counts the rest (``<list>_more``), which the inbox shows in full.
        for name in WEEKLY_LISTS:
            rows = figures[name]
            figures[f"{name}_more"] = max(0, len(rows) - WEEKLY_LISTED)
            if len(rows) > WEEKLY_LISTED:
                figures[name] = sorted(rows, key=urgency)[:WEEKLY_LISTED]
        figures["open_tickets"].sort(key=key)


WEEKLY_LISTS = ("open_tickets", "rectification", "reopened", "unsatisfied_open")
WEEKLY_LISTED = 200


# --- monthly: intake, solved, rate, time, satisfaction, levels, ranking, activity -----------


@dataclass
class MonthStats:
    intake: int = 0
    intake_solved: int = 0  # of the month's intake, solved before the month ended
    solved: int = 0
    hours: list[float] = field(default_factory=list)
    satisfied: int = 0
    unsatisfied: int = 0
    rated_resident: int = 0  # of the ratings, given by the reporter themselves
    rated_call: int = 0  # given on a return call
    not_rated: int = 0  # closed during the month with nobody rating it
    levels: dict[str, int] = field(default_factory=lambda: _zero(LEVEL_BANDS))

    def count(self, row: dict, start: dt.datetime, end: dt.datetime) -> None:
        """Count a ticket of ``_monthly_tickets`` for the month [start, end)."""
        if _within(row["created_at"], start, end):
            self.intake += 1
            solved = row["state"] in SOLVED_STATES and row["resolved_at"] is not None
            if solved and row["resolved_at"] < end:
                self.intake_solved += 1
        if _solved_within(row, start, end):
            self.solved += 1
            seconds = (row["resolved_at"] - row["created_at"]).total_seconds()
            self.hours.append(seconds / 3600)
            band = BAND_OF_LEVEL.get(row["resolved_level"])
            if band:
                self.levels[band] += 1
        closed_in_month = _within(row["closed_at"], start, end)
        if row["rating"] in SATISFIED and closed_in_month:
            self.satisfied += 1
            if row["rating_source"] == SOURCE.RESIDENT:
                self.rated_resident += 1
            else:
                self.rated_call += 1
        if row["rating"] == R.NOT_RATED and closed_in_month:
            self.not_rated += 1
        self.unsatisfied += row["reopens"]
        self.rated_resident += row["reopens_by_reporter"]
        self.rated_call += row["reopens"] - row["reopens_by_reporter"]

    def as_dict(self) -> dict:
        rated = self.satisfied + self.unsatisfied
        bound = wilson_lower_bound(self.satisfied, rated)
        return {
            "intake": self.intake,
            "intake_solved": self.intake_solved,
            "solve_rate": percent(self.intake_solved, self.intake),
            "solved": self.solved,
            "median_hours": round(statistics.median(self.hours), 1) if self.hours else None,
            "rated": rated,
            "satisfied": self.satisfied,
            "unsatisfied": self.unsatisfied,
            "satisfaction": percent(self.satisfied, rated),
            # The share of satisfied one can be confident of (95 %) given how many rated.
            "satisfaction_bound": None if bound is None else round(100 * bound, 1),
            "rated_resident": self.rated_resident,
            "rated_call": self.rated_call,
            "not_rated": self.not_rated,
            "levels": dict(self.levels),
            "level_shares": {b: percent(n, self.solved) for b, n in self.levels.items()},
        }


@dataclass
class Activity:
    heads: set = field(default_factory=set)  # (person, user) in post
    visits: int = 0
    visitors: set = field(default_factory=set)
    handled: set = field(default_factory=set)

    def as_dict(self, visitors_anywhere: set, actors_anywhere: set) -> dict:
        active = {
            person
            for person, user in self.heads
            if person in visitors_anywhere or (user is not None and user in actors_anywhere)
        }
        return {
            "heads": len({person for person, _user in self.heads}),
            "active_heads": len(active),
            "visits": self.visits,
            "visitors": len(self.visitors),
            "handled": len(self.handled),
        }


def monthly_figures(
    forest: Forest, period: Period, *, now: dt.datetime, root: Area | None = None
) -> dict[int, dict]:
    """The monthly figures of every street and district of ``forest``. Four queries.

    * *intake*: reported during the month; *solve rate*: the share of the intake solved
      before the month ended (and still solved);
    * *solved*: solved during the month and still solved; *median hours* from report to
      solution over those; *level shares*: where those were solved;
    * *satisfaction*: of the ratings given during the month, the share satisfied or basically
      satisfied. A satisfied rating closes the problem (``closed_at``); an unsatisfied one
      reopens it (a reopen event), so each is counted once, when it was given. Counted per
      problem (a merged problem's summary rating), with where it came from: by the
      resident (the resident pages, the tracking link) or by a return call of someone who
      did not handle it; *not rated*: closed during the month with no rating (no opinion,
      left out of the share). *satisfaction bound*: the lower bound of the share's 95 %
      Wilson interval, which the ranking orders by;
    * *ranking*: see ``_ranking``;
    * *heads' activity* per community: heads in post (community and below), how many of
      them logged a visit or acted on a problem during the month, visits logged there, and
      the problems there that somebody acted on."""
    start, end = period.starts_at, period.ends_at
    stats: dict[int, MonthStats] = defaultdict(MonthStats)
    for row in _monthly_tickets(start, end, root):
        where = forest.buckets(row["area__tree_id"], row["area__lft"])
        for node in (where[COMMUNITY], where[STREET], where[DISTRICT]):
            if node is not None:
                stats[node.pk].count(row, start, end)
    activity = _activity(forest, period, root)
    engagement = _engagement(period, root)
    communities = [n.pk for n in forest.nodes if n.layer == COMMUNITY]
    for best in best_heads(scope_community_ids=communities, month=period.start):
        if not best.best:
            continue
        # In the list's order (unit, building, grid head), None where nobody qualified.
        engagement.setdefault(best.community.pk, _zero(ENGAGEMENT_COUNTS))["best_heads"] = [
            {**candidate.stored(), "title": title} if candidate else None
            for title, candidate in ((t, best.best.get(t)) for t in BEST_TITLES)
        ]
    as_of = _iso(min(now, end))
    return {
        node.pk: _monthly_node(forest, node, stats, activity, as_of, engagement)
        for node in forest.digest_nodes(K.MONTHLY)
    }


def _monthly_tickets(start: dt.datetime, end: dt.datetime, root: Area | None):
    """The tickets reported, solved, closed or reopened during the month, with how many
    times each was reopened then (each time an unsatisfied rating)."""
    return (
        _tickets(root)
        .filter(
            _reported_between(start, end)
            | _solved_between(start, end)
            | Q(closed_at__gte=start, closed_at__lt=end)
            | _reopened_between(start, end)
        )
        .annotate(
            reopens=_reopens_between(start, end),
            reopens_by_reporter=_reopens_between(start, end, by_reporter=True),
        )
        .values(
            "pk",
            "state",
            "created_at",
            "resolved_at",
            "closed_at",
            "resolved_level",
            "rating",
            "rating_source",
            "reopens",
            "reopens_by_reporter",
            "area__tree_id",
            "area__lft",
        )
    )


def _monthly_node(
    forest: Forest,
    node: Node,
    stats: dict[int, MonthStats],
    activity: tuple[dict[int, Activity], set, set],
    as_of: str | None,
    engagement: dict[int, dict[str, int]] | None = None,
) -> dict:
    """A street's or district's monthly figures: its totals, its streets' (a district's),
    the ranking of its communities, their heads' activity and their residents' engagement."""
    streets, communities = _streets_and_communities(forest, node)
    per_community, visitors_anywhere, actors_anywhere = activity
    engagement = engagement or {}
    engaged = [
        _community_row(
            forest, c, {**_zero(ENGAGEMENT_COUNTS), "best_heads": [], **engagement.get(c.pk, {})}
        )
        for c in communities
    ]
    return {
        "engagement": [
            r for r in engaged if r["best_heads"] or any(r[name] for name in ENGAGEMENT_COUNTS)
        ],
        "engagement_totals": {name: sum(r[name] for r in engaged) for name in ENGAGEMENT_COUNTS},
        "as_of": as_of,
        "totals": stats[node.pk].as_dict(),
        "streets": [{**s.ref(), **stats[s.pk].as_dict()} for s in streets],
        "ranking": _ranking(forest, communities, stats),
        "ranking_min_rated": settings.RANKING_MIN_RATED,
        "activity": [
            _community_row(
                forest, c, per_community[c.pk].as_dict(visitors_anywhere, actors_anywhere)
            )
            for c in communities
        ],
    }


def _ranking(forest: Forest, communities: list[Node], stats: dict[int, MonthStats]) -> list[dict]:
    """The communities with at least ``settings.RANKING_MIN_RATED`` ratings in the month,
    in the order of ``_rank_key``, each with its rank; then those with fewer ("too few
    ratings to rank": ``ranked`` false, no rank), in the same order."""
    minimum = settings.RANKING_MIN_RATED
    rows = [_community_row(forest, c, stats[c.pk].as_dict()) for c in communities]
    ranked = sorted((r for r in rows if r["rated"] >= minimum), key=_rank_key)
    unranked = sorted((r for r in rows if r["rated"] < minimum), key=_rank_key)
    for rank, row in enumerate(ranked, start=1):
        row["rank"], row["ranked"] = rank, True
    for row in unranked:
        row["rank"], row["ranked"] = None, False
    return ranked + unranked


def _rank_key(row: dict) -> tuple:
    """Residents' satisfaction first, made confidence-aware: the highest lower bound of the
    95 % Wilson interval of the share satisfied (so 1 of 1, bound 20.7 %, comes after 99
    of 100, bound 94.6 %). Then, as before, the highest solve rate, the shortest median time
    to solve and the largest intake; the code last, so the order never depends on the
    database. A figure that is missing (nothing to divide) sorts after any value."""
    bound, rate, hours = row["satisfaction_bound"], row["solve_rate"], row["median_hours"]
    return (
        bound is None,
        -(bound or 0),
        rate is None,
        -(rate or 0),
        hours is None,
        hours or 0,
        -row["intake"],
        row["code"],
    )


def _activity(
    forest: Forest, period: Period, root: Area | None
) -> tuple[dict[int, Activity], set, set]:
    """Per community: its heads in post, the visits logged there and the problems there that
    somebody acted on during the month. Three queries (visits, events, posts)."""
    start, end = period.starts_at, period.ends_at
    visits = Visit.objects.filter(visited_at__gte=start, visited_at__lt=end)
    events = TicketEvent.objects.filter(
        at__gte=start, at__lt=end, actor__isnull=False, ticket__state__in=TAKEN_ON_STATES
    )
    posts = Post.objects.filter(ended_on__isnull=True, title__in=HEAD_TITLES)
    if root is not None:
        visits = visits.filter(area_subtree_q(root, "household__area__"))
        events = events.filter(area_subtree_q(root, "ticket__area__"))
        posts = posts.filter(area_subtree_q(root, "area__"))

    per_community: dict[int, Activity] = defaultdict(Activity)

    def community_of(tree_id: int, lft: int) -> Activity | None:
        node = forest.holder(COMMUNITY, tree_id, lft)
        return per_community[node.pk] if node else None

    visitors_anywhere: set = set()
    for tree_id, lft, visitor, n in (
        visits.order_by()
        .values_list("household__area__tree_id", "household__area__lft", "visitor_id")
        .annotate(n=Count("pk"))
    ):
        visitors_anywhere.add(visitor)
        if (bucket := community_of(tree_id, lft)) is not None:
            bucket.visits += n
            bucket.visitors.add(visitor)
    actors_anywhere: set = set()
    for tree_id, lft, ticket, actor in (
        events.order_by()
        .values_list("ticket__area__tree_id", "ticket__area__lft", "ticket_id", "actor_id")
        .distinct()
    ):
        actors_anywhere.add(actor)
        if (bucket := community_of(tree_id, lft)) is not None:
            bucket.handled.add(ticket)
    for tree_id, lft, person, user in (
        posts.order_by()
        .values_list("area__tree_id", "area__lft", "person_id", "person__user_id")
        .distinct()
    ):
        if (bucket := community_of(tree_id, lft)) is not None:
            bucket.heads.add((person, user))
    return per_community, visitors_anywhere, actors_anywhere


ENGAGEMENT_COUNTS = (
    "wishes_posted",
    "wishes_claimed",
    "wishes_confirmed",
    "meetings_held",
    "proposals_closed",
    "proposals_passed",
    "points_earned",
)


def _engagement(period: Period, root: Area | None) -> dict[int, dict[str, int]]:
    """Per community (its ancestor key): the micro-wishes posted, first claimed and
    confirmed during the month, the regular meetings held, the household votes closed and
    passed, and the points earned there (as ``dashboard.best_heads`` counts them). Four
    queries, on the rows' community keys."""
    start, end = period.starts_at, period.ends_at
    first, last = timezone.localdate(start), timezone.localdate(end - dt.timedelta(seconds=1))
    inside = keyed_subtree_q(root) if root is not None else Q()
    per: dict[int, dict[str, int]] = defaultdict(lambda: _zero(ENGAGEMENT_COUNTS))

    def add(rows, names):
        for row in rows:
            community = row.pop("community")
            if community is not None:
                for name in names:
                    per[community][name] += row[name] or 0

    def between(field):
        return Q(**{f"{field}__gte": start, f"{field}__lt": end})

    wishes = Wish.objects.filter(inside).filter(
        between("created_at") | between("claimed_at") | between("confirmed_at")
    )
    add(
        wishes.order_by()
        .values("community")
        .annotate(
            wishes_posted=Count("pk", filter=between("created_at")),
            wishes_claimed=Count("pk", filter=between("claimed_at")),
            wishes_confirmed=Count("pk", filter=between("confirmed_at")),
        ),
        ("wishes_posted", "wishes_claimed", "wishes_confirmed"),
    )
    held = Meeting.objects.filter(inside, state=MeetingState.HELD, date__range=(first, last))
    add(
        held.order_by().values("community").annotate(meetings_held=Count("pk")),
        ("meetings_held",),
    )
    closed = Proposal.objects.filter(
        inside, result__frozen_at__gte=start, result__frozen_at__lt=end
    )
    add(
        closed.order_by()
        .values("community")
        .annotate(
            proposals_closed=Count("pk"),
            proposals_passed=Count("pk", filter=Q(result__passed=True)),
        ),
        ("proposals_closed", "proposals_passed"),
    )
    # Earned as the month's 最美三长 counts it: every entry but spending and acts undone.
    earned = PointEntry.objects.filter(inside, at__gte=start, at__lt=end).exclude(NOT_EARNED)
    add(
        earned.order_by().values("community").annotate(points_earned=Sum("amount")),
        ("points_earned",),
    )
    return dict(per)


COMPUTE = {K.DAILY: daily_figures, K.WEEKLY: weekly_figures, K.MONTHLY: monthly_figures}
