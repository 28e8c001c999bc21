"""The problems' ancestor keys and day figures (``Ticket.district`` … ``grid``,
``TicketDay``), kept right by the services so that a scope's pages read one index and a
district's or the city's dashboard adds up rollup rows instead of counting problems.

- **Keys** are set when a problem is reported (``ticket_keys``) and, when a node moves (the
  ``area_move`` service, an import that re-parents rows: ``grids.signals.areas_moved``),
  recomputed for the problems under it in one statement (``workflow.tickets_follow_moves``,
  the module that writes problems).
- **Day figures** change with a problem's state, tier, level, rating or days: every step
  goes through ``workflow._write``, which hands the problem as it was and as it is to
  ``ticket_days_step``; that applies the difference of the two contributions (a few
  ``UPDATE … SET n = n + d`` on the problem's three nodes). A move takes the moved
  problems' contribution off the old nodes and puts it on the new ones, set-based.
- ``ticket_days_recount`` rebuilds every row from the problems (a migration, the synthetic
  city); ``ticket_days_counted`` is that recount without writing, which the tests compare
  with the kept rows.

What a problem contributes (``contribution``) is written once in Python and once in SQL
(``_grouped``); the property test holds the two to the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from grids.models import Area
from grids.rules import ANCESTOR_KEYS
from grids.selectors import MovedNodes, area_keys, keyed_subtree_q
from issues import rules
from issues.models import Ticket, TicketCategoryDay, TicketDay, Tier

R = Ticket.Rating
SOURCE = Ticket.RatingSource
# The keys a day's figures are kept at: the grid's own figures come from its few problems.
# A problem with no district lies at a city itself: it counts at its own place instead.
ROLLUP_KEYS: tuple[str, ...] = ("district", "street")


def rollup_nodes(ticket) -> list[int]:
    """The nodes whose day rows count ``ticket``."""
    if ticket.district_id is None:
        return [ticket.area_id]
    return [n for n in (getattr(ticket, f"{key}_id") for key in ROLLUP_KEYS) if n is not None]


KEY_FIELDS: tuple[str, ...] = tuple(f"{key}_id" for key in ANCESTOR_KEYS)
# The fields a problem's contribution reads: a step that changes none of them changes no
# figure (an escalation, a reminder, a note).
FIGURE_FIELDS: tuple[str, ...] = (
    "state",
    "tier",
    "resolved_level",
    "rating",
    "rating_source",
    "created_at",
    "resolved_at",
    "category_id",
)
# (local day, category) → counts: category None for the ``TicketDay`` row, a category's id
# for its ``TicketCategoryDay`` row (which counts ``reported`` only).
Figures = dict[tuple[dt.date, int | None], Counter]


def ticket_keys(area: Area) -> dict[str, int | None]:
    """The ancestor keys of a problem placed at ``area``. One query."""
    return area_keys(area)


# --- what one problem contributes ----------------------------------------------------------


def _band(level: str) -> str | None:
    return next((band for band, levels in rules.BAND_LEVELS.items() if level in levels), None)


def contribution(ticket) -> Figures:
    """The counts ``ticket`` (anything with the ``FIGURE_FIELDS``) adds to its nodes' days."""
    out: Figures = defaultdict(Counter)
    if ticket.state not in rules.TAKEN_ON_STATES:
        return out
    reported_on = timezone.localdate(ticket.created_at)
    out[(reported_on, ticket.category_id)]["reported"] += 1
    reported = out[(reported_on, None)]
    reported["reported"] += 1
    if ticket.rating in rules.RATED:
        reported["rated"] += 1
        reported["satisfied"] += ticket.rating in rules.SATISFIED
        reported["rated_resident"] += ticket.rating_source == SOURCE.RESIDENT
        reported["rated_call"] += ticket.rating_source == SOURCE.RETURN_CALL
    elif ticket.rating == R.NOT_RATED:
        reported["not_rated"] += 1
    if ticket.state in rules.SOLVED_STATES:
        solved_on = timezone.localdate(ticket.resolved_at or ticket.created_at)
        solved = out[(solved_on, None)]
        solved["solved"] += 1
        solved[f"solved_{ticket.tier or 'untriaged'}"] += 1
        band = _band(ticket.resolved_level)
        if band is not None:
            solved[f"band_{band}"] += 1
    return out


