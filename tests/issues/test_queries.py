"""Query counts at two data sizes, so an N+1 fails a test."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from issues import services
from issues.models import Level, Ticket
from issues.selectors import tickets_visible_to
from issues.services import Part

SMALL, LARGE = 5, 50


def _tickets(t, n, persona):
    """``n`` tickets the persona sees; for a department handler, assigned at a meeting."""
    if persona != "department":
        for i in range(n):
            t.report(("U1", "U2", "B1", "G1")[i % 4], tier="simple" if i % 2 else None)
        return
    t.settings(hard_via_street=False)
    county = t.user("county")
    meeting = services.meeting_open(area=t.county, title="交办会", actor=county)
    deadline = timezone.now() + dt.timedelta(days=10)
    for _ in range(n):
        ticket = t.report("U1", tier="hard")
        services.meeting_assign(
            meeting=meeting,
            ticket=ticket,
            parts=[Part(department=t.housing, deadline=deadline)],
            actor=county,
        )


def _list(user):
    """What a list page does: the rows and the names it shows."""
    with CaptureQueriesContext(connection) as queries:
        rows = list(
            tickets_visible_to(user).select_related("area", "category", "handler_area", "reporter")
        )
        shown = [
            (r.area.name, r.category.name, r.handler_area and r.handler_area.name, r.reporter)
            for r in rows
        ]
    return len(shown), len(queries)


@pytest.mark.parametrize("persona", ["grid_head", "community", "county", "admin", "department"])
def test_the_ticket_list_costs_the_same_for_5_and_50(t, persona):
    _tickets(t, SMALL, persona)
    small_rows, small_queries = _list(t.user(persona))
    _tickets(t, LARGE - SMALL, persona)
    large_rows, large_queries = _list(t.user(persona))

    assert (small_rows, large_rows) == (SMALL, LARGE)
    assert large_queries == small_queries
    assert small_queries <= 3  # the user's posts, departments, and the list itself


def test_the_list_leaves_out_what_the_user_may_not_see(t):
    for place in ("U1", "U4"):
        t.report(place)
    assert tickets_visible_to(t.user("grid_head")).count() == 1
    assert tickets_visible_to(t.user("outsider")).count() == 1
    assert tickets_visible_to(t.user("street")).count() == 2
    assert not tickets_visible_to(t.user("department")).exists()
    assert Ticket.objects.count() == 2


PLACES = ["county", "street", "A", "G1", "B1", "U1"]  # shallowest to deepest


@pytest.mark.parametrize("start", [Level.UNIT, Level.GRID, Level.STREET, Level.COUNTY])
def test_route_costs_two_queries_at_any_depth(t, start, django_assert_num_queries):
    for place in PLACES:
        with django_assert_num_queries(2):
            services.route(t.place(place), start)


def test_route_costs_two_queries_however_many_rungs_are_empty(t, django_assert_num_queries):
    for persona in ("unit_head", "building_head", "grid_head", "community", "street"):
        t.end_post(persona)
    with django_assert_num_queries(2):
        found = services.route(t.u1, Level.UNIT)
    assert (found.level, found.area) == (Level.COUNTY, t.county)
    for name in (t.u1.name, t.b1.name, t.g1.name, t.community_a.name, t.street.name):
        assert name in str(found.note)
