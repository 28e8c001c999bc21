"""The six-step loop as data: which state may follow which, and the rungs a problem climbs.

``TRANSITIONS`` is the whole state machine; ``issues.services.ticket_transition`` is the one
function that moves a ticket along it. ``LADDER`` lists, lowest first, who answers at each
level of the tree; routing by tier starts at a tier's rung, and escalation (上提一级) goes to
the next rung up that has somebody in post.
"""

from grids.rules import AreaKind as K
from grids.rules import PostTitle as T
from issues.models import Level, Ticket, Tier

S = Ticket.State

TRANSITIONS: dict[str, frozenset[str]] = {
    S.REPORTED: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# (level, kinds of node at that rung, titles that answer there)
LADDER: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    (Level.UNIT, frozenset({K.UNIT}), frozenset({T.UNIT_HEAD})),
    (Level.BUILDING, frozenset({K.BUILDING}), frozenset({T.BUILDING_HEAD})),
    (Level.GRID, frozenset({K.GRID}), frozenset({T.GRID_HEAD, T.GRID_WORKER})),
    (
        Level.COMMUNITY,
        frozenset({K.COMMUNITY, K.VILLAGE}),
        frozenset({T.COMMUNITY_SECRETARY, T.COMMUNITY_WORKER, T.ZONE_HEAD}),
    ),
    (Level.STREET, frozenset({K.STREET, K.TOWN}), frozenset({T.STREET_OFFICER, T.REGION_HEAD})),
    (Level.COUNTY, frozenset({K.DISTRICT}), frozenset({T.COUNTY_OFFICER})),
)
LEVEL_ORDER: tuple[str, ...] = tuple(level for level, _kinds, _titles in LADDER)
TITLES_AT: dict[str, frozenset[str]] = {level: titles for level, _k, titles in LADDER}


def start_level(tier: str, *, hard_via_street: bool) -> str:
    """Where a tier's problems go first: simple to the unit/building head over the place,
    complex to the grid head, hard to the street on the way to the county office."""
    if tier == Tier.SIMPLE:
        return Level.UNIT
    if tier == Tier.COMPLEX:
        return Level.GRID
    return Level.STREET if hard_via_street else Level.COUNTY