def _difference(before: Figures, after: Figures) -> Figures:
    delta: Figures = {}
    for slot in set(before) | set(after):
        change = Counter(after.get(slot, {}))
        change.subtract(before.get(slot, {}))
        change = Counter({k: n for k, n in change.items() if n})
        if change:
            delta[slot] = change
    return delta


def _apply(nodes: Iterable[int | None], delta: Figures, sign: int = 1) -> None:
    """Add ``delta`` (times ``sign``) to the day rows of each of ``nodes``."""
    nodes = {n for n in nodes if n is not None}
    _apply_changes(
        {
            (node, *slot): Counter({k: sign * n for k, n in counts.items()})
            for node in nodes
            for slot, counts in delta.items()
        }
    )


def _apply_changes(changes: dict[tuple[int, dt.date, int | None], Counter]) -> None:
    """Add each ``(node, day, category) → counts`` to its row (category None: the
    ``TicketDay`` row), one upsert per table however many."""
    changes = {key: counts for key, counts in changes.items() if any(counts.values())}
    days = {(n, d): c for (n, d, category), c in changes.items() if category is None}
    by_category = {k: c for k, c in changes.items() if k[2] is not None}
    _add(TicketDay, ("node", "day"), days)
    _add(TicketCategoryDay, ("node", "day", "category"), by_category)


# Rows a statement at most; fewer where the database takes fewer parameters (SQLite's limit
# is read from the library: 32,766 on current ones, 999 on old builds).
ADD_BATCH = 1_000


def _add(model, key: tuple[str, ...], changes: dict[tuple, Counter]) -> None:
    """``INSERT … ON CONFLICT (key) DO UPDATE SET n = n + EXCLUDED.n`` (PostgreSQL and
    SQLite alike): a missing row is made with the counts, an existing one has them added,
    in one statement, the rows taken in key order so two writers never wait on each other
    in a circle. Written as SQL because Django's ``update_conflicts`` can only overwrite a
    column, not add to it; the read-lock-write it replaces (a ``bulk_create``, a ``SELECT …
    FOR UPDATE`` and a ``bulk_update`` of a CASE per column) took 4 ms of a report's 32 on
    SQLite, most of it building the CASE expressions."""
    if not changes:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    keys = [model._meta.get_field(name).column for name in key]
    counts = [model._meta.get_field(name).column for name in model.COUNTS]
    columns = ", ".join(quote(c) for c in (*keys, *counts))
    conflict = ", ".join(quote(c) for c in keys)
    added = ", ".join(f"{quote(c)} = {table}.{quote(c)} + EXCLUDED.{quote(c)}" for c in counts)
    row = "(" + ", ".join(["%s"] * (len(keys) + len(counts))) + ")"
    ordered = sorted(changes.items())
    per_row = len(keys) + len(counts)
    batch_size = min(ADD_BATCH, (connection.features.max_query_params or 10**9) // per_row)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), batch_size):
            batch = ordered[start : start + batch_size]
            params = [
                value
                for values, delta in batch
                for value in (*values, *(delta.get(name, 0) for name in model.COUNTS))
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(batch))}"  # nosec B608
                f" ON CONFLICT ({conflict}) DO UPDATE SET {added}",
                params,
            )


def snapshot(ticket: Ticket) -> dict:
    """What ``ticket_days_step`` needs of a problem before a step changes it."""
    return {name: getattr(ticket, name) for name in (*FIGURE_FIELDS, *KEY_FIELDS, "area_id")}


class _Fields:
    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


def ticket_days_step(before: dict, ticket: Ticket) -> None:
    """After a step: the day figures of ``ticket``'s nodes follow what it changed. No query
    when no figure changed."""
    if all(before[name] == getattr(ticket, name) for name in FIGURE_FIELDS):
        return
    delta = _difference(contribution(_Fields(before)), contribution(ticket))
    _apply(rollup_nodes(ticket), delta)


def ticket_days_reported(ticket: Ticket) -> None:
    """A new problem counts on its nodes' day."""
    _apply(rollup_nodes(ticket), contribution(ticket))


# --- the same contribution, counted by the database ---------------------------------------


