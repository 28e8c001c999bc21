"""Which actions a user may take on a ticket now, from the ticket's state and level and the
user's posts. Views show exactly these actions; services refuse anything else."""

from grids.access import Role, scope_for
from issues.models import DepartmentTask, Level, Ticket, Tier
from issues.rules import AWAITING_RATING_STATES, IN_HAND_STATES, SOLVED_STATES

S = Ticket.State

ASSIGN = "assign"
ACCEPT = "accept"
PROGRESS = "progress"
ESCALATE = "escalate"
RESOLVE = "resolve"
REMIND = "remind"
MEETING = "meeting"
DEPARTMENT_REPORT = "department_report"
RATE = "rate"
RETURN_VISIT = "return_visit"

ROLE_LEVEL = {
    Role.UNIT: Level.UNIT,
    Role.BUILDING: Level.BUILDING,
    Role.GRID: Level.GRID,
    Role.COMMUNITY: Level.COMMUNITY,
    Role.STREET: Level.STREET,
    Role.COUNTY: Level.COUNTY,
}
LEVEL_RANK = {
    level: i
    for i, level in enumerate(
        [
            Level.UNIT,
            Level.BUILDING,
            Level.GRID,
            Level.COMMUNITY,
            Level.STREET,
            Level.COUNTY,
            Level.DEPARTMENT,
        ]
    )
}
TRIAGE_ROLES = {Role.GRID, Role.COMMUNITY, Role.STREET, Role.COUNTY, Role.ADMIN}


def is_handler(user, ticket: Ticket) -> bool:
    """Does ``user`` hold the post the ticket is currently with?"""
    if not ticket.handler_area_id or ticket.level == Level.DEPARTMENT:
        return False
    scope = scope_for(user)
    return any(
        g.area_id == ticket.handler_area_id and ROLE_LEVEL.get(g.role) == ticket.level
        for g in scope.grants
    )


def _supervises(user, ticket: Ticket) -> bool:
    """A role strictly above the ticket's current level, over the place it is handled; the
    departments answer to the county office that assigned them."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    area = ticket.handler_area or ticket.area
    role = scope.role_for(area)
    if ticket.level == Level.DEPARTMENT:
        return role == Role.COUNTY
    if role is None or role not in ROLE_LEVEL:
        return False
    return LEVEL_RANK[ROLE_LEVEL[role]] > LEVEL_RANK.get(ticket.level, -1)


def open_tasks_for(user, ticket: Ticket, tasks=None) -> list[DepartmentTask]:
    departments = set(scope_for(user).department_ids)
    if not departments:
        return []
    tasks = ticket.tasks.all() if tasks is None else tasks
    return [t for t in tasks if t.department_id in departments and t.status == t.Status.OPEN]


def triage_tiers(user, area) -> set[str]:
    """The tiers ``user`` may give a problem at ``area``: anyone from the grid up triages
    fully; a unit or building head, as first asker, may keep a simple problem or pass a
    complex one to the grid head, but only the grid and above report a hard one up."""
    role = scope_for(user).role_for(area)
    if role in TRIAGE_ROLES:
        return {Tier.SIMPLE, Tier.COMPLEX, Tier.HARD}
    if role in (Role.UNIT, Role.BUILDING):
        return {Tier.SIMPLE, Tier.COMPLEX}
    return set()


def may_hold_meetings(user, area) -> bool:
    scope = scope_for(user)
    return scope.is_admin or scope.role_for(area) == Role.COUNTY


def ticket_actions(user, ticket: Ticket, tasks=None) -> set[str]:
    scope = scope_for(user)
    actions: set[str] = set()
    in_scope = scope.is_admin or scope.role_for(ticket.area) is not None
    handler = is_handler(user, ticket) or scope.is_admin
    state = ticket.state
    if state == S.REPORTED and (scope.role_for(ticket.area) in TRIAGE_ROLES):
        actions.add(ASSIGN)
    if state in IN_HAND_STATES and ticket.level != Level.DEPARTMENT:
        if handler:
            actions |= {PROGRESS, RESOLVE}
            if state == S.ASSIGNED:
                actions.add(ACCEPT)
        if (handler or _supervises(user, ticket)) and ticket.level != Level.COUNTY:
            actions.add(ESCALATE)
        if ticket.level == Level.COUNTY and (
            scope.is_admin or scope.role_for(ticket.handler_area or ticket.area) == Role.COUNTY
        ):
            actions.add(MEETING)
    if state in IN_HAND_STATES and _supervises(user, ticket) and not is_handler(user, ticket):
        actions.add(REMIND)
    if (
        state in IN_HAND_STATES
        and ticket.level == Level.DEPARTMENT
        and open_tasks_for(user, ticket, tasks)
    ):
        actions.add(DEPARTMENT_REPORT)
    if state in AWAITING_RATING_STATES and in_scope:
        actions.add(RATE)
    if state in SOLVED_STATES and in_scope:
        actions.add(RETURN_VISIT)
    return actions
