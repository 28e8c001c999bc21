"""A proposal's states and who may do what, written down once as data.

Out of scope is always 404 (the proposal does not exist for that user); in scope but not
allowed for the role is 403.
"""

from deliberation.models import Proposal
from grids.access import Role, scope_for
from grids.rules import AreaKind

S = Proposal.State

# draft → discussion → voting → closed. Closing is the portal's own step, when the window
# ends (``services.proposal_close``); the others are a worker's.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.DISCUSSION}),
    S.DISCUSSION: frozenset({S.VOTING}),
    S.VOTING: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}
# What residents see: a draft is the workers' own.
PUBLISHED_STATES = frozenset({S.DISCUSSION, S.VOTING, S.CLOSED})
OPEN_STATES = frozenset({S.DISCUSSION, S.VOTING})

# Where a proposal may be put: a community or village and anything below it down to a unit
# (a lift in one stairwell).
PROPOSAL_AREA_KINDS = frozenset(
    {
        AreaKind.COMMUNITY,
        AreaKind.VILLAGE,
        AreaKind.COMPOUND,
        AreaKind.GRID,
        AreaKind.BUILDING,
        AreaKind.UNIT,
    }
)

VIEW = "view"
MANAGE = "manage"  # create, edit a draft, open discussion and voting, cost split, progress
PAPER = "paper"  # record and confirm paper ballots at a meeting

ALLOWED: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset({VIEW, MANAGE, PAPER}),
    Role.COUNTY: frozenset({VIEW}),
    Role.STREET: frozenset({VIEW, MANAGE, PAPER}),
    Role.COMMUNITY: frozenset({VIEW, MANAGE, PAPER}),
    Role.GRID: frozenset({VIEW, PAPER}),
    Role.BUILDING: frozenset({VIEW}),
    Role.UNIT: frozenset({VIEW}),
    Role.DEPARTMENT: frozenset(),
}


def role_may(role: str | None, action: str) -> bool:
    return role is not None and action in ALLOWED.get(role, frozenset())


def user_may(user, action: str) -> bool:
    """Whether ``user`` may take ``action`` somewhere (the list, the navbar's link)."""
    return any(role_may(role, action) for role in scope_for(user).roles)


def roles_allowed(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ALLOWED.items() if action in actions)


def threshold_passes(*, votes_for: int, eligible: int, numerator: int, denominator: int) -> bool:
    """Strictly above the threshold: ``for / eligible > numerator / denominator``, in whole
    numbers (exactly two thirds fails)."""
    return eligible > 0 and votes_for * denominator > numerator * eligible