def _parts(tickets: QuerySet[Ticket], node: str) -> tuple[list[QuerySet], QuerySet]:
    """What ``tickets`` contribute, by ``node`` (a key column), as ``contribution`` counts
    it one by one: two grouped querysets for ``TicketDay`` whose rows are ``(node, day,
    *TicketDay.COUNTS)`` in that order, the same columns in both (the counts on the day
    the problems were reported, and on the day they were solved), and one for
    ``TicketCategoryDay``: ``(node, day, category, reported)``."""
    tz = timezone.get_current_timezone()
    taken = tickets.filter(state__in=rules.TAKEN_ON_STATES).order_by()
    zero = {name: Value(0, output_field=IntegerField()) for name in TicketDay.COUNTS}
    on_reported = {
        **zero,
        "reported": Count("pk"),
        "rated": Count("pk", filter=Q(rating__in=rules.RATED)),
        "satisfied": Count("pk", filter=Q(rating__in=rules.SATISFIED)),
        "rated_resident": Count(
            "pk", filter=Q(rating__in=rules.RATED, rating_source=SOURCE.RESIDENT)
        ),
        "rated_call": Count(
            "pk", filter=Q(rating__in=rules.RATED, rating_source=SOURCE.RETURN_CALL)
        ),
        "not_rated": Count("pk", filter=Q(rating=R.NOT_RATED)),
    }
    on_solved = {
        **zero,
        "solved": Count("pk"),
        **{
            f"solved_{tier or 'untriaged'}": Count("pk", filter=Q(tier=tier))
            for tier in [*Tier.values, ""]
        },
        **{
            f"band_{band}": Count("pk", filter=Q(resolved_level__in=levels))
            for band, levels in rules.BAND_LEVELS.items()
        },
    }
    solved = taken.filter(state__in=rules.SOLVED_STATES)
    parts = [
        rows.annotate(rollup_node=F(node), rollup_day=TruncDate(day, tzinfo=tz))
        .values("rollup_node", "rollup_day")
        .annotate(**{f"n_{name}": counts[name] for name in TicketDay.COUNTS})
        for rows, day, counts in (
            (taken, "created_at", on_reported),
            (solved, Coalesce("resolved_at", "created_at"), on_solved),
        )
    ]
    by_category = (
        taken.annotate(
            rollup_node=F(node),
            rollup_day=TruncDate("created_at", tzinfo=tz),
            rollup_category=F("category_id"),
        )
        .values("rollup_node", "rollup_day", "rollup_category")
        .annotate(n_reported=Count("pk"))
    )
    return parts, by_category


def _grouped(tickets: QuerySet[Ticket], node: str) -> dict[tuple, Counter]:
    """``(node, day, category or None) → counts`` for ``tickets`` (three grouped queries)."""
    out: dict[tuple, Counter] = defaultdict(Counter)
    parts, by_category = _parts(tickets, node)
    for part in [*parts, by_category]:
        for row in part:
            key = (row.pop("rollup_node"), row.pop("rollup_day"), row.pop("rollup_category", None))
            out[key].update({k.removeprefix("n_"): n for k, n in row.items() if n})
    return out


def _levels(tickets: QuerySet[Ticket]) -> list[tuple[QuerySet, str]]:
    """The problems each level of day rows counts, and the column that names its node: by
    district, by street, and (a problem placed at a city itself) by its own place."""
    return [
        *((tickets.exclude(**{f"{key}_id": None}), f"{key}_id") for key in ROLLUP_KEYS),
        (tickets.filter(district_id=None), "area_id"),
    ]


def ticket_days_counted(tickets: QuerySet[Ticket]) -> dict[tuple[int, dt.date, int], dict]:
    """``(node, day, category) → counts`` recounted from ``tickets`` (all problems, for the
    whole), every zero left out: what the kept rows must say."""
    counted: dict[tuple[int, dt.date, int], Counter] = defaultdict(Counter)
    for rows, node in _levels(tickets):
        for slot, counts in _grouped(rows, node).items():
            counted[slot].update(counts)
    return {k: dict(v) for k, v in counted.items() if any(v.values())}


