"""The worker dashboard's figures (每日一汇总、每周一督促、每月一调度), read through the user's
scope.

Every ticket read starts from ``issues.selectors.tickets_visible_to`` and every figure comes
from an aggregate, so the page costs the same number of queries whatever the number of
tickets, grids or children:

* the KPIs, the tier counts and the level shares: one ``aggregate`` of conditional counts;
* the 30-day series: one grouped query per series (intake by ``created_at``, solved by
  ``resolved_at``), days in Asia/Shanghai;
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
from dataclasses import dataclass, field

from django.db.models import BigIntegerField, Case, Count, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grids.access import scope_for
from grids.models import Area
from grids.selectors import area_ancestors, area_children, area_subtree_q, get_area_for_user
from issues.models import Level, Ticket, Tier
from issues.rules import OPEN_STATES, SOLVED_STATES, TAKEN_ON_STATES
from issues.selectors import tickets_visible_to

R = Ticket.Rating
SOURCE = Ticket.RatingSource

RATED = (R.SATISFIED, R.BASIC, R.UNSATISFIED)  # "not rated" is no opinion: left out
SATISFIED = (R.SATISFIED, R.BASIC)
WINDOW_DAYS = 30
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
        (Level.UNIT, Level.BUILDING, Level.GRID),
    ),
    LevelBand(
        "community", gettext_lazy("In the community"), gettext_lazy("community"), (Level.COMMUNITY,)
    ),
    LevelBand(
        "street", gettext_lazy("In the street"), gettext_lazy("street/town"), (Level.STREET,)
    ),
    LevelBand(
        "above",
        gettext_lazy("Above the street"),
        gettext_lazy("county office and functional departments"),
        (Level.COUNTY, Level.DEPARTMENT),
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


def top_areas(user) -> list[Area]:
    """The rows at the top level: the roots of the tree (cities, districts without a city) for
    an admin, the user's top areas for everybody else. One query, none without posts."""
    scope = scope_for(user)
    if scope.is_admin:
        return list(Area.objects.filter(parent__isnull=True, upper__isnull=True).order_by("code"))
    ids = [g.area_id for g in scope.top_grants()]
    if not ids:
        return []
    return list(Area.objects.filter(pk__in=ids).order_by("tree_id", "lft"))


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
        node = Area.objects.get(pk=scope.top_grants()[0].area_id)
    else:
        return Place(node=None, children=top_areas(user), crumbs=[])

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
        tickets = tickets.filter(area_subtree_q(node, "area__"))
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
    """KPIs, open/solved per tier and solved per level band. One query."""
    counts = {
        "open": Count("pk", filter=_open()),
        "overdue": Count("pk", filter=_overdue(clock.now)),
        "solved_today": Count("pk", filter=_solved_between(clock.day_start, clock.day_end)),
        "solved_week": Count("pk", filter=_solved_between(clock.week_start, clock.week_end)),
        "solved": Count("pk", filter=_solved()),
        **rating_counts(),
    }
    for tier in [*Tier.values, UNTRIAGED]:
        counts[f"open_{tier}"] = Count("pk", filter=_open() & Q(tier=tier))
        counts[f"solved_{tier}"] = Count("pk", filter=_solved() & Q(tier=tier))
    for band in LEVEL_BANDS:
        counts[f"band_{band.key}"] = Count(
            "pk", filter=_solved() & Q(resolved_level__in=band.levels)
        )
    return tickets.aggregate(**counts)


def daily_series(tickets: QuerySet[Ticket], clock: Clock) -> dict[str, list]:
    """Problems reported and solved per local day over the last WINDOW_DAYS days, days with
    none included. Two queries."""

    def per_day(rows: QuerySet[Ticket], stamp: str) -> dict[dt.date, int]:
        grouped = (
            rows.filter(**{f"{stamp}__gte": clock.window_start, f"{stamp}__lt": clock.day_end})
            .annotate(day=TruncDate(stamp, tzinfo=clock.tz))
            .order_by()
            .values("day")
            .annotate(n=Count("pk"))
        )
        return {row["day"]: row["n"] for row in grouped}

    intake = per_day(tickets, "created_at")
    solved = per_day(tickets.filter(_solved()), "resolved_at")
    days = clock.window_days
    return {
        "days": days,
        "intake": [intake.get(day, 0) for day in days],
        "solved": [solved.get(day, 0) for day in days],
    }


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


def child_rows(
    tickets: QuerySet[Ticket], children: list[Area], clock: Clock, *, rest_label: str
) -> list[Row]:
    """One row per child with its figures, from one query: each ticket goes to the bucket of
    the child whose subtree holds it (children's subtrees never overlap). Tickets under no
    child (on the node itself, or assigned to the user's department elsewhere) make a last
    row named ``rest_label`` when there are any."""
    if not children:
        return []
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
    figures = {row.pop("bucket"): row for row in grouped}
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

    @property
    def node(self) -> Area | None:
        return self.place.node

    @property
    def daily_rows(self) -> list[dict]:
        """The series as table rows, newest first, for readers without the chart."""
        rows = zip(self.series["days"], self.series["intake"], self.series["solved"], strict=True)
        return [{"day": d, "intake": i, "solved": s} for d, i, s in reversed(list(rows))]


def dashboard_for(user, *, node_code: str = "", now: dt.datetime | None = None) -> Dashboard:
    """Everything the dashboard shows for ``user`` at ``node_code`` (or at the top of the
    user's scope). A node outside the scope raises Http404."""
    clock = clock_at(now)
    place = dashboard_place(user, node_code)
    tickets = dashboard_tickets(user, place.node)

    figures = ticket_figures(tickets, clock)
    tiers = _tiers(figures)
    series = daily_series(tickets, clock)
    categories = _with_share_of_intake(top_categories(tickets, clock), series)
    rows = child_rows(tickets, place.children, clock, rest_label=_rest_label(place))
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
        chart_data=_chart_data(series, tiers),
    )


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


def _chart_data(series: dict[str, list], tiers: list[dict]) -> dict:
    """What the charts read (through json_script): the 30-day series and the tiers."""
    labels = [formats.date_format(day, "MONTH_DAY_FORMAT") for day in series["days"]]
    return {
        "daily": {
            "days": labels,
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
