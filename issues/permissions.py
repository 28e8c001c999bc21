"""Which actions a user may take on a ticket now: the steps legal in the ticket's state
(``rules.MOVES``), intersected with what the user's role may do (``ALLOWED``, written down
as data), narrowed by the level the ticket is at (``AT_LEVELS``) and the capacity the user
has towards it (the place's role, its handler, a supervisor above it, the county office
that holds it, a department with a part of it). Views show exactly these actions; the one
write path (``issues.services.workflow.ticket_step``) refuses anything else.

An action is named after the step it takes (``ASSIGN`` is the step ``assign``), except
escalating, which is also the step ``report_up`` when reported up as a hard problem.
"""

from collections.abc import Callable

from grids.access import Role, scope_for
from issues import rules
from issues.models import DepartmentTask, Level, Ticket, TicketEvent, Tier
from issues.rules import SYSTEM

S = Ticket.State
E = TicketEvent.Kind

ASSIGN = "assign"
ACCEPT = "accept"
PROGRESS = "progress"
ESCALATE = "escalate"
RESOLVE = "resolve"
REMIND = "remind"
MEETING = "meeting"
DEPARTMENT_REPORT = "department_report"
REVIEW = "review"
SEND_BACK = "send_back"
RATE = "rate"
RETURN_VISIT = "return_visit"
DECLINE = "decline"
MERGE = "merge"

ACTIONS = (
    ASSIGN,
    ACCEPT,
    PROGRESS,
    ESCALATE,
    RESOLVE,
    REMIND,
    MEETING,
    DEPARTMENT_REPORT,
    REVIEW,
    SEND_BACK,
    RATE,
    RETURN_VISIT,
    DECLINE,
    MERGE,
)
# The action that takes a step not named after one.
ACTION_OF_STEP = {E.REPORT_UP: ESCALATE}

# What each role may do to a ticket at all; the state, the level and the user's capacity
# towards the ticket then narrow it.
HANDLING = frozenset({ACCEPT, PROGRESS, RESOLVE, ESCALATE})
# The county office reviews what the departments it assigned reported back.
REVIEWING = frozenset({REVIEW, SEND_BACK})
# Triage (受理/核实): give it a tier, or decline it, or merge a duplicate into another.
TRIAGE = frozenset({ASSIGN, DECLINE, MERGE})
# RATE is a return call logged for the reporter, by someone who took no step on it but
# recording the report (``has_worked_on``).
ALLOWED: dict[str, frozenset[str]] = {
    Role.ADMIN: HANDLING | TRIAGE | REVIEWING | {REMIND, MEETING, RATE, RETURN_VISIT},
    Role.COUNTY: HANDLING | TRIAGE | REVIEWING | {REMIND, MEETING, RATE, RETURN_VISIT},
    Role.STREET: HANDLING | TRIAGE | {REMIND, RATE, RETURN_VISIT},
    Role.COMMUNITY: HANDLING | TRIAGE | {REMIND, RATE, RETURN_VISIT},
    Role.GRID: HANDLING | TRIAGE | {REMIND, RATE, RETURN_VISIT},
    Role.BUILDING: HANDLING | {REMIND, RATE, RETURN_VISIT},
    Role.UNIT: HANDLING | {RATE, RETURN_VISIT},
    Role.DEPARTMENT: frozenset({DEPARTMENT_REPORT}),
}


def role_may(role: str | None, action: str) -> bool:
    return role is not None and action in ALLOWED.get(role, frozenset())


def roles_allowed(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ALLOWED.items() if action in actions)


# The capacities in which a user acts on a ticket; each gives the role read in ALLOWED.
PLACE = "place"  # the strongest role over the place the problem is at
HANDLER = "handler"  # the post the ticket is with now (the administrator may act as it)
SUPERVISOR = "supervisor"  # a role above the ticket's level, over where it is handled
OFFICE = "office"  # the role over where it is handled (the county office holds meetings)
DEPARTMENT = "department"  # a department with an open part of it

