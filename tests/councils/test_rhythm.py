"""Due and overdue from fixed dates, the clock frozen; the rhythm read in fixed queries."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from councils import selectors
from councils.selectors import Status
from grids import services as grid_services
from grids.models import Area
from grids.rules import AreaKind
from tests.clock import Clock

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2025, 3, 20)  # a Thursday


@pytest.fixture
def clock():
    clock = Clock(dt.datetime(2025, 3, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    yield clock
    clock.stop()


def _rows(user, **filters):
    listed, order = selectors.rhythm_list(user, **filters)
    return {row.area.code: row for row in selectors.rhythm_rows(listed.order_by(order, "pk"))}


def test_due_and_overdue_by_level(c, clock):
    assert timezone.localdate() == TODAY
    c.held(c.b1, on=D(2025, 3, 13))  # weekly: due 20 March, today — not overdue
    c.held(c.b2, on=D(2025, 3, 12), by="community", people=[c.persons["community"]])  # due 19th
    c.held(c.g1, on=D(2025, 3, 5), by="grid_head", people=[c.persons["grid_head"]])  # due 19th
    c.held(c.community_a, on=D(2025, 2, 20), by="community", people=[c.persons["community"]])
    c.plan(c.g2, on=D(2025, 3, 25), by="community")
    rows = _rows(c.user("community"))
    assert set(rows) == {
        c.community_a.code,
        c.g1.code,
        c.g2.code,
        c.b1.code,
        c.b2.code,
    }
    assert (rows[c.b1.code].next_due, rows[c.b1.code].overdue) == (D(2025, 3, 20), False)
    assert (rows[c.b2.code].next_due, rows[c.b2.code].overdue) == (D(2025, 3, 19), True)
    assert (rows[c.g1.code].next_due, rows[c.g1.code].overdue) == (D(2025, 3, 19), True)
    # Monthly: held 20 February, due 20 March, today.
    assert (rows[c.community_a.code].next_due, rows[c.community_a.code].overdue) == (
        D(2025, 3, 20),
        False,
    )
    never = rows[c.g2.code]
    assert never.last_held is None and never.next_due is None and not never.overdue
    assert never.next_planned == D(2025, 3, 25)

    overdue = _rows(c.user("community"), status=Status.OVERDUE)
    assert set(overdue) == {c.b2.code, c.g1.code}
    assert set(_rows(c.user("community"), status=Status.NEVER)) == {c.g2.code}
    assert set(_rows(c.user("community"), status=Status.ON_TIME)) == {
        c.b1.code,
        c.community_a.code,
    }
    assert selectors.rhythm_counts(c.user("community")) == {"areas": 5, "overdue": 2, "never": 1}

    clock.set(dt.datetime(2025, 3, 21, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    counts = selectors.rhythm_counts(c.user("community"))
    assert counts["overdue"] == 4  # b1 and the committee fell due yesterday


def test_a_cancelled_or_planned_meeting_does_not_count_as_held(c, clock):
    from councils import services

    services.meeting_cancel(
        meeting=c.plan(c.b1, on=D(2025, 3, 19)), actor=c.user("building_head"), reason="雨"
    )
    c.held(c.b1, on=D(2025, 3, 1))
    rows = _rows(c.user("building_head"))
    assert set(rows) == {c.b1.code}
    assert rows[c.b1.code].last_held == D(2025, 3, 1) and rows[c.b1.code].overdue


def test_the_rhythm_is_scoped_and_narrowed(c, clock):
    assert set(_rows(c.user("building_head"))) == {c.b1.code}
    assert set(_rows(c.user("grid_head"))) == {c.g1.code, c.b1.code}
    assert set(_rows(c.user("outsider"))) == {c.community_b.code, c.g3.code, c.b3.code}
    assert set(_rows(c.user("unit_head"))) == set()
    g2 = Area.objects.get(pk=c.g2.pk)  # its tree numbers as they are now
    street = _rows(c.user("street"), within=g2)
    assert set(street) == {c.g2.code, c.b2.code}
    assert set(_rows(c.user("street"), level="building")) == {c.b1.code, c.b2.code, c.b3.code}


def test_a_compound_holds_the_committee(c, clock):
    compound = grid_services.area_create(
        code=f"{c.community_a.code}901",
        name="盐业小区",
        kind=AreaKind.COMPOUND,
        parent=c.community_a,
    )
    rows = _rows(c.user("community"), level="committee")
    assert set(rows) == {c.community_a.code, compound.code}


def _grow(c, n):
    """``n`` more buildings under G1, each with a held meeting."""
    for i in range(n):
        building = grid_services.area_create(
            code=f"{c.g1.code}{100 + i}", name=f"{10 + i}栋", kind=AreaKind.BUILDING, parent=c.g1
        )
        c.held(building, on=D(2025, 3, 1), by="grid_head", people=[c.persons["grid_head"]])


@pytest.mark.parametrize("more", [0, 12])
def test_counts_in_two_queries(c, clock, django_assert_max_num_queries, more):
    _grow(c, more)
    user = c.user("community")
    selectors.rhythm_counts(user)  # the scope read once
    with django_assert_max_num_queries(2):
        counts = selectors.rhythm_counts(user)
    assert counts["areas"] == 5 + more
    assert counts["overdue"] == more


def test_held_count_for_a_month(c, clock):
    c.held(c.b1, on=D(2025, 3, 3))
    c.held(c.b1, on=D(2025, 2, 24))
    user = c.user("street")
    assert selectors.meetings_held_count(user, start=D(2025, 3, 1), end=D(2025, 3, 31)) == 1
    assert selectors.meetings_held_count(user, start=D(2025, 2, 1), end=D(2025, 3, 31)) == 2
    b = Area.objects.get(pk=c.community_b.pk)
    assert (
        selectors.meetings_held_count(user, start=D(2025, 2, 1), end=D(2025, 3, 31), within=b) == 0
    )


def test_time_machine_is_what_freezes(c):
    with time_machine.travel(dt.datetime(2025, 1, 31, 12, tzinfo=dt.UTC), tick=False):
        assert timezone.localdate() == D(2025, 1, 31)
