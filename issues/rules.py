"""The six-step loop as data: which step may happen in which state, who the system is, and
the rungs a problem climbs.

``MOVES`` is the whole state machine: for each step, the states it may start from and the
state it leads to (``STAY`` for a step that keeps the state: a reminder, a rating's own
record, a return visit); ``TRANSITIONS`` is the same read by state, without the steps that
stay. ``issues.services.workflow.ticket_step`` is the one function that takes a step.
``SYSTEM`` is the portal acting on its own. ``LADDER`` lists, lowest first, who answers at
each level of the tree; routing by tier starts at a tier's rung, and escalation (上提一级)
goes to the next rung up that has somebody in post.
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
# Taken on: every state but declined (受理/核实 refused it, or merged it into another).
# Intake and every other figure count these; a declined report is no problem of ours.
TAKEN_ON_STATES: frozenset[str] = frozenset(S.values) - {S.DECLINED}
# A duplicate may be merged into a problem that is still being worked or awaits its rating.
MERGE_TARGET_STATES: frozenset[str] = OPEN_STATES | AWAITING_RATING_STATES
# Ended: no longer open, solved or declined (what Open311 calls "closed").
ENDED_STATES: frozenset[str] = frozenset(S.values) - OPEN_STATES
# Final: nothing more comes of it for the reporter: closed after the rating, or declined.
FINAL_STATES: frozenset[str] = ENDED_STATES - AWAITING_RATING_STATES

# Ratings that give an opinion ("not rated" is none), and of them the satisfied ones.
RATED: tuple[str, ...] = (
    Ticket.Rating.SATISFIED,
    Ticket.Rating.BASIC,
    Ticket.Rating.UNSATISFIED,
)
SATISFIED: tuple[str, ...] = (Ticket.Rating.SATISFIED, Ticket.Rating.BASIC)
# 小事不出网格、大事不出社区、难事不出街道: the four bands of where problems were solved.
BAND_LEVELS: dict[str, tuple[str, ...]] = {
    "grid": (Level.UNIT, Level.BUILDING, Level.GRID),
    "community": (Level.COMMUNITY,),
    "street": (Level.STREET,),
    "above": (Level.COUNTY, Level.DEPARTMENT),
}

# The step keeps the ticket in the state it is in.
STAY = None

# step: (states it may start from, state it leads to)
MOVES: dict[str, tuple[frozenset[str], str | None]] = {
    E.ASSIGN: (frozenset({S.REPORTED}), S.ASSIGNED),
    E.ACCEPT: (frozenset({S.ASSIGNED}), S.IN_PROGRESS),
    E.PROGRESS: (IN_HAND_STATES, S.IN_PROGRESS),
    E.ESCALATE: (IN_HAND_STATES, S.ASSIGNED),
    E.REPORT_UP: (IN_HAND_STATES, S.ASSIGNED),
    E.MEETING: (IN_HAND_STATES, S.ASSIGNED),
    E.RESOLVE: (IN_HAND_STATES, S.RESOLVED),
    E.REOPEN: (AWAITING_RATING_STATES, S.IN_PROGRESS),
    E.CLOSE: (AWAITING_RATING_STATES, S.CLOSED),
    # 受理/核实: the triager declines a report, or merges a duplicate into another problem
    E.DECLINE: (frozenset({S.REPORTED}), S.DECLINED),
    E.MERGE: (frozenset({S.REPORTED}), S.DECLINED),
    # steps that keep the state
    E.REMIND: (IN_HAND_STATES, STAY),
    E.RECTIFY: (IN_HAND_STATES, STAY),
    E.DEPARTMENT_REPORT: (IN_HAND_STATES, STAY),
    # the county office's review of the departments' reports: accepted (the resolve follows
    # in the same write) or one part sent back to its department
    E.REVIEW: (IN_HAND_STATES, STAY),
    E.SEND_BACK: (IN_HAND_STATES, STAY),
    E.RATE: (AWAITING_RATING_STATES, STAY),
    E.RETURN_VISIT: (SOLVED_STATES, STAY),
    E.MERGED_IN: (MERGE_TARGET_STATES, STAY),
}

TRANSITIONS: dict[str, frozenset[str]] = {
    state: frozenset(to for froms, to in MOVES.values() if state in froms and to is not STAY)
    for state in S.values
}


def next_state(state: str, step: str) -> str | None:
    """The state ``step`` leads to from ``state``; None where the step is not legal."""
    froms, to = MOVES.get(step, (frozenset(), STAY))
    if state not in froms:
        return None
    return state if to is STAY else to


def steps_legal_in(state: str) -> frozenset[str]:
    return frozenset(step for step, (froms, _to) in MOVES.items() if state in froms)


class SystemActor:
    """The portal acting on its own: the deadline jobs, intake through an API key, the demo.
    Never a user: its steps are recorded with no actor (``TicketEvent.actor`` empty, as
    always for the system). It is not authorised like a person, but takes only
    ``SYSTEM_STEPS``; steps that need a person (a reminder, a meeting, calling the reporter
    back) refuse it."""

    is_authenticated = False
    is_superuser = False
    is_active = False
    pk = None

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()


class ReporterActor:
    """A reporter acting for themselves, on the resident pages or through their tracking
    link: ``reporter`` is their ``issues.TicketReporter`` row. Takes ``REPORTER_STEPS`` on
    that row's problem only; recorded with no user (``TicketEvent.reporter`` says who)."""

    is_authenticated = False
    is_superuser = False
    is_active = False
    pk = None

    def __init__(self, reporter):
        self.reporter = reporter

    def __repr__(self) -> str:
        return f"ReporterActor({self.reporter.pk})"


# What the system does: triage and route on intake, lift and rectify what is overdue, close
# what is not rated; the demo (and tests) also work tickets and report for departments with
# no login. It never rates: a rating is the reporter's (``ReporterActor``) or a return
# call's.
SYSTEM_STEPS: frozenset[str] = frozenset(
    {
        E.ASSIGN,
        E.ACCEPT,
        E.PROGRESS,
        E.ESCALATE,
        E.REPORT_UP,
        E.RECTIFY,
        E.DEPARTMENT_REPORT,
        E.RESOLVE,
        E.REOPEN,
        E.CLOSE,
    }
)

# What a reporter does on the resident pages or through the tracking link: rate (and the
# closing or reopening that follows a rating).
REPORTER_STEPS: frozenset[str] = frozenset({E.RATE, E.REOPEN, E.CLOSE})

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
