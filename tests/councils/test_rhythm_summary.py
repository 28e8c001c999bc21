"""The stored rhythm (``MeetingRhythm``): right through plan, hold, call-off and strike-off
with the clock frozen, equal to a recount from the meetings and to what the backfill
migration writes, following a node that moves; the overdue and on-time lists read from it
by due date, paged by cursor past the count's cap, in fixed queries."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db.models import Max, Min, Q
from django.urls import reverse

from councils import rules, selectors, services
from councils.models import Meeting, MeetingRhythm
from councils.rules import State
from councils.selectors import Status
from grids import services as grid_services
from grids.models import Area
from grids.rules import AreaKind
from tests.clock import Clock

pytestmark = pytest.mark.django_db

D = dt.date
TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def clock():
    clock = Clock(dt.datetime(2025, 3, 20, 9, 0, tzinfo=TZ))
    yield clock
    clock.stop()


def _row(area) -> tuple:
    row = MeetingRhythm.objects.get(area=area)
    return row.last_held, row.next_due, row.next_planned


def _recounted() -> dict[int, tuple]:
    """Each area's rhythm worked out from its meetings, as the page used to."""
    found = Meeting.objects.values("area_id").annotate(
        level=Max("level"),
        last=Max("date", filter=Q(state=State.HELD)),
        planned=Min("date", filter=Q(state=State.PLANNED)),
    )
    return {
        r["area_id"]: (
            r["last"],
            rules.RHYTHMS[r["level"]].due_after(r["last"]) if r["last"] else None,
            r["planned"],
        )
        for r in found
    }


def _kept() -> dict[int, tuple]:
    return {
        r.area_id: (r.last_held, r.next_due, r.next_planned) for r in MeetingRhythm.objects.all()
    }


def test_the_row_follows_each_act(c, clock):
    assert not MeetingRhythm.objects.filter(area=c.b1).exists()  # never planned: no row
    first = c.plan(c.b1, on=D(2025, 3, 13))
    assert _row(c.b1) == (None, None, D(2025, 3, 13))
    later = c.plan(c.b1, on=D(2025, 3, 27))
    assert _row(c.b1) == (None, None, D(2025, 3, 13))
    c.hold(first)
    assert _row(c.b1) == (D(2025, 3, 13), D(2025, 3, 20), D(2025, 3, 27))  # weekly
    services.meeting_cancel(meeting=later, actor=c.user("building_head"), reason="下雨")
    assert _row(c.b1) == (D(2025, 3, 13), D(2025, 3, 20), None)
    # Striking someone off a held meeting leaves it held: the row does not move.
    services.meeting_attendee_remove(
        meeting=first, person=c.persons["unit_head"], actor=c.user("building_head"), reason="记错"
    )
    assert _row(c.b1) == (D(2025, 3, 13), D(2025, 3, 20), None)
    # An older meeting recorded late does not move the last held back.
    c.held(c.b1, on=D(2025, 3, 6))
    assert _row(c.b1) == (D(2025, 3, 13), D(2025, 3, 20), None)
    # Monthly, on the last day of a longer month: due on the shorter month's last day.
    c.held(c.community_a, on=D(2025, 1, 31), by="community", people=[c.persons["community"]])
    assert _row(c.community_a)[:2] == (D(2025, 1, 31), D(2025, 2, 28))
    assert MeetingRhythm.objects.get(area=c.community_a).community_id == c.community_a.pk
    assert _kept() == _recounted()


def test_overdue_turns_with_the_clock_not_with_the_row(c, clock):
    c.held(c.b1, on=D(2025, 3, 13))  # due 20 March, today
    user = c.user("community")
    assert selectors.rhythm_counts(user)["overdue"] == 0
    assert list(selectors.rhythm_due(user, overdue=False)) == [MeetingRhythm.objects.get()]
    clock.set(dt.datetime(2025, 3, 21, 9, 0, tzinfo=TZ))
    assert selectors.rhythm_counts(user) == {"areas": 5, "overdue": 1, "never": 4}
    [row] = selectors.rhythm_rows(selectors.rhythm_due(user))
    assert (row.area, row.overdue, row.next_due) == (c.b1, True, D(2025, 3, 20))


