"""Which role may do what with points, written down once as data.

Out of scope is 404 (the person or the item does not exist for that user); in scope but not
allowed for the role is 403.

- Every worker on the tree sees the balances, rankings and ledgers of their scope (heads
  keep an eye on their own standing; 最美三长 is chosen from it).
- Manual awards and deductions (with a reason) are for the community's secretary and
  workers and the offices above them (street, county) over the person's home: they run the
  points system (积分制管理) and answer for it; heads below the community earn points, they
  do not hand them out.
- The moral bank (道德银行) is the community's: its workers register good deeds (储蓄登记),
  list reward items and hand them over (兑换). The offices above supervise; they do not
  keep a community's stock.
"""

from grids.access import Role, scope_for

VIEW = "view"
MANUAL = "manual"
BANK = "bank"

ACTIONS = (VIEW, MANUAL, BANK)

ALLOWED: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(ACTIONS),
    Role.COUNTY: frozenset({VIEW, MANUAL}),
    Role.STREET: frozenset({VIEW, MANUAL}),
    Role.COMMUNITY: frozenset({VIEW, MANUAL, BANK}),
    Role.GRID: frozenset({VIEW}),
    Role.BUILDING: frozenset({VIEW}),
    Role.UNIT: frozenset({VIEW}),
    Role.DEPARTMENT: frozenset(),
}


def role_may(role: str | None, action: str) -> bool:
    return role is not None and action in ALLOWED.get(role, frozenset())


def user_may(user, action: str) -> bool:
    """Whether ``user`` may take ``action`` somewhere (the navbar shows the page only then)."""
    return any(role_may(role, action) for role in scope_for(user).roles)


def roles_allowed(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ALLOWED.items() if action in actions)
