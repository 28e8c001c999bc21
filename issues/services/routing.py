"""Where a problem goes and by when: the rung of the tree that answers for it (passing over
nodes with nobody in post), the time limits of its tier and category, and working-day
deadlines that skip holidays and count 调休 working days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Area, Post
from issues import rules
from issues.models import Category, Holiday, Level, Ticket, Tier, TierPolicy
from issues.services.errors import TicketError

DEFAULT_DAYS = {Tier.SIMPLE: 3, Tier.COMPLEX: 7, Tier.HARD: 15}


def working_deadline(
    start: dt.datetime, days: int, *, exclude_weekends: bool = True
) -> dt.datetime:
    """The end (23:59:59 local) of the ``days``-th working day after ``start``. Holidays are
    skipped; a 调休 working day counts even on a weekend. One query."""
    local = timezone.localtime(start)
    horizon = local.date() + dt.timedelta(days=days * 3 + 30)
    special = {
        h.date: h.is_workday
        for h in Holiday.objects.filter(date__gt=local.date(), date__lte=horizon)
    }
    day, counted = local.date(), 0
    while counted < days:
        day += dt.timedelta(days=1)
        weekend = exclude_weekends and day.weekday() >= 5
        counted += special.get(day, not weekend)
    end = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end, timezone.get_current_timezone())


def time_limit_days(tier: str, category: Category | None) -> tuple[int, int]:
    """(time limit, rectification limit) in working days for a tier and category."""
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
    note: str  # says where nobody was in post, or ""


def route(place: Area, start: str) -> Route:
    """The first rung at or above ``start`` whose node over ``place`` has somebody in post.
    Rungs with no such node (a problem reported at the community has no unit) are passed
    over silently; a node with nobody in post is passed over and named. Two queries."""
    chain = list(place.get_ancestors(include_self=True))
    held = set(
        Post.objects.filter(area__in=chain, ended_on__isnull=True).values_list("area_id", "title")
    )
    skipped: list[str] = []
    started = False
    for level, kinds, titles in rules.LADDER:
        started = started or level == start
        if not started:
            continue
        node = next((a for a in reversed(chain) if a.kind in kinds), None)
        if node is None:
            continue
        if any((node.pk, title) in held for title in titles):
            note = ""
            if skipped:
                note = _("nobody in post at %(missing)s; passed on to %(level)s") % {
                    "missing": "、".join(skipped),
                    "level": Level(level).label,
                }
            return Route(level, node, note)
        skipped.append(f"{node.name}{Level(level).label}")
    raise TicketError(_("nobody is in post above this place to take the problem"))


def next_route(ticket: Ticket) -> Route:
    index = rules.LEVEL_ORDER.index(ticket.level)
    if index + 1 >= len(rules.LEVEL_ORDER):
        raise TicketError(_("the county office is the top level: put it on an assignment meeting"))
    return route(ticket.area, rules.LEVEL_ORDER[index + 1])


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