TAKEN_AS: dict[str, tuple[str, ...]] = {
    ASSIGN: (PLACE,),
    DECLINE: (PLACE,),
    MERGE: (PLACE,),
    ACCEPT: (HANDLER,),
    PROGRESS: (HANDLER,),
    RESOLVE: (HANDLER,),
    ESCALATE: (HANDLER, SUPERVISOR),
    REMIND: (SUPERVISOR,),
    MEETING: (OFFICE,),
    DEPARTMENT_REPORT: (DEPARTMENT,),
    REVIEW: (OFFICE,),
    SEND_BACK: (OFFICE,),
    RATE: (PLACE,),
    RETURN_VISIT: (PLACE,),
}

# The levels an action is taken at (an action not named here: at any level). Departments
# only report back on their parts; there is no level above the county office to escalate to.
ON_THE_LADDER = frozenset(rules.LEVEL_ORDER)
AT_LEVELS: dict[str, frozenset[str]] = {
    ACCEPT: ON_THE_LADDER,
    PROGRESS: ON_THE_LADDER,
    RESOLVE: ON_THE_LADDER,
    ESCALATE: ON_THE_LADDER - {Level.COUNTY},
    MEETING: frozenset({Level.COUNTY}),
    DEPARTMENT_REPORT: frozenset({Level.DEPARTMENT}),
    REVIEW: frozenset({Level.COUNTY}),
    SEND_BACK: frozenset({Level.COUNTY}),
}
# While the departments' reports await the county office's review, the office reviews them
# (and may note progress): it neither resolves the problem itself nor assigns it again.
UNDER_REVIEW = frozenset({PROGRESS}) | REVIEWING

ROLE_LEVEL = {
    Role.UNIT: Level.UNIT,
    Role.BUILDING: Level.BUILDING,
    Role.GRID: Level.GRID,
    Role.COMMUNITY: Level.COMMUNITY,
    Role.STREET: Level.STREET,
    Role.COUNTY: Level.COUNTY,
}
LEVEL_ROLE = {level: role for role, level in ROLE_LEVEL.items()}
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
TRIAGE_ROLES = roles_allowed(ASSIGN)


def is_handler(user, ticket: Ticket) -> bool:
    """Does ``user`` hold the post the ticket is currently with?"""
    if user is SYSTEM or not ticket.handler_area_id or ticket.level == Level.DEPARTMENT:
        return False
    scope = scope_for(user)
    return any(
        g.area_id == ticket.handler_area_id and ROLE_LEVEL.get(g.role) == ticket.level
        for g in scope.grants
    )


# Whoever took any step on a problem has worked on it and may not rate it for the reporter:
# triage (assigning, declining, merging), handling, supervising (reminding, escalating,
# meetings), a department's report. Not so recording the report itself (the first asker may
# log the return call), logging a return visit, and logging a rating (a return call) with
# the reopening or closing that follows it.
NOT_WORKING_STEPS = frozenset({E.REPORT, E.RETURN_VISIT, E.RATE, E.REOPEN, E.CLOSE})
WORKING_STEPS = frozenset(E.values) - NOT_WORKING_STEPS


def has_worked_on(user, ticket: Ticket) -> bool:
    """Is ``user`` the handler of record (holding the post the problem is with) or anyone
    who took a step on it (``WORKING_STEPS``: any but recording the report and logging a
    return visit or call)? Then the rating is not theirs to give."""
    if user is SYSTEM or getattr(user, "pk", None) is None:
        return False
    if is_handler(user, ticket):
        return True
    return TicketEvent.objects.filter(ticket=ticket, actor=user, kind__in=WORKING_STEPS).exists()


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
    if user is SYSTEM:
        return []
    departments = set(scope_for(user).department_ids)
    if not departments:
        return []
    tasks = ticket.tasks.all() if tasks is None else tasks
    return [t for t in tasks if t.department_id in departments and t.status == t.Status.OPEN]


def awaiting_review(ticket: Ticket, tasks=None) -> bool:
    """Are departments' reports on ``ticket`` waiting for the county office's review (every
    part reported, back with the office)? ``tasks``: its parts, when the caller has them;
    otherwise one query, asked only of a problem with the county office."""
    if ticket.level != Level.COUNTY:
        return False
    if tasks is None:
        return ticket.tasks.filter(status=DepartmentTask.Status.REPORTED).exists()
    return any(t.status == t.Status.REPORTED for t in tasks)


