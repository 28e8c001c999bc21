"""The worker dashboard's figures (每日一汇总、每周一督促、每月一调度), read through the user's
scope.

Every ticket read starts from ``issues.selectors.tickets_visible_to`` and every figure comes
from an aggregate, so the page costs the same number of queries whatever the number of
tickets, grids or children:

* the KPIs, the tier counts and the level shares: one query of conditional counts per tier;
* the 30-day series: one query, a group per series (intake by ``created_at``, solved by
  ``resolved_at``) joined by UNION ALL, days in Asia/Shanghai;
* the top categories: one grouped query;
* the children table: one grouped query, each ticket put in its child's bucket by a
  ``Case``/``When`` on the children's nested-set ranges.

Only problems taken on count (``issues.rules.TAKEN_ON_STATES``): a declined report (受理/核实
found it not ours, a duplicate merged into another problem, already solved, outside the area)
is in no figure — not in the intake, the open, overdue or solved counts, nor the categories.

Satisfaction is counted per problem, from its rating as it stands (a merged problem's summary
rating): satisfied or basically satisfied, of those rated; "not rated" (closed with nobody
rating it) is no opinion and left out of the rate, but counted and shown beside it with where
the ratings came from: by the resident (the resident pages, the tracking link) or by a return
call (回访) of someone who did not handle it (``Ticket.rating_source``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from grids.access import scope_for
from grids.models import Area
from grids.rules import ANCESTOR_KEYS, AreaKind
from grids.selectors import (
    area_ancestors,
    area_children,
    area_subtree_q,
    get_area_for_user,
    keyed_subtree_q,
)
from issues.models import Ticket, TicketCategoryDay, TicketDay, Tier
from issues.rules import BAND_LEVELS, OPEN_STATES, RATED, SATISFIED, SOLVED_STATES, TAKEN_ON_STATES
from issues.selectors import tickets_visible_to

R = Ticket.Rating
SOURCE = Ticket.RatingSource

WINDOW_DAYS = 30
WEEK = dt.timedelta(days=7)
TOP_CATEGORIES = 5
UNTRIAGED = ""  # a reported problem has no tier until it is triaged


@dataclass(frozen=True)
class LevelBand:
    key: str
    label: Promise
    detail: Promise
    levels: tuple[str, ...]


# 小事不出网格、大事不出社区、难事不出街道: where solved problems were solved, in four bands.
LEVEL_BANDS = (
    LevelBand(
        "grid",
        gettext_lazy("In the grid"),
        gettext_lazy("unit, building and grid heads"),
        BAND_LEVELS["grid"],
    ),
    LevelBand(
        "community",
        gettext_lazy("In the community"),
        gettext_lazy("community"),
        BAND_LEVELS["community"],
    ),
    LevelBand(
        "street", gettext_lazy("In the street"), gettext_lazy("street/town"), BAND_LEVELS["street"]
    ),
    LevelBand(
        "above",
        gettext_lazy("Above the street"),
        gettext_lazy("county office and functional departments"),
        BAND_LEVELS["above"],
    ),
)


# --- time -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """The moments the figures are counted against, in local (Asia/Shanghai) days."""

    now: dt.datetime
    today: dt.date
    day_start: dt.datetime
    day_end: dt.datetime
    week_start: dt.datetime  # Monday 00:00 of the ISO week
    week_end: dt.datetime
    window_start: dt.datetime  # 00:00 of the first of the last WINDOW_DAYS days, today included

    @property
    def tz(self):
        return self.now.tzinfo

    @property
    def window_days(self) -> list[dt.date]:
        first = self.today - dt.timedelta(days=WINDOW_DAYS - 1)
        return [first + dt.timedelta(days=i) for i in range(WINDOW_DAYS)]


def clock_at(now: dt.datetime | None = None) -> Clock:
    tz = timezone.get_default_timezone()
    now = timezone.localtime(now or timezone.now(), tz)
    today = now.date()

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=tz)

    monday = today - dt.timedelta(days=today.weekday())
    return Clock(
        now=now,
        today=today,
        day_start=midnight(today),
        day_end=midnight(today + dt.timedelta(days=1)),
        week_start=midnight(monday),
        week_end=midnight(monday + dt.timedelta(days=7)),
        window_start=midnight(today - dt.timedelta(days=WINDOW_DAYS - 1)),
    )


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in per cent, one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


Z_95 = 1.96  # the standard normal quantile of 97.5 %: a two-sided 95 % interval


def wilson_lower_bound(successes: int, trials: int, z: float = Z_95) -> float | None:
    """The lower bound of the Wilson score interval for ``successes`` of ``trials`` (95 % by
    default): the share one can be confident of given how few or many there were. 1 of 1
    gives 0.2065, 99 of 100 gives 0.9455, so one lucky rating does not outrank a hundred.
    None when there are no trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes of {trials} trials")
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def rating_counts(prefix: str = "") -> dict:
    """The conditional counts of the satisfaction figures: rated (and of them satisfied or
    basically satisfied), by where the rating came from, and closed not rated."""
    return {
        f"{prefix}rated": Count("pk", filter=Q(rating__in=RATED)),
        f"{prefix}satisfied": Count("pk", filter=Q(rating__in=SATISFIED)),
        f"{prefix}rated_resident": Count(
            "pk", filter=Q(rating__in=RATED, rating_source=SOURCE.RESIDENT)
        ),
        f"{prefix}rated_call": Count(
            "pk", filter=Q(rating__in=RATED, rating_source=SOURCE.RETURN_CALL)
        ),
        f"{prefix}not_rated": Count("pk", filter=Q(rating=R.NOT_RATED)),
    }


