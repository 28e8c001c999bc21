"""Where a problem goes and by when: the rung of the tree that answers for it (passing over
nodes with nobody in post), the time limits of its tier and category, and working-day
deadlines that skip holidays and count 调休 working days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Area, Post
from grids.selectors import area_lineages
from issues import rules
from issues.models import Category, Holiday, Ticket, Tier, TierPolicy
from issues.notes import Note
from issues.services.errors import TicketError

DEFAULT_DAYS = {Tier.SIMPLE: 3, Tier.COMPLEX: 7, Tier.HARD: 15}


def holidays_after(day: dt.date, days: int = 60) -> dict[dt.date, bool]:
    """The special days (holidays, and 调休 working days: True) after ``day`` that a
    deadline of up to ``days`` working days can meet. One query."""
    horizon = day + dt.timedelta(days=days * 3 + 30)
    return {h.date: h.is_workday for h in Holiday.objects.filter(date__gt=day, date__lte=horizon)}


def working_deadline(
    start: dt.datetime,
    days: int,
    *,
    exclude_weekends: bool = True,
    holidays: dict[dt.date, bool] | None = None,
) -> dt.datetime:
    """The end (23:59:59 local) of the ``days``-th working day after ``start``. Holidays are
    skipped; a 调休 working day counts even on a weekend. One query, none with ``holidays``
    (``holidays_after`` of that day, read once for a batch)."""
    local = timezone.localtime(start)
    special = holidays if holidays is not None else holidays_after(local.date(), days)
    day, counted = local.date(), 0
    while counted < days:
        day += dt.timedelta(days=1)
        weekend = exclude_weekends and day.weekday() >= 5
        counted += special.get(day, not weekend)
    end = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end, timezone.get_current_timezone())


def tier_policies() -> dict[str, TierPolicy]:
    """Every tier's policy, for a batch that works out many deadlines. One query."""
    return {policy.tier: policy for policy in TierPolicy.objects.all()}


def time_limit_days(
    tier: str, category: Category | None, *, policies: dict[str, TierPolicy] | None = None
) -> tuple[int, int]:
    """(time limit, rectification limit) in working days for a tier and category. One
    query, none with ``policies`` (``tier_policies``)."""
    if policies is not None:
        policy = policies.get(tier)
    else:
        policy = TierPolicy.objects.filter(tier=tier).first()
    days = policy.time_limit_days if policy else DEFAULT_DAYS[tier]
    rectify = policy.rectification_days if policy else 3
    if category is not None and category.time_limit_days:
        days = category.time_limit_days
    return days, rectify


# --- routing ----------------------------------------------------------------------------------


@dataclass
class Route:
    level: str
    area: Area
    note: Note | None  # says where nobody was in post


class RouteBook:
    """The chains and the people in post over many places, read once for a batch (two
    queries whatever their number), for ``route`` to work out each one's rung without a
    query."""

    def __init__(self, places: Iterable[Area]) -> None:
        self.chains = area_lineages(p.pk for p in places)
        nodes = {node.pk for chain in self.chains.values() for node in chain}
        self.held = set(
            Post.objects.filter(area_id__in=nodes, ended_on__isnull=True).values_list(
                "area_id", "title"
            )
        )


def route(place: Area, start: str, *, book: RouteBook | None = None) -> Route:
    """The first rung at or above ``start`` whose node over ``place`` has somebody in post.
    Rungs with no such node (a problem reported at the community has no unit) are passed
    over silently; a node with nobody in post is passed over and named. Two queries; none
    with a ``book`` that holds ``place``."""
    book = book if book is not None and place.pk in book.chains else RouteBook([place])
    chain, held = book.chains[place.pk], book.held
    skipped: list[list[str]] = []
    started = False
    for level, kinds, titles in rules.LADDER:
        started = started or level == start
        if not started:
            continue
        node = next((a for a in reversed(chain) if a.kind in kinds), None)
        if node is None:
            continue
        if any((node.pk, title) in held for title in titles):
            note = None
            if skipped:
                note = Note("passed_on", {"missing": skipped, "level": level})
            return Route(level, node, note)
        skipped.append([node.name, level])
    raise TicketError(_("nobody is in post above this place to take the problem"))


def next_route(ticket: Ticket, *, book: RouteBook | None = None) -> Route:
    index = rules.LEVEL_ORDER.index(ticket.level)
    if index + 1 >= len(rules.LEVEL_ORDER):
        raise TicketError(_("the county office is the top level: put it on an assignment meeting"))
    return route(ticket.area, rules.LEVEL_ORDER[index + 1], book=book)


def holders_of(area: Area, level: str):
    """Logins of the people in post at ``area`` for ``level``."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(
            person__posts__area=area,
            person__posts__title__in=rules.TITLES_AT[level],
            person__posts__ended_on__isnull=True,
            is_active=True,
        )
        .distinct()
    )


def holders_at(pairs: Iterable[tuple[int | None, str]]) -> dict[tuple[int, str], list]:
    """``holders_of`` for many ``(area id, level)`` pairs: ``(area id, level) → logins``.
    One query."""
    pairs = {(area, level) for area, level in pairs if area is not None and level}
    if not pairs:
        return {}
    titles = {title for _area, level in pairs for title in rules.TITLES_AT.get(level, ())}
    posts = Post.objects.filter(
        area_id__in={area for area, _level in pairs},
        title__in=titles,
        ended_on__isnull=True,
        person__user__is_active=True,
    ).select_related("person__user")
    out: dict[tuple[int, str], dict] = {pair: {} for pair in pairs}
    for post in posts.order_by("pk"):
        for level in rules.LEVEL_ORDER:
            if (post.area_id, level) in out and post.title in rules.TITLES_AT[level]:
                user = post.person.user
                out[(post.area_id, level)][user.pk] = user
    return {pair: list(users.values()) for pair, users in out.items()}
