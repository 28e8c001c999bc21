"""The rhythm of the regular meetings (三级例会), held as data in one place.

Yantan (沿滩区, 五张清单 · 机制清单): "楼栋间周例会、院落间双周例会、自管会月例会" — the
building meeting weekly, the compound (院落) meeting every fortnight, the self-management
committee (自管委员会) monthly, with major matters proposed by the five heads (五长提议制) and
worked through the five steps 民情收集—核实—讨论—实施—反馈.

Which nodes of the tree hold which meeting (``LEVEL_KINDS``):

- a building (楼栋) holds the weekly building meeting;
- a grid (网格, 300–500 households, the size of a 院落) holds the fortnightly compound
  meeting: the portal's trees put buildings under grids, and a grid is the courtyard's
  circle of heads (the grid head, its building and unit heads);
- a compound (小区/片区) holds the monthly committee meeting, as Yantan's 片区自管委员会 does,
  and so does a community or village (its residents' committee) — where the tree has no
  compound level that is where the committee sits.

Who plans, holds and corrects a meeting (``MEETING_ROLES``): the heads of its area and
anyone above it over that area — the building head for a building, the grid head or worker
for a grid, the community's workers, the street and the county office, the administrator.
A unit head attends, and does not run, the building's meeting; a department has no place.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from grids.access import Role
from grids.rules import AreaKind


class Level(models.TextChoices):
    BUILDING = "building", _("building meeting (weekly)")
    COMPOUND = "compound", _("compound meeting (fortnightly)")
    COMMITTEE = "committee", _("self-management committee (monthly)")


@dataclass(frozen=True)
class Rhythm:
    days: int = 0
    months: int = 0

    def due_after(self, last: dt.date) -> dt.date:
        """The day the next meeting is due after one held on ``last``: the same weekday a
        week or a fortnight on; the same day of the next month (its last day when shorter)."""
        if self.months:
            month = last.month - 1 + self.months
            year, month = last.year + month // 12, month % 12 + 1
            day = min(last.day, calendar.monthrange(year, month)[1])
            return dt.date(year, month, day)
        return last + dt.timedelta(days=self.days)

    def held_since(self, today: dt.date) -> dt.date:
        """The earliest day a last meeting may have been held for the next one not to be
        overdue on ``today`` (due on or after it); one held before it is overdue."""
        if not self.months:
            return today - dt.timedelta(days=self.days)
        month = today.month - 1 - self.months
        year, month = today.year + month // 12, month % 12 + 1
        since = dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
        # A month's last days all fall due on a shorter month's last day (31 Jan → 28 Feb):
        # step on to the first day whose meeting falls due on or after today.
        while self.due_after(since) < today:
            since += dt.timedelta(days=1)
        return since


RHYTHMS: dict[str, Rhythm] = {
    Level.BUILDING: Rhythm(days=7),
    Level.COMPOUND: Rhythm(days=14),
    Level.COMMITTEE: Rhythm(months=1),
}

LEVEL_KINDS: dict[str, frozenset[str]] = {
    Level.BUILDING: frozenset({AreaKind.BUILDING}),
    Level.COMPOUND: frozenset({AreaKind.GRID}),
    Level.COMMITTEE: frozenset({AreaKind.COMPOUND, AreaKind.COMMUNITY, AreaKind.VILLAGE}),
}
LEVEL_OF_KIND: dict[str, str] = {
    kind: level for level, kinds in LEVEL_KINDS.items() for kind in kinds
}
MEETING_KINDS: frozenset[str] = frozenset(LEVEL_OF_KIND)

MEETING_ROLES: frozenset[str] = frozenset(
    {Role.ADMIN, Role.COUNTY, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING}
)


def level_for(kind: str) -> str | None:
    """The meeting a node of ``kind`` holds, or None."""
    return LEVEL_OF_KIND.get(kind)


class State(models.TextChoices):
    PLANNED = "planned", _("planned")
    HELD = "held", _("held")
    CANCELLED = "cancelled", _("cancelled")


# A planned meeting is held (its attendance and minutes written) or called off; a held
# meeting stays held — what changes after is a correction appended to it.
TRANSITIONS: dict[str, frozenset[str]] = {
    State.PLANNED: frozenset({State.HELD, State.CANCELLED}),
    State.HELD: frozenset(),
    State.CANCELLED: frozenset(),
}

POINTS_RULE = "meeting_attended"

# A decision drafted as a proposal: its voting window, until the draft is edited.
PROPOSAL_DRAFT_DAYS = 30


def attendance_act_key(meeting_id: int, person_id: int, round_: int = 0) -> str:
    """What attending earns points for. ``round_``: how many times the person was marked
    present at this meeting before (struck off and added back), so an attendance added back
    earns again, its earlier one reversed."""
    key = f"meeting:{meeting_id}:person:{person_id}"
    return f"{key}:{round_}" if round_ else key