# --- where the dashboard stands -----------------------------------------------------------------


@dataclass(frozen=True)
class Crumb:
    name: str
    code: str = ""  # empty: the top level, "/"


@dataclass
class Place:
    """The node the dashboard is about, its children and the way down to it. ``node`` None:
    the top level of a user with several areas (or of an admin), whose areas are the rows."""

    node: Area | None
    children: list[Area]
    crumbs: list[Crumb]
    members: dict[int, list[int]] = field(default_factory=dict)  # rollup nodes, once read


def top_level(user) -> Place:
    """The top level: its rows are the roots of the tree (cities, districts without a city)
    for an admin, the user's top areas for everybody else. One query, none without posts;
    an admin's also brings the districts below each city, the rollup nodes of its row
    (``rollup_members``), so they need no query of their own."""
    scope = scope_for(user)
    if scope.is_admin:
        # A UNION of two index lookups (parent_id IS NULL; area_upper below the root cities):
        # as one WHERE … OR … the city's whole area table was scanned (250 ms).
        # Each half unordered: the tree manager orders by tree, and SQLite refuses an ORDER
        # BY inside a compound statement.
        roots = Area.objects.filter(parent__isnull=True, upper__isnull=True).order_by()
        cities = roots.filter(kind=AreaKind.CITY).values("pk")
        below = Area.objects.filter(upper__in=cities).order_by()
        found = list(roots.union(below).order_by("code"))
        roots = [a for a in found if a.parent_id is None and a.upper_id is None]
        members = {a.pk: [a.pk] for a in roots if a.kind == AreaKind.CITY}
        for area in found:
            if area.upper_id in members:
                members[area.upper_id].append(area.pk)
        return Place(node=None, children=roots, crumbs=[], members=members)
    ids = [g.area_id for g in scope.top_grants()]
    areas = list(Area.objects.filter(pk__in=ids).order_by("tree_id", "lft")) if ids else []
    return Place(node=None, children=areas, crumbs=[])


def dashboard_place(user, node_code: str = "") -> Place:
    """``?node=`` if given (404 outside the scope), else the user's one top area; a user with
    several top areas, and an admin (whose scope is everything, posts or not), starts at a
    top level whose rows are those areas or the roots. Crumbs run from the top of the
    user's scope down to the node."""
    scope = scope_for(user)
    single_top = not scope.is_admin and len(scope.top_grants()) == 1
    if node_code:
        node = get_area_for_user(user, node_code)
    elif single_top:
        top = scope.top_grants()[0].area_id
        node = scope.areas.get(top) or Area.objects.get(pk=top)  # read with the scope
    else:
        return top_level(user)

    crumbs = [] if single_top else [Crumb(str(_("Overview")))]
    if node_code:
        chain = [a for a in area_ancestors(node, include_self=True) if scope.role_for(a)]
    else:
        chain = [node]
    crumbs += [Crumb(a.name, a.code) for a in chain]
    return Place(node=node, children=list(area_children(node)), crumbs=crumbs)


# --- the figures --------------------------------------------------------------------------------


