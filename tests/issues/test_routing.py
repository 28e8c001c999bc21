"""Routing by tier (三级服务体系): the tree decides who handles a ticket and by when."""

import pytest
from django.core.exceptions import ValidationError

from grids import services as grid_services
from grids.rules import PostTitle
from issues import services
from issues.models import Level, Ticket, TicketEvent
from issues.services import TicketError

from .helpers import TIER_POLICIES, events, last_event

S = Ticket.State


@pytest.mark.parametrize(
    ("place", "tier", "level", "handled_at"),
    [
        ("U1", "simple", Level.UNIT, "u1"),
        ("B1", "simple", Level.BUILDING, "b1"),  # no unit over B1: passed over silently
        ("G1", "simple", Level.GRID, "g1"),  # neither unit nor building over G1
        ("U1", "complex", Level.GRID, "g1"),
        ("B1", "complex", Level.GRID, "g1"),
        ("U1", "hard", Level.STREET, "street"),
        ("U4", "hard", Level.STREET, "street"),
        ("U3", "complex", Level.COMMUNITY, "community_a"),  # G2 has no grid head
    ],
)
def test_each_tier_goes_to_its_rung(t, place, tier, level, handled_at):
    ticket = t.report(place, tier=tier, actor=t.users["county"])
    assert ticket.state == S.ASSIGNED
    assert (ticket.tier, ticket.level) == (tier, level)
    assert ticket.handler_area == getattr(t, handled_at)
    assigned = last_event(ticket)
    assert (assigned.kind, assigned.level, assigned.handler_area) == (
        TicketEvent.Kind.ASSIGN,
        level,
        getattr(t, handled_at),
    )
    days, _rectify = TIER_POLICIES[tier]
    assert ticket.deadline == services.working_deadline(ticket.assigned_at, days)


def test_a_node_with_nobody_in_post_is_named_in_the_note(t):
    ticket = t.report("U3", tier="complex")
    note = last_event(ticket).text
    assert t.g2.name in note and str(Level.GRID.label) in note
    assert str(Level.COMMUNITY.label) in note


def test_hard_goes_straight_to_the_county_office_when_set(t):
    t.settings(hard_via_street=False)
    ticket = t.report("U1", tier="hard")
    assert (ticket.level, ticket.handler_area) == (Level.COUNTY, t.county)


def test_a_simple_ticket_at_a_unit_goes_to_its_unit_head(t):
    ticket = t.report("U1", tier="simple")
    assert (ticket.level, ticket.handler_area) == (Level.UNIT, t.u1)
    holders = services.holders_of(ticket.handler_area, ticket.level)
    assert list(holders) == [t.users["unit_head"]]
    assert last_event(ticket).text == ""


def test_with_the_unit_head_gone_a_simple_ticket_goes_to_the_building_head(t):
    t.end_post("unit_head")

    ticket = t.report("U1", tier="simple")

    assert (ticket.level, ticket.handler_area) == (Level.BUILDING, t.b1)
    note = last_event(ticket).text
    assert t.u1.name in note and str(Level.UNIT.label) in note  # who was missing
    assert str(Level.BUILDING.label) in note  # where it went instead


def test_a_unit_that_never_had_a_head_is_passed_over_and_named(t):
    ticket = t.report("U2", tier="simple")
    assert (ticket.level, ticket.handler_area) == (Level.BUILDING, t.b1)
    assert t.u2.name in last_event(ticket).text


def test_every_missing_rung_is_named(t):
    t.end_post("unit_head")
    t.end_post("building_head")
    ticket = t.report("U1", tier="simple")
    assert (ticket.level, ticket.handler_area) == (Level.GRID, t.g1)
    note = last_event(ticket).text
    assert t.u1.name in note and t.b1.name in note


def test_a_grid_worker_answers_for_the_grid_when_the_head_is_gone(t):
    worker = grid_services.person_get_or_create(name="网格员小刘", phone="13800000009")
    grid_services.post_assign(area=t.g1, title=PostTitle.GRID_WORKER, person=worker)
    t.end_post("grid_head")
    ticket = t.report("U1", tier="complex")
    assert (ticket.level, ticket.handler_area) == (Level.GRID, t.g1)
    assert last_event(ticket).text == ""


EVERYONE_OVER_U1 = ("unit_head", "building_head", "grid_head", "community", "street", "county")


def test_with_nobody_in_post_anywhere_triage_is_refused(t):
    ticket = t.report("U1")
    for persona in EVERYONE_OVER_U1:
        t.end_post(persona)

    with pytest.raises(TicketError) as refused:
        services.ticket_assign(ticket=ticket, tier="simple", actor=t.user("admin"))

    assert refused.value.messages
    ticket.refresh_from_db()
    assert (ticket.state, ticket.version, ticket.level) == (S.REPORTED, 1, "")
    assert len(events(ticket)) == 1


def test_reporting_with_a_tier_where_nobody_is_in_post_saves_nothing(t):
    for persona in EVERYONE_OVER_U1:
        t.end_post(persona)
    with pytest.raises(TicketError):
        t.report("U1", tier="hard")
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()


def test_an_unknown_tier_is_refused(t):
    ticket = t.report("U1")
    with pytest.raises(ValidationError) as refused:
        services.ticket_assign(ticket=ticket, tier="urgent", actor=t.user("grid_head"))
    assert "tier" in refused.value.message_dict
    ticket.refresh_from_db()
    assert ticket.state == S.REPORTED


def test_reporting_with_a_tier_returns_the_assigned_ticket(t):
    ticket = services.ticket_report(
        area=t.u1,
        category=t.repair,
        channel=Ticket.Channel.WECHAT,
        description="电梯坏了",
        reporter_phone="13700009999",
        tier="simple",
    )
    # the caller gets the triaged ticket, so an expected_version taken from it is current
    assert (ticket.state, ticket.level, ticket.version) == (S.ASSIGNED, Level.UNIT, 2)
    assert ticket.handler_area == t.u1 and ticket.deadline is not None
    services.ticket_accept(ticket=ticket, actor=t.user("unit_head"), expected_version=2)
