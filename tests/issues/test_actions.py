"""The actions a user may take on a ticket are the steps legal in its state (``rules.MOVES``)
intersected with the role table (``permissions.ALLOWED``), narrowed by level and capacity;
the one write path authorises by the same reckoning."""

import pytest

from grids.access import Role, scope_for
from issues import permissions as perm
from issues import rules
from issues.models import Ticket, TicketEvent, Tier

from .helpers import ticket_in

S = Ticket.State
E = TicketEvent.Kind
STATES = list(S.values)
PERSONAS = (
    "unit_head",
    "building_head",
    "grid_head",
    "community",
    "street",
    "county",
    "department",
    "water",
    "admin",
    "outsider",
)


def test_every_action_is_a_step_of_the_table():
    assert set(perm.ACTIONS) <= set(rules.MOVES)
    assert set(perm.ACTIONS) == set(perm.TAKEN_AS)
    assert set(perm.ACTION_OF_STEP.values()) <= set(perm.ACTIONS)
    assert set(perm.AT_LEVELS) <= set(perm.ACTIONS)


def test_the_role_table_names_every_role_and_only_actions():
    assert set(perm.ALLOWED) == set(Role.ORDER)
    assert all(actions <= set(perm.ACTIONS) for actions in perm.ALLOWED.values())
    assert {Role.GRID, Role.COMMUNITY, Role.STREET, Role.COUNTY, Role.ADMIN} == perm.TRIAGE_ROLES
    assert perm.roles_allowed(perm.MEETING) == {Role.COUNTY, Role.ADMIN}
    assert perm.roles_allowed(perm.DEPARTMENT_REPORT) == {Role.DEPARTMENT}


@pytest.mark.parametrize("state", STATES)
def test_actions_are_legal_steps_within_the_users_roles(t, state):
    ticket = ticket_in(t, state)
    legal = rules.steps_legal_in(state)
    for persona in PERSONAS:
        user = t.user(persona)
        roles = scope_for(user).roles
        by_role = set().union(*(perm.ALLOWED[r] for r in roles)) if roles else set()
        actions = perm.ticket_actions(user, ticket)
        assert actions <= legal & by_role, persona


@pytest.mark.parametrize("state", STATES)
def test_the_write_path_authorises_exactly_the_offered_actions(t, state):
    ticket = ticket_in(t, state)
    for persona in PERSONAS:
        user = t.user(persona)
        offered = perm.ticket_actions(user, ticket)
        for action in perm.ACTIONS:
            assert perm.may_take(user, ticket, action) == (action in offered), (persona, action)


def test_the_role_table_is_the_data_the_actions_are_read_from(t, monkeypatch):
    ticket = ticket_in(t, S.ASSIGNED)
    building_head = t.user("building_head")
    assert perm.REMIND in perm.ticket_actions(building_head, ticket)

    monkeypatch.setitem(perm.ALLOWED, Role.BUILDING, perm.ALLOWED[Role.BUILDING] - {perm.REMIND})
    assert perm.REMIND not in perm.ticket_actions(building_head, ticket)
    assert perm.ESCALATE in perm.ticket_actions(building_head, ticket)


def test_the_state_table_is_the_data_the_actions_are_read_from(t, monkeypatch):
    ticket = ticket_in(t, S.RESOLVED)
    community = t.user("community")
    assert perm.ticket_actions(community, ticket) == {perm.RATE, perm.RETURN_VISIT}

    monkeypatch.setitem(rules.MOVES, E.RETURN_VISIT, (frozenset({S.CLOSED}), rules.STAY))
    assert perm.ticket_actions(community, ticket) == {perm.RATE}


def test_reporting_up_as_hard_needs_the_grid_or_above(t):
    ticket = ticket_in(t, S.ASSIGNED)
    building_head, grid_head = t.user("building_head"), t.user("grid_head")
    assert perm.ESCALATE in perm.ticket_actions(building_head, ticket)
    assert Tier.HARD not in perm.triage_tiers(building_head, ticket.area)
    assert not perm.may_take(building_head, ticket, E.REPORT_UP)
    assert perm.may_take(grid_head, ticket, E.REPORT_UP)


def test_the_first_asker_triages_only_their_own_untouched_report(t):
    unit_head = t.user("unit_head")
    own = t.report(actor=unit_head)
    other = t.report()
    assert perm.ASSIGN not in perm.ticket_actions(unit_head, own)
    assert perm.may_take(unit_head, own, E.ASSIGN, tier=Tier.SIMPLE)
    assert not perm.may_take(unit_head, own, E.ASSIGN, tier=Tier.HARD)
    assert not perm.may_take(unit_head, other, E.ASSIGN, tier=Tier.SIMPLE)
