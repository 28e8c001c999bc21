"""The wish's states and steps, and who may take which, written down as data.

    open ──claim──▶ claimed ──fulfil──▶ fulfilled ──confirm──▶ confirmed
      ▲               │
      └──hand back────┘
    open / claimed ──done at once──▶ fulfilled       (心愿清单: 立即解决, by a worker)
    open / claimed ──plan──▶ planned                 (纳入改造计划, with a note)
    open / claimed ──explain──▶ explained            (做好解释, with the explanation)

Who may claim a wish ("near them"): a Party member whose community of registration
(双报到, ``PartyMember.registered_area``) holds the wish's place, and a member of a volunteer
team whose area holds it. Holds means the place lies in that area's subtree, so a member
registered at a community sees every wish of its grids, buildings and units, and a team
serving a whole street sees the street's. Nothing else makes a wish near: not where the
claimer lives, not a post they hold (heads sort wishes from the worker pages instead).
"""

from django.utils.translation import gettext_lazy as _

from grids.access import Role
from wishes.models import Outcome, State, WishEvent

S = State
E = WishEvent.Kind

TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.CLAIMED, S.FULFILLED, S.PLANNED, S.EXPLAINED}),
    S.CLAIMED: frozenset({S.OPEN, S.FULFILLED, S.PLANNED, S.EXPLAINED}),
    S.FULFILLED: frozenset({S.CONFIRMED}),
    S.CONFIRMED: frozenset(),
    S.PLANNED: frozenset(),
    S.EXPLAINED: frozenset(),
}

# Where each step takes a wish.
STEP_TO: dict[str, str] = {
    E.POST: S.OPEN,
    E.CLAIM: S.CLAIMED,
    E.HAND_BACK: S.OPEN,
    E.FULFIL: S.FULFILLED,
    E.DONE_AT_ONCE: S.FULFILLED,
    E.PLAN: S.PLANNED,
    E.EXPLAIN: S.EXPLAINED,
    E.CONFIRM: S.CONFIRMED,
    E.CONFIRM_LATE: S.CONFIRMED,
}

# The wish list's outcomes, each the step that sorts a wish there.
OUTCOME_STEP: dict[str, str] = {
    Outcome.DONE_AT_ONCE: E.DONE_AT_ONCE,
    Outcome.RENOVATION: E.PLAN,
    Outcome.EXPLAINED: E.EXPLAIN,
}

OPEN_STATES = frozenset({S.OPEN, S.CLAIMED})
# Taken off the list for good, one way or another.
ENDED_STATES = frozenset({S.CONFIRMED, S.PLANNED, S.EXPLAINED})

# Worker actions on the wish list.
LIST = "list"
SORT = "sort"  # done at once, renovation plan, explained
POST_FOR = "post_for"  # a wish posted for a resident who has no phone or came in person
CONFIRM_LATE = "confirm_late"

ALLOWED: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset({LIST, SORT, POST_FOR, CONFIRM_LATE}),
    Role.COUNTY: frozenset({LIST}),
    Role.STREET: frozenset({LIST, SORT, CONFIRM_LATE}),
    Role.COMMUNITY: frozenset({LIST, SORT, POST_FOR, CONFIRM_LATE}),
    Role.GRID: frozenset({LIST, SORT, POST_FOR, CONFIRM_LATE}),
    Role.BUILDING: frozenset({LIST, POST_FOR}),
    Role.UNIT: frozenset({LIST, POST_FOR}),
    Role.DEPARTMENT: frozenset(),
}

STATE_WORDS = {
    S.OPEN: _("Waiting for a Party member or volunteer"),
    S.CLAIMED: _("Claimed, being fulfilled"),
    S.FULFILLED: _("Fulfilled: please confirm"),
    S.CONFIRMED: _("Fulfilled and confirmed"),
    S.PLANNED: _("Put into the renovation plan"),
    S.EXPLAINED: _("Cannot be done: see the explanation"),
}


def role_may(role: str | None, action: str) -> bool:
    return role is not None and action in ALLOWED.get(role, frozenset())


def roles_allowed(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ALLOWED.items() if action in actions)