def dashboard_tickets(user, node: Area | None) -> QuerySet[Ticket]:
    """What the figures count: the user's visible tickets taken on (declined reports left
    out), under ``node`` if there is one."""
    tickets = tickets_visible_to(user).filter(state__in=TAKEN_ON_STATES)
    if node is not None:
        tickets = tickets.filter(keyed_subtree_q(node))
    return tickets


def _open() -> Q:
    return Q(state__in=OPEN_STATES)


def _overdue(now: dt.datetime) -> Q:
    return _open() & Q(deadline__lt=now)


def _solved() -> Q:
    return Q(state__in=SOLVED_STATES)


def _solved_between(start: dt.datetime, end: dt.datetime) -> Q:
    return _solved() & Q(resolved_at__gte=start, resolved_at__lt=end)


def ticket_figures(tickets: QuerySet[Ticket], clock: Clock) -> dict[str, int]:
    """KPIs, open/solved per tier and solved per level band. One query, grouped by tier:
    its fifteen counts per tier cost the ORM and the database half what thirty-three
    conditional counts over all the problems did."""
    counts = {
        "open": Count("pk", filter=_open()),
        "overdue": Count("pk", filter=_overdue(clock.now)),
        "solved_today": Count("pk", filter=_solved_between(clock.day_start, clock.day_end)),
        "solved_week": Count("pk", filter=_solved_between(clock.week_start, clock.week_end)),
        "solved": Count("pk", filter=_solved()),
        **rating_counts(),
    }
    for band in LEVEL_BANDS:
        counts[f"band_{band.key}"] = Count(
            "pk", filter=_solved() & Q(resolved_level__in=band.levels)
        )
    figures = dict.fromkeys(counts, 0)
    for tier in [*Tier.values, UNTRIAGED]:
        figures[f"open_{tier}"] = figures[f"solved_{tier}"] = 0
    for row in tickets.order_by().values("tier").annotate(**counts):
        tier = row.pop("tier")
        for name, n in row.items():
            figures[name] += n
        if f"open_{tier}" in figures:  # a tier of Tier's, or not triaged yet
            figures[f"open_{tier}"] += row["open"]
            figures[f"solved_{tier}"] += row["solved"]
    return figures


def daily_series(tickets: QuerySet[Ticket], clock: Clock) -> dict[str, list]:
    """Problems reported and solved per local day over the last WINDOW_DAYS days, days with
    none included. One query: the two series' groups in one UNION ALL."""

    def per_day(rows: QuerySet[Ticket], stamp: str, series: str) -> QuerySet:
        return (
            rows.filter(**{f"{stamp}__gte": clock.window_start, f"{stamp}__lt": clock.day_end})
            .annotate(day=TruncDate(stamp, tzinfo=clock.tz), series=Value(series))
            .order_by()
            .values("series", "day")
            .annotate(n=Count("pk"))
        )

    found: dict[str, dict[dt.date, int]] = {"intake": {}, "solved": {}}
    intake = per_day(tickets, "created_at", "intake")
    solved = per_day(tickets.filter(_solved()), "resolved_at", "solved")
    for row in intake.union(solved, all=True):
        found[row["series"]][row["day"]] = row["n"]
    days = clock.window_days
    return {
        "days": days,
        "intake": [found["intake"].get(day, 0) for day in days],
        "solved": [found["solved"].get(day, 0) for day in days],
    }


def rollup_top_categories(nodes: list[int], clock: Clock) -> list[dict]:
    """``top_categories`` from the day rows. One query."""
    days = clock.window_days
    rows = (
        TicketCategoryDay.objects.filter(node_id__in=nodes, day__gte=days[0], day__lte=days[-1])
        .values("category_id", "category__name")
        .annotate(n=Sum("reported"))
        .filter(n__gt=0)
        .order_by("-n", "category__name", "category_id")[:TOP_CATEGORIES]
    )
    return [{"name": row["category__name"], "count": row["n"]} for row in rows]