def triage_tiers(user, area) -> set[str]:
    """The tiers ``user`` may give a problem at ``area``: anyone from the grid up triages
    fully; a unit or building head, as first asker, may keep a simple problem or pass a
    complex one to the grid head, but only the grid and above report a hard one up."""
    if user is SYSTEM:
        return set()
    role = scope_for(user).role_for(area)
    if role in TRIAGE_ROLES:
        return {Tier.SIMPLE, Tier.COMPLEX, Tier.HARD}
    if role in (Role.UNIT, Role.BUILDING):
        return {Tier.SIMPLE, Tier.COMPLEX}
    return set()


def may_report(user) -> bool:
    """Whether ``user`` may report a problem from the portal: a head or worker in post over
    some area, or an administrator (a department only takes assigned parts)."""
    scope = scope_for(user)
    return scope.is_admin or bool(scope.grants)


def holds_meetings(user) -> bool:
    """Whether ``user`` may hold assignment meetings somewhere (a county office's people,
    an administrator): the meeting pages and their link."""
    scope = scope_for(user)
    return scope.is_admin or any(role_may(g.role, MEETING) for g in scope.grants)


def may_hold_meetings(user, area) -> bool:
    if user is SYSTEM:
        return False
    scope = scope_for(user)
    return role_may(scope.role_for(area), MEETING)


def _capacities(user, ticket: Ticket, tasks) -> dict[str, Callable[[], str | None]]:
    """For each capacity, how to find the role the user holds in it (asked only when an
    action legal now needs it: some of them cost a query)."""
    scope = scope_for(user)

    def handler() -> str | None:
        if scope.is_admin:
            return Role.ADMIN
        return LEVEL_ROLE.get(ticket.level) if is_handler(user, ticket) else None

    def supervisor() -> str | None:
        if not _supervises(user, ticket) or is_handler(user, ticket):
            return None  # a handler does not remind himself
        return scope.role_for(ticket.handler_area or ticket.area)

    return {
        PLACE: lambda: scope.role_for(ticket.area),
        HANDLER: handler,
        SUPERVISOR: supervisor,
        OFFICE: lambda: scope.role_for(ticket.handler_area or ticket.area),
        DEPARTMENT: lambda: Role.DEPARTMENT if open_tasks_for(user, ticket, tasks) else None,
    }


def ticket_actions(user, ticket: Ticket, tasks=None) -> set[str]:
    """The steps legal in the ticket's state ∩ the role table, at the ticket's level, in
    the capacities the user has towards it. The system is no person: it has none."""
    if user is SYSTEM:
        return set()
    legal = rules.steps_legal_in(ticket.state)
    capacities = _capacities(user, ticket, tasks)
    actions: set[str] = set()
    for action in ACTIONS:
        if action not in legal:
            continue
        if action in AT_LEVELS and ticket.level not in AT_LEVELS[action]:
            continue
        if any(role_may(capacities[c](), action) for c in TAKEN_AS[action]):
            actions.add(action)
    if RATE in actions and has_worked_on(user, ticket):
        actions.discard(RATE)
    if actions & (REVIEWING | {RESOLVE, MEETING}):
        actions = actions & UNDER_REVIEW if awaiting_review(ticket, tasks) else actions - REVIEWING
    return actions


def _first_asker(user, ticket: Ticket) -> bool:
    """The person who reported the problem, triaging it as they report it: nothing has
    happened to it since."""
    return (
        ticket.state == S.REPORTED
        and ticket.version == 1
        and ticket.reported_by_id is not None
        and ticket.reported_by_id == user.pk
    )


def may_take(user, ticket: Ticket, step: str, *, tier: str | None = None) -> bool:
    """May the person ``user`` take ``step`` on ``ticket`` (as it is now, locked)? The step's
    action must be offered to them; triaging also needs the tier to be theirs to give
    (the first asker may give the tiers ``triage_tiers`` allows without full triage), and
    reporting up as hard is the grid's call and above. Steps that only follow another
    (closing after a rating, a rectification) are no person's own."""
    if user is SYSTEM:
        return False
    action = ACTION_OF_STEP.get(step, step)
    if action not in ACTIONS:
        return False
    if step == E.ASSIGN and tier is not None:
        if tier not in triage_tiers(user, ticket.area):
            return False
        if _first_asker(user, ticket):
            return True
    if step == E.REPORT_UP and Tier.HARD not in triage_tiers(user, ticket.area):
        return False
    return action in ticket_actions(user, ticket)