def ticket_days_kept(nodes: list[int] | None = None) -> dict[tuple[int, dt.date, int | None], dict]:
    """The kept rows (of ``nodes``, all by default) in the shape of ``ticket_days_counted``
    (zeros left out)."""
    kept = {}
    days, categories = TicketDay.objects.all(), TicketCategoryDay.objects.all()
    if nodes is not None:
        days, categories = days.filter(node_id__in=nodes), categories.filter(node_id__in=nodes)
    for row in days.values("node_id", "day", *TicketDay.COUNTS):
        counts = {name: row[name] for name in TicketDay.COUNTS if row[name]}
        if counts:
            kept[(row["node_id"], row["day"], None)] = counts
    for row in categories.values("node_id", "day", "category_id", "reported"):
        if row["reported"]:
            kept[(row["node_id"], row["day"], row["category_id"])] = {"reported": row["reported"]}
    return kept


@transaction.atomic
def ticket_days_recount(
    tickets: QuerySet, *, days_model=TicketDay, category_days_model=TicketCategoryDay
) -> int:
    """Every day row rebuilt from ``tickets`` (all problems), in the database: one
    ``INSERT … SELECT`` of the grouped counts per table (no row passes through Python, so a
    city's million problems take a minute, not gigabytes). Returns the rows written. A
    migration passes its historical models."""
    days_model.objects.all().delete()
    category_days_model.objects.all().delete()
    days, categories, days_params, categories_params = [], [], [], []
    for rows, node in _levels(tickets):
        parts, by_category = _parts(rows, node)
        for part in parts:
            sql, params = part.query.sql_with_params()
            days.append(sql)
            days_params.extend(params)
        sql, params = by_category.query.sql_with_params()
        categories.append(sql)
        categories_params.extend(params)
    counts = TicketDay.COUNTS
    summed = ", ".join(f"SUM(u.n_{name})" for name in counts)
    written = 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {days_model._meta.db_table} (node_id, day, {', '.join(counts)}) "
            f"SELECT u.rollup_node, u.rollup_day, {summed} "
            f"FROM ({' UNION ALL '.join(days)}) AS u GROUP BY u.rollup_node, u.rollup_day",
            days_params,
        )
        written += cursor.rowcount
        cursor.execute(
            f"INSERT INTO {category_days_model._meta.db_table} "
            "(node_id, day, category_id, reported) "
            "SELECT u.rollup_node, u.rollup_day, u.rollup_category, SUM(u.n_reported) "
            f"FROM ({' UNION ALL '.join(categories)}) AS u "
            "GROUP BY u.rollup_node, u.rollup_day, u.rollup_category",
            categories_params,
        )
        written += cursor.rowcount
    return written


# --- a node moves ----------------------------------------------------------------------------


def rollup_nodes_change(tickets: QuerySet[Ticket], moved: MovedNodes) -> bool:
    """Whether any problem of ``tickets`` under ``moved`` (nodes that have just moved) is
    counted on other day rows now: its district or street (``ROLLUP_KEYS``) is not the one
    above its node's new place. One ``EXISTS``. A node moved inside its street (a building
    to the next grid, a grid to another community) changes neither, so its problems'
    figures stay where they are, and the two recounts of ``figures_by_keys`` (18 grouped
    queries) are not needed. A problem placed at a city itself is counted on the city,
    which never moves."""
    elsewhere = Q(pk__in=[])
    for area in moved.areas:
        above = moved.above[area.pk]
        kept = {f"{key}_id": above[f"{key}_id"] for key in ROLLUP_KEYS if f"{key}_id" in above}
        if kept:
            elsewhere |= keyed_subtree_q(area) & ~Q(**kept)
    return tickets.filter(elsewhere).exists()


def figures_by_keys(tickets: QuerySet[Ticket]) -> dict[tuple, dict]:
    """What ``tickets`` contribute to their nodes' day rows: read before and after their
    keys change (``workflow.tickets_follow_moves``), for ``ticket_days_moved``."""
    return ticket_days_counted(tickets)


def ticket_days_moved(before: dict[tuple, dict], after: dict[tuple, dict]) -> None:
    """Problems changed keys: their figures leave the old nodes and reach the new ones
    (nodes they stay under net to nothing). Three queries however many."""
    changes: dict[tuple[int, dt.date, int], Counter] = defaultdict(Counter)
    for grouped, sign in ((before, -1), (after, 1)):
        for slot, counts in grouped.items():
            for name, n in counts.items():
                changes[slot][name] += sign * n
    _apply_changes(changes)