def top_categories(tickets: QuerySet[Ticket], clock: Clock) -> list[dict]:
    """The TOP_CATEGORIES categories with the most problems reported in the window. One
    query."""
    rows = (
        tickets.filter(created_at__gte=clock.window_start, created_at__lt=clock.day_end)
        .order_by()
        .values("category_id", "category__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "category__name", "category_id")[:TOP_CATEGORIES]
    )
    return [{"name": row["category__name"], "count": row["n"]} for row in rows]


@dataclass
class Row:
    """One line of the children table."""

    name: str
    code: str = ""  # empty: not a link (the node's own problems)
    kind: str = ""
    open: int = 0
    overdue: int = 0
    solved_window: int = 0
    rated: int = 0
    satisfied: int = 0
    rated_resident: int = 0
    rated_call: int = 0
    not_rated: int = 0

    @property
    def satisfaction(self) -> float | None:
        return percent(self.satisfied, self.rated)

    @property
    def is_empty(self) -> bool:
        return not (self.open or self.overdue or self.solved_window or self.rated or self.not_rated)

    # The table's text of each row, in the active language: cheaper here than two
    # {% blocktranslate %} tags rendered per row.
    @property
    def rated_label(self) -> str:
        return ngettext("%(counter)s rated", "%(counter)s rated", self.rated) % {
            "counter": self.rated
        }

    @property
    def sources_label(self) -> str:
        return _("resident %(resident)s · call %(call)s · not rated %(none)s") % {
            "resident": self.rated_resident,
            "call": self.rated_call,
            "none": self.not_rated,
        }


def child_rows(
    tickets: QuerySet[Ticket], children: list[Area], clock: Clock, *, rest_label: str
) -> list[Row]:
    """One row per child with its figures, from one query: each ticket goes to the bucket of
    the child whose subtree holds it (children's subtrees never overlap). Tickets under no
    child (on the node itself, or assigned to the user's department elsewhere) make a last
    row named ``rest_label`` when there are any."""
    if not children:
        return []
    key = _child_key(children, COUNTED_CHILD_KEYS)
    if key is not None:
        # The children's own key column: a problem above their level (at the node itself)
        # falls to its own place, which is no child.
        bucket = Coalesce(key, "area_id")
    else:  # children of mixed kinds (a community with compounds and grids): their ranges
        bucket = Case(
            *[When(area_subtree_q(child, "area__"), then=Value(child.pk)) for child in children],
            default=Value(None),
            output_field=BigIntegerField(),
        )
    grouped = (
        tickets.annotate(bucket=bucket)
        .order_by()
        .values("bucket")
        .annotate(
            open=Count("pk", filter=_open()),
            overdue=Count("pk", filter=_overdue(clock.now)),
            solved_window=Count("pk", filter=_solved_between(clock.window_start, clock.day_end)),
            **rating_counts(),
        )
    )
    child_ids = {child.pk for child in children}
    figures: dict[int | None, dict] = {}
    for row in grouped:
        bucket = row.pop("bucket")
        bucket = bucket if bucket in child_ids else None
        if bucket in figures:  # several places outside the children: one row for them
            row = {name: figures[bucket][name] + n for name, n in row.items()}
        figures[bucket] = row
    rows = [
        Row(
            name=child.name,
            code=child.code,
            kind=child.get_kind_display(),
            **figures.get(child.pk, {}),
        )
        for child in children
    ]
    rest = Row(name=rest_label, **figures.get(None, {}))
    if not rest.is_empty:
        rows.append(rest)
    return rows


# --- the whole page -------------------------------------------------------------------------


@dataclass
class Dashboard:
    place: Place
    clock: Clock
    kpis: dict[str, int | float | None]
    tiers: list[dict]
    level_bands: list[dict]
    solved_total: int
    categories: list[dict]
    series: dict[str, list]
    rows: list[Row]
    chart_data: dict = field(default_factory=dict)
    day_labels: list[str] = field(default_factory=list)  # the series' days, as shown

    @property
    def node(self) -> Area | None:
        return self.place.node

    @property
    def daily_rows(self) -> list[dict]:
        """The series as table rows, newest first, for readers without the chart; each day's
        ``label`` is the chart's (written once for both)."""
        labels = self.day_labels or [_day_label(day) for day in self.series["days"]]
        rows = zip(
            self.series["days"], labels, self.series["intake"], self.series["solved"], strict=True
        )
        return [
            {"day": d, "label": label, "intake": i, "solved": s}
            for d, label, i, s in reversed(list(rows))
        ]


def dashboard_for(user, *, node_code: str = "", now: dt.datetime | None = None) -> Dashboard:
    """Everything the dashboard shows for ``user`` at ``node_code`` (or at the top of the
    user's scope). A node outside the scope raises Http404.

    A city, district or street (or a top level made of them) is read from the day rollups
    (``issues.models.TicketDay``) and the open problems; anything smaller counts its own
    problems, which are few. Both give the same figures (tests/dashboard/test_rollups.py)."""
    clock = clock_at(now)
    place = dashboard_place(user, node_code)
    tickets = dashboard_tickets(user, place.node)
    nodes = rollup_nodes_for(user, place)
    if nodes is None:
        figures = ticket_figures(tickets, clock)
        series = daily_series(tickets, clock)
        rows = child_rows(tickets, place.children, clock, rest_label=_rest_label(place))
    else:
        key = _child_key(place.children, ROLLUP_CHILD_KEYS) if place.children else None
        counts = open_counts(tickets, clock, key)
        totals, series = rollup_figures_and_series(nodes, clock)
        figures = {**totals, **open_figures(counts)}
        if key is None:  # children of mixed kinds, or none
            rows = child_rows(tickets, place.children, clock, rest_label=_rest_label(place))
        else:
            rows = rollup_child_rows(
                counts,
                nodes,
                place.children,
                clock,
                rest_label=_rest_label(place),
                known=place.members,
            )
    tiers = _tiers(figures)
    top = top_categories(tickets, clock) if nodes is None else rollup_top_categories(nodes, clock)
    categories = _with_share_of_intake(top, series)
    day_labels = [_day_label(day) for day in series["days"]]
    return Dashboard(
        place=place,
        clock=clock,
        kpis=_kpis(figures),
        tiers=tiers,
        level_bands=_level_bands(figures),
        solved_total=figures["solved"],
        categories=categories,
        series=series,
        rows=rows,
        chart_data=_chart_data(day_labels, series, tiers),
        day_labels=day_labels,
    )


# --- from the rollups ---------------------------------------------------------------------------

# Nodes whose day rows are kept (issues.services.rollups): below them, the problems are few.
ROLLUP_KINDS = frozenset({AreaKind.CITY, *ANCESTOR_KEYS["district"], *ANCESTOR_KEYS["street"]})


def rollup_members(
    areas: list[Area], known: dict[int, list[int]] | None = None
) -> dict[int, list[int]]:
    """Area pk → the rollup nodes whose day rows make its figures: a district or a street
    itself; a city, its own (problems placed at the city itself) and its districts'. One
    query when there is a city not in ``known``, none otherwise."""
    known = known or {}
    members = {area.pk: list(known.get(area.pk, [area.pk])) for area in areas}
    cities = [area.pk for area in areas if area.kind == AreaKind.CITY and area.pk not in known]
    if cities:
        for district, city in Area.objects.filter(upper_id__in=cities).values_list(
            "pk", "upper_id"
        ):
            members[city].append(district)
    return members


def rollup_nodes_for(user, place: Place) -> list[int] | None:
    """The rollup nodes whose day rows add up to what ``user`` sees at ``place``, or None
    when the figures must be counted from the problems: a node below the street, a top
    level with such a node or with a department's assignments elsewhere."""
    scope = scope_for(user)
    if place.node is not None:
        tops = [place.node]
    elif not scope.is_admin and scope.department_ids:
        return None
    else:
        tops = place.children  # the top level: its rows are the areas the figures cover
    if not tops or any(area.kind not in ROLLUP_KINDS for area in tops):
        return None
    # The children's rows reuse them (the top level); an admin's came with the roots.
    place.members = rollup_members(tops, place.members)
    return [n for nodes in place.members.values() for n in nodes]


def _day_sums(clock: Clock, *, window_from: dt.date | None = None) -> dict:
    monday = clock.week_start.date()
    sums = {name: Sum(name) for name in TicketDay.COUNTS}
    sums["solved_today"] = Sum("solved", filter=Q(day=clock.today))
    sums["solved_week"] = Sum("solved", filter=Q(day__gte=monday, day__lt=monday + WEEK))
    if window_from is not None:
        sums["solved_window"] = Sum("solved", filter=Q(day__gte=window_from, day__lte=clock.today))
    return sums


def _from_rollup(row: dict) -> dict[str, int]:
    """A summed rollup row in the names ``ticket_figures`` uses."""
    out = {name: value or 0 for name, value in row.items()}
    for tier in Tier.values:
        out[f"solved_{tier}"] = out.pop(f"solved_{tier}", 0)
    out[f"solved_{UNTRIAGED}"] = out.pop("solved_untriaged", 0)
    return out


def rollup_figures_and_series(nodes: list[int], clock: Clock) -> tuple[dict, dict]:
    """The solved, level and rating figures of ``nodes`` and the window's series, from
    their day rows in one query: the rows summed per day of the window (and of this week)
    and, in one more group, every day before."""
    days = clock.window_days
    last = max(days[-1], clock.week_end.date() - dt.timedelta(days=1))
    bucket = Case(
        When(day__gte=days[0], day__lte=last, then=F("day")),
        default=Value(None),
        output_field=DateField(),
    )
    grouped = (
        TicketDay.objects.filter(node_id__in=nodes)
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(**{f"sum_{name}": Sum(name) for name in TicketDay.COUNTS})
    )
    totals = dict.fromkeys(TicketDay.COUNTS, 0)
    by_day: dict[dt.date, dict] = {}
    for row in grouped:
        sums = {name: row[f"sum_{name}"] or 0 for name in TicketDay.COUNTS}
        for name, n in sums.items():
            totals[name] += n
        if row["bucket"] is not None:
            by_day[row["bucket"]] = sums
    monday = clock.week_start.date()
    totals["solved_today"] = by_day.get(clock.today, {}).get("solved", 0)
    totals["solved_week"] = sum(
        sums["solved"] for day, sums in by_day.items() if monday <= day < monday + WEEK
    )
    series = {
        "days": days,
        "intake": [by_day.get(day, {}).get("reported", 0) for day in days],
        "solved": [by_day.get(day, {}).get("solved", 0) for day in days],
    }
    return _from_rollup(totals), series


def open_counts(tickets: QuerySet[Ticket], clock: Clock, key: str | None) -> list[dict]:
    """The open problems (they change with the clock, so they are counted, not rolled up)
    grouped by tier and, with ``key``, by that key (or, above its level, their own place):
    rows of ``bucket``, ``tier``, ``open``, ``overdue``. One query, for the KPIs and the
    children's rows alike, which PostgreSQL can answer from the covering index of open
    problems (issues/migrations/0016): ``COUNT(area_id)``, a column of it, not ``id``."""
    bucket = Coalesce(key, "area_id") if key else Value(0)
    return list(
        tickets.filter(_open())
        .order_by()
        .annotate(bucket=bucket)
        .values("bucket", "tier")
        .annotate(open=Count("area"), overdue=Count("area", filter=Q(deadline__lt=clock.now)))
    )


def open_figures(counts: list[dict]) -> dict[str, int]:
    """Open, overdue and open per tier, from ``open_counts``."""
    figures = {"open": 0, "overdue": 0, **{f"open_{t}": 0 for t in [*Tier.values, UNTRIAGED]}}
    for row in counts:
        figures["open"] += row["open"]
        figures["overdue"] += row["overdue"]
        figures[f"open_{row['tier']}"] += row["open"]
    return figures


# The key that tells the children apart, by their kind: with day rows (a city's problems
# have no district: they count at the city itself) ...
ROLLUP_CHILD_KEYS = {
    AreaKind.CITY: "district_id",
    **{kind: "district_id" for kind in ANCESTOR_KEYS["district"]},
    **{kind: "street_id" for kind in ANCESTOR_KEYS["street"]},
}
# ... and without (a street's communities, a community's grids: counted).
COUNTED_CHILD_KEYS = {
    **{kind: "community_id" for kind in ANCESTOR_KEYS["community"]},
    **{kind: "grid_id" for kind in ANCESTOR_KEYS["grid"]},
}


def _child_key(children: list[Area], keys: dict[str, str]) -> str | None:
    """The one key column that tells ``children`` apart, or None."""
    found = {keys.get(child.kind) for child in children}
    return found.pop() if len(found) == 1 and None not in found else None


def rollup_child_rows(
    counts: list[dict],
    nodes: list[int],
    children: list[Area],
    clock: Clock,
    *,
    rest_label: str,
    known: dict[int, list[int]] | None = None,
) -> list[Row]:
    """``child_rows`` from the day rows (a city's districts, a district's streets, the top
    level's cities and districts) and the open problems' ``counts`` grouped by the
    children's key (``open_counts``): one query more (two with a city among the children
    not known yet). The last row (problems under no child, such as those placed at the
    node itself) is the whole less its children."""
    members = rollup_members(children, known)
    child_of = {node: child for child, nodes in members.items() for node in nodes}
    sums = _day_sums(clock, window_from=clock.window_days[0])
    wanted = ("solved_window", *rating_counts())
    per_node = TicketDay.objects.filter(node_id__in={*nodes, *child_of}).values("node_id")
    summed = {
        row.pop("node_id"): {name.removeprefix("sum_"): n for name, n in row.items()}
        for row in per_node.annotate(**{f"sum_{name}": sums[name] for name in wanted})
    }
    open_of: dict[int | None, Counter] = defaultdict(Counter)
    for row in counts:
        open_of[child_of.get(row["bucket"])].update(open=row["open"], overdue=row["overdue"])

    def rolled(node_ids) -> Counter:
        out = Counter(dict.fromkeys(wanted, 0))
        for node in node_ids:
            out.update({name: value or 0 for name, value in summed.get(node, {}).items()})
        return out

    rows = []
    below = Counter()
    for child in children:
        figures = rolled(members[child.pk])
        below.update(figures)
        rows.append(
            Row(
                name=child.name,
                code=child.code,
                kind=child.get_kind_display(),
                open=open_of[child.pk]["open"],
                overdue=open_of[child.pk]["overdue"],
                **{name: figures[name] for name in wanted},
            )
        )
    whole = rolled(nodes)
    rest = Row(
        name=rest_label,
        open=open_of[None]["open"],
        overdue=open_of[None]["overdue"],
        **{name: whole[name] - below[name] for name in wanted},
    )
    if not rest.is_empty:
        rows.append(rest)
    return rows


def _kpis(figures: dict[str, int]) -> dict[str, int | float | None]:
    return {
        "open": figures["open"],
        "overdue": figures["overdue"],
        "solved_today": figures["solved_today"],
        "solved_week": figures["solved_week"],
        "rated": figures["rated"],
        "satisfied": figures["satisfied"],
        "satisfaction": percent(figures["satisfied"], figures["rated"]),
        "rated_resident": figures["rated_resident"],
        "rated_call": figures["rated_call"],
        "not_rated": figures["not_rated"],
    }


def _tiers(figures: dict[str, int]) -> list[dict]:
    """Open and solved problems per tier, the untriaged last."""
    tier_labels = {**dict(Tier.choices), UNTRIAGED: _("not triaged yet")}
    return [
        {
            "tier": tier,
            "label": capfirst(str(tier_labels[tier])),
            "open": figures[f"open_{tier}"],
            "solved": figures[f"solved_{tier}"],
        }
        for tier in [*Tier.values, UNTRIAGED]
    ]


def _level_bands(figures: dict[str, int]) -> list[dict]:
    """Where the solved problems were solved, per band, with each band's share."""
    return [
        {
            "key": band.key,
            "label": str(band.label),
            "detail": str(band.detail),
            "count": figures[f"band_{band.key}"],
            "percent": percent(figures[f"band_{band.key}"], figures["solved"]),
        }
        for band in LEVEL_BANDS
    ]


def _with_share_of_intake(categories: list[dict], series: dict[str, list]) -> list[dict]:
    """``categories`` with each one's share of the problems reported in the window."""
    intake_window = sum(series["intake"])
    for category in categories:
        category["percent"] = percent(category["count"], intake_window)
    return categories


def _rest_label(place: Place) -> str:
    """The name of the children table's last row: the problems under no child."""
    if place.node is not None:
        return _("At %(place)s itself") % {"place": place.node.name}
    return _("Elsewhere (assigned to your department)")


def _day_label(day: dt.date) -> str:
    """A day of the series as the chart and its table show it (3月5日, March 5)."""
    return formats.date_format(day, "MONTH_DAY_FORMAT")


def _chart_data(day_labels: list[str], series: dict[str, list], tiers: list[dict]) -> dict:
    """What the charts read (through json_script): the 30-day series and the tiers."""
    return {
        "daily": {
            "days": day_labels,
            "intake": series["intake"],
            "solved": series["solved"],
            "names": {"intake": _("Reported"), "solved": _("Solved")},
        },
        "tiers": {
            "labels": [t["label"] for t in tiers],
            "open": [t["open"] for t in tiers],
            "solved": [t["solved"] for t in tiers],
            "names": {"open": _("Open"), "solved": _("Solved")},
        },
    }
