"""The worker pages: allowed, outsider 404, wrong role 403, wrong method 405, the acts
through their forms, and the lists in a fixed number of queries at two sizes."""

import datetime as dt

import pytest
from django.urls import reverse

from councils.models import Attendance, Decision, MinutesCorrection
from councils.rules import State
from grids import services as grid_services
from grids.rules import AreaKind
from issues.models import Ticket
from points.models import PointBalance

pytestmark = pytest.mark.django_db

D = dt.date

ACTS = [
    "councils:agenda_add",
    "councils:hold",
    "councils:cancel",
    "councils:attendee_add",
    "councils:attendee_remove",
    "councils:correct",
    "councils:decide",
]


def _as(client, c, persona):
    client.force_login(c.users[persona])
    return client


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("building_head", 200),
        ("grid_head", 200),
        ("community", 200),
        ("county", 200),
        ("admin", 200),
        ("outsider", 200),
        ("unit_head", 403),
        ("department", 403),
    ],
)
def test_the_rhythm_and_plan_pages(client, c, persona, status):
    _as(client, c, persona)
    assert client.get(reverse("councils:rhythm")).status_code == status
    assert client.get(reverse("councils:plan")).status_code == status


def test_the_rhythm_page_lists_places_with_their_state(client, c):
    c.held(c.b1, on=D(2025, 3, 3))
    response = _as(client, c, "grid_head").get(reverse("councils:rhythm"))
    body = response.content.decode()
    assert f'data-area="{c.b1.code}"' in body and f'data-area="{c.g1.code}"' in body
    assert f'data-area="{c.b3.code}"' not in body
    assert response.context["counts"]["areas"] == 2


def test_the_rhythm_page_filters_by_area(client, c):
    response = _as(client, c, "community").get(reverse("councils:rhythm"), {"area": c.g2.code})
    assert {r.area.code for r in response.context["rows"]} == {c.g2.code, c.b2.code}
    foreign = client.get(reverse("councils:rhythm"), {"area": c.g3.code})
    assert foreign.status_code == 200 and foreign.context["rows"] == []


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("building_head", 200),
        ("community", 200),
        ("admin", 200),
        ("outsider", 404),
        ("unit_head", 403),
        ("department", 403),
    ],
)
def test_the_meeting_page(client, c, persona, status):
    meeting = c.plan()
    _as(client, c, persona)
    assert client.get(reverse("councils:meeting", args=[meeting.pk])).status_code == status
    c.hold(meeting)
    assert client.get(reverse("councils:meeting", args=[meeting.pk])).status_code == status


@pytest.mark.parametrize("name", ACTS)
def test_acts_are_posts(client, c, name):
    meeting = c.plan()
    _as(client, c, "building_head")
    assert client.get(reverse(name, args=[meeting.pk])).status_code == 405


@pytest.mark.parametrize("name", ACTS)
def test_acts_refuse_the_outsider_and_the_unit_head(client, c, name):
    meeting = c.plan()
    assert _as(client, c, "outsider").post(reverse(name, args=[meeting.pk])).status_code == 404
    assert _as(client, c, "unit_head").post(reverse(name, args=[meeting.pk])).status_code == 403


