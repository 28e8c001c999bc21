"""The six-step loop as data: which step may happen in which state, and the rungs a problem
climbs.

``MOVES`` is the whole state machine: for each step, the states it may start from and the
state it leads to; ``TRANSITIONS`` is the same read by state. ``issues.services`` has the one
function that moves a ticket along it (``ticket_transition``). ``LADDER`` lists, lowest first,
who answers at each level of the tree; routing by tier starts at a tier's rung, and
escalation (上提一级) goes to the next rung up that has somebody in post.
"""

from grids.rules import AreaKind as K
from grids.rules import PostTitle as T
from issues.models import Level, Ticket, TicketEvent, Tier

S = Ticket.State
E = TicketEvent.Kind

# The groups of states, named once: every list, figure, permission, page and the API reads
# these (a source scan in the tests keeps other modules from spelling a group out again).
# Open: not yet resolved, the one meaning every list, figure and digest uses.
OPEN_STATES: frozenset[str] = frozenset({S.REPORTED, S.ASSIGNED, S.IN_PROGRESS})
# In hand: with a handler, its deadline running (what can become overdue or be escalated).
IN_HAND_STATES: frozenset[str] = frozenset({S.ASSIGNED, S.IN_PROGRESS})
# Solved: resolved (the reporter's rating awaited) or closed.
SOLVED_STATES: frozenset[str] = frozenset({S.RESOLVED, S.CLOSED})
# Awaiting the reporter's rating: resolved, not yet closed.
AWAITING_RATING_STATES: frozenset[str] = frozenset({S.RESOLVED})

# step: (states it may start from, state it leads to)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    E.ASSIGN: (frozenset({S.REPORTED}), S.ASSIGNED),
    E.ACCEPT: (frozenset({S.ASSIGNED}), S.IN_PROGRESS),
    E.PROGRESS: (IN_HAND_STATES, S.IN_PROGRESS),
    E.ESCALATE: (IN_HAND_STATES, S.ASSIGNED),
    E.REPORT_UP: (IN_HAND_STATES, S.ASSIGNED),
    E.MEETING: (IN_HAND_STATES, S.ASSIGNED),
    E.RESOLVE: (IN_HAND_STATES, S.RESOLVED),
    E.REOPEN: (AWAITING_RATING_STATES, S.IN_PROGRESS),
    E.CLOSE: (AWAITING_RATING_STATES, S.CLOSED),
}

TRANSITIONS: dict[str, frozenset[str]] = {
    state: frozenset(to for froms, to in MOVES.values() if state in froms) for state in S.values
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
