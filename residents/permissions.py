"""Which role may do what with households and residents, written down once as data.

Out of scope is always 404 (the object does not exist for that user); in scope but not
allowed for the role is 403.
"""

from grids.access import Role, scope_for

LIST = "list"
DETAIL = "detail"
EDIT = "edit"
EXPORT = "export"
REVEAL = "reveal"
IMPORT = "import"
VISIT = "visit"

ACTIONS = (LIST, DETAIL, EDIT, EXPORT, REVEAL, IMPORT, VISIT)

ALLOWED: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(ACTIONS),
    Role.COUNTY: frozenset({LIST, DETAIL, EXPORT}),
    Role.STREET: frozenset({LIST, DETAIL, EXPORT}),
    Role.COMMUNITY: frozenset({LIST, DETAIL, EDIT, EXPORT, REVEAL, IMPORT, VISIT}),
    Role.GRID: frozenset({LIST, DETAIL, EDIT, EXPORT, REVEAL, VISIT}),
    Role.BUILDING: frozenset({LIST, DETAIL, VISIT}),
    Role.UNIT: frozenset({LIST, DETAIL, VISIT}),
    Role.DEPARTMENT: frozenset(),
}


def role_may(role: str | None, action: str) -> bool:
    return role is not None and action in ALLOWED.get(role, frozenset())


def user_may(user, action: str) -> bool:
    """Whether ``user`` may take ``action`` somewhere: through at least one of their roles
    (the lists, exports and imports; the navbar shows a page only then)."""
    return any(role_may(role, action) for role in scope_for(user).roles)


def may_see_birth_date(role: str | None) -> bool:
    """The birth date is eight of the ID number's digits: beside the masked number and the
    gender it leaves a few guesses, so only a role that may reveal the number sees it."""
    return role_may(role, REVEAL)


def may_see_care_tags(role: str | None) -> bool:
    """Care tags (低保户, 残疾人, 独居老人 …) are sensitive personal data: health, income and
    family situation. Only a role that may reveal the ID number sees them, filters by them or
    exports them; for the others they are left out (not masked: a tag has no harmless part)."""
    return role_may(role, REVEAL)


def roles_allowed(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ALLOWED.items() if action in actions)