def test_plan_hold_decide_and_report_through_the_pages(client, c):
    ticket = c.report("U1")
    _as(client, c, "building_head")
    response = client.post(
        reverse("councils:plan"),
        {"area": c.b1.code, "date": "2025-03-10", "room": "议事亭", "topic": "楼道照明"},
    )
    meeting = c.b1.councils.get()
    assert response.status_code == 302 and response.url == reverse(
        "councils:meeting", args=[meeting.pk]
    )
    assert meeting.room == "议事亭" and meeting.chair == c.persons["building_head"]

    page = client.get(reverse("councils:meeting", args=[meeting.pk]))
    assert ticket in page.context["problems"]
    client.post(
        reverse("councils:agenda_add", args=[meeting.pk]),
        {"tickets": [ticket.pk], "title": "加装电梯意向", "proposed_by": c.persons["unit_head"].pk},
    )
    assert [i.ticket_id for i in meeting.agenda.all()] == [ticket.pk, None]

    client.post(
        reverse("councils:hold", args=[meeting.pk]),
        {
            "attendees": [c.persons["building_head"].pk, c.persons["unit_head"].pk],
            "minutes": "灯已报修，电梯意向下周摸底",
        },
    )
    meeting.refresh_from_db()
    assert meeting.state == State.HELD
    assert PointBalance.objects.get(person=c.persons["unit_head"]).balance > 0

    client.post(reverse("councils:correct", args=[meeting.pk]), {"text": "补记：2单元同意"})
    assert MinutesCorrection.objects.filter(meeting=meeting).count() == 1
    client.post(
        reverse("councils:attendee_remove", args=[meeting.pk]),
        {"person": c.persons["unit_head"].pk, "reason": "记错"},
    )
    assert Attendance.objects.get(person=c.persons["unit_head"]).removed_at is not None
    assert PointBalance.objects.get(person=c.persons["unit_head"]).balance == 0

    client.post(reverse("councils:decide", args=[meeting.pk]), {"text": "更换全部楼道灯"})
    decision = Decision.objects.get(meeting=meeting)
    response = client.post(
        reverse("councils:decision_problem", args=[meeting.pk, decision.pk]),
        {"category": c.repair.pk, "tier": ""},
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.ticket.channel == Ticket.Channel.MEETING
    body = client.get(reverse("councils:meeting", args=[meeting.pk])).content.decode()
    assert f"#{decision.ticket.pk}" in body and "补记：2单元同意" in body


def test_a_refused_act_is_a_message(client, c):
    meeting = c.plan()
    response = _as(client, c, "building_head").post(
        reverse("councils:hold", args=[meeting.pk]),
        {"attendees": [c.persons["building_head"].pk], "minutes": " "},
        follow=True,
    )
    assert response.status_code == 200
    assert list(response.context["messages"])
    meeting.refresh_from_db()
    assert meeting.state == State.PLANNED


def test_a_decision_of_another_meeting_is_refused(client, c):
    first, second = c.held(c.b1), c.held(c.b1, on=D(2025, 3, 10))
    _as(client, c, "building_head").post(reverse("councils:decide", args=[first.pk]), {"text": "x"})
    decision = Decision.objects.get()
    client.post(
        reverse("councils:decision_problem", args=[second.pk, decision.pk]),
        {"category": c.repair.pk},
    )
    decision.refresh_from_db()
    assert decision.ticket is None


def _grow(c, n):
    for i in range(n):
        building = grid_services.area_create(
            code=f"{c.g1.code}{100 + i}", name=f"{10 + i}栋", kind=AreaKind.BUILDING, parent=c.g1
        )
        c.held(building, on=D(2025, 3, 1), by="grid_head", people=[c.persons["grid_head"]])
        c.plan(building, on=D(2099, 1, 1), by="grid_head")


@pytest.mark.parametrize("more", [0, 15])
def test_the_rhythm_page_in_fixed_queries(client, c, django_assert_max_num_queries, more):
    _grow(c, more)
    _as(client, c, "community")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("councils:rhythm"))
    assert len(response.context["rows"]) == min(25, 5 + more)


def _fill(c, meeting, n):
    for i in range(n):
        c.report("U1", description=f"问题{i}")


@pytest.mark.parametrize("more", [0, 10])
def test_the_meeting_page_in_fixed_queries(client, c, django_assert_max_num_queries, more):
    planned = c.plan()
    _fill(c, planned, more)
    _as(client, c, "building_head")
    with django_assert_max_num_queries(18):
        response = client.get(reverse("councils:meeting", args=[planned.pk]))
    assert len(response.context["problems"]) == more
    held = c.held()
    for i in range(more):
        from councils import services

        services.meeting_decide(meeting=held, actor=c.user("building_head"), text=f"决定{i}")
    with django_assert_max_num_queries(18):
        response = client.get(reverse("councils:meeting", args=[held.pk]))
    assert len(response.context["decisions"]) == more


def test_the_meeting_page_brings_the_areas_open_wishes_and_proposals(client, c):
    from django.utils import timezone

    from deliberation.services import proposal_create
    from wishes.services import wish_post

    wish = wish_post(
        area=c.u1, title="帮忙修理楼道灯", actor=c.user("community"), resident=c.residents["U1"]
    )
    proposal = proposal_create(
        area=c.g1,
        title="加装电梯方案",
        text="1栋加装电梯",
        voting_closes_at=timezone.now() + dt.timedelta(days=30),
        actor=c.user("community"),
    )
    meeting = c.plan(c.g1, by="community")
    response = _as(client, c, "community").get(reverse("councils:meeting", args=[meeting.pk]))
    assert response.context["wishes"] == [wish]
    assert response.context["proposals"] == [proposal]
    elsewhere = c.plan(c.b2, by="community")
    response = client.get(reverse("councils:meeting", args=[elsewhere.pk]))
    assert response.context["wishes"] == [] and response.context["proposals"] == []