def test_the_backfill_writes_what_the_services_keep(c, clock):
    c.held(c.b1, on=D(2025, 3, 13))
    c.plan(c.b1, on=D(2025, 3, 27))
    c.held(c.g1, on=D(2025, 3, 5), by="grid_head", people=[c.persons["grid_head"]])
    services.meeting_cancel(
        meeting=c.plan(c.b2, on=D(2025, 3, 18), by="community"),
        actor=c.user("community"),
        reason="改期",
    )
    kept = _kept()
    keys = {
        r.area_id: (r.district_id, r.street_id, r.community_id, r.grid_id)
        for r in MeetingRhythm.objects.all()
    }
    MeetingRhythm.objects.all().delete()
    importlib.import_module("councils.migrations.0004_meeting_rhythm_backfill").backfill(apps, None)
    assert _kept() == kept == _recounted()
    assert kept[c.b2.pk] == (None, None, None)  # only a called-off meeting: never met
    assert services.rhythms_rebuild() == 3  # the same from the services (a bulk seed)
    assert _kept() == kept
    assert {
        r.area_id: (r.district_id, r.street_id, r.community_id, r.grid_id)
        for r in MeetingRhythm.objects.all()
    } == keys


def test_the_row_follows_a_grid_that_moves(c, clock):
    c.held(c.b1, on=D(2025, 3, 1))  # overdue: due 8 March
    assert selectors.rhythm_counts(c.user("outsider"))["overdue"] == 0
    grid_services.area_move(area=Area.objects.get(pk=c.g1.pk), parent=c.community_b)
    row = MeetingRhythm.objects.get(area=c.b1)
    assert (row.community_id, row.grid_id) == (c.community_b.pk, c.g1.pk)
    assert Meeting.objects.get(area=c.b1).community_id == c.community_b.pk
    outsider = c.user("outsider")  # the other community's worker
    assert [r.area_id for r in selectors.rhythm_due(outsider)] == [c.b1.pk]
    assert selectors.rhythm_counts(c.user("community"))["overdue"] == 0


def _buildings(c, n, *, on, step=1):
    for i in range(n):
        building = grid_services.area_create(
            code=f"{c.g1.code}{200 + i}", name=f"{20 + i}栋", kind=AreaKind.BUILDING, parent=c.g1
        )
        c.held(
            building,
            on=on - dt.timedelta(days=i * step),
            by="grid_head",
            people=[c.persons["grid_head"]],
        )


def test_the_overdue_list_is_by_due_date_and_pages_past_the_cap(client, c, clock, monkeypatch):
    import core.keyset

    _buildings(c, 30, on=D(2025, 3, 10))
    monkeypatch.setattr(core.keyset, "COUNT_CAP", 10)  # past the cap: pages by cursor
    client.force_login(c.user("community"))
    url = reverse("councils:rhythm")
    first = client.get(url, {"status": Status.OVERDUE})
    rows = first.context["rows"]
    due = [r.next_due for r in rows]
    assert len(rows) == 25 and due == sorted(due)  # the longest overdue first
    assert due[0] == D(2025, 3, 17) - dt.timedelta(days=29)
    page = first.context["page"]
    assert page.count_capped and page.next_cursor
    second = client.get(url, {"status": Status.OVERDUE, "after": page.next_cursor})
    assert [r.next_due for r in second.context["rows"]] == [
        D(2025, 3, 17) - dt.timedelta(days=i) for i in range(4, -1, -1)
    ]
    back = client.get(
        url, {"status": Status.OVERDUE, "before": second.context["page"].previous_cursor}
    )
    assert [r.area.pk for r in back.context["rows"]] == [r.area.pk for r in rows]


@pytest.mark.parametrize("more", [0, 20])
@pytest.mark.parametrize("status", [Status.OVERDUE, Status.ON_TIME, Status.NEVER])
def test_the_status_lists_in_fixed_queries(
    client, c, clock, django_assert_max_num_queries, more, status
):
    if status == Status.ON_TIME:
        _buildings(c, more, on=D(2025, 3, 19), step=0)  # due 26 March
    else:
        _buildings(c, more, on=D(2025, 3, 1))
    client.force_login(c.user("community"))
    url = reverse("councils:rhythm")
    client.get(url, {"status": status})
    with django_assert_max_num_queries(13):
        response = client.get(url, {"status": status})
    expected = {Status.NEVER: 5, Status.OVERDUE: more, Status.ON_TIME: more}[status]
    assert len(response.context["rows"]) == min(25, expected)
