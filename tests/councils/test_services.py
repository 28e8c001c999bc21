import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from councils import rules, services
from councils.models import Attendance, MeetingEvent, MinutesCorrection
from councils.rules import Level, State
from issues.models import Ticket
from points.models import PointBalance, PointEntry, PointRule

pytestmark = pytest.mark.django_db


def _points(person) -> int:
    row = PointBalance.objects.filter(person=person).first()
    return row.balance if row else 0


def _award() -> int:
    return PointRule.objects.get(code=rules.POINTS_RULE).points


def test_the_level_follows_the_kind_of_place(c):
    assert c.plan(c.b1).level == Level.BUILDING
    assert c.plan(c.g1, by="grid_head").level == Level.COMPOUND
    assert c.plan(c.community_a, by="community").level == Level.COMMITTEE
    with pytest.raises(ValidationError):
        c.plan(c.u1, by="community")


def test_a_meeting_keeps_its_place_keys(c):
    meeting = c.plan(c.b1)
    assert (meeting.community_id, meeting.grid_id) == (c.community_a.pk, c.g1.pk)


@pytest.mark.parametrize(
    ("persona", "area", "allowed"),
    [
        ("building_head", "b1", True),
        ("grid_head", "b1", True),
        ("community", "b1", True),
        ("street", "g1", True),
        ("county", "community_a", True),
        ("admin", "b1", True),
        ("unit_head", "b1", False),
        ("building_head", "g1", False),
        ("outsider", "b1", False),
        ("department", "b1", False),
    ],
)
def test_heads_of_the_area_and_above_plan_meetings(c, persona, area, allowed):
    place = getattr(c, area)
    if allowed:
        assert c.plan(place, by=persona).state == State.PLANNED
    else:
        with pytest.raises(PermissionDenied):
            c.plan(place, by=persona)


def test_holding_awards_each_attendee_once(c):
    meeting = c.plan()
    c.hold(meeting, people=[c.persons["building_head"], c.resident_person])
    meeting.refresh_from_db()
    assert meeting.state == State.HELD and meeting.minutes == "议定三件事"
    assert _points(c.persons["building_head"]) == _award()
    assert _points(c.resident_person) == _award()
    assert _points(c.persons["unit_head"]) == 0
    keys = set(
        PointEntry.objects.filter(rule__code=rules.POINTS_RULE).values_list("act_key", flat=True)
    )
    assert keys == {
        f"meeting:{meeting.pk}:person:{c.persons['building_head'].pk}",
        f"meeting:{meeting.pk}:person:{c.resident_person.pk}",
    }
    with pytest.raises(ValidationError):  # held once only
        c.hold(meeting)


def test_a_held_meeting_needs_minutes_and_someone_present(c):
    meeting = c.plan()
    with pytest.raises(ValidationError):
        c.hold(meeting, minutes="  ")
    with pytest.raises(ValidationError):
        c.hold(meeting, people=[])
    meeting.refresh_from_db()
    assert meeting.state == State.PLANNED
    assert not PointEntry.objects.exists()


def test_only_people_of_the_area_are_marked_present(c):
    meeting = c.plan()
    with pytest.raises(ValidationError):
        c.hold(meeting, people=[c.persons["outsider"]])
    assert not Attendance.objects.exists()


def test_striking_off_reverses_the_points_and_keeps_the_row(c):
    meeting = c.held(people=[c.persons["building_head"], c.persons["unit_head"]])
    unit_head = c.persons["unit_head"]
    assert _points(unit_head) == _award()
    services.meeting_attendee_remove(
        meeting=meeting, person=unit_head, actor=c.user("building_head"), reason="当天请假"
    )
    assert _points(unit_head) == 0
    row = Attendance.objects.get(meeting=meeting, person=unit_head)
    assert row.removed_at is not None and row.removed_reason == "当天请假"
    entries = PointEntry.objects.filter(person=unit_head).order_by("pk")
    assert [e.amount for e in entries] == [_award(), -_award()]
    # Struck off by mistake and added back: present again, and their points with it; struck
    # off once more, those are reversed too. Never more than one award standing.
    services.meeting_attendee_add(meeting=meeting, person=unit_head, actor=c.user("building_head"))
    assert _points(unit_head) == _award()
    assert meeting.attendance.filter(person=unit_head, removed_at__isnull=True).count() == 1
    services.meeting_attendee_remove(
        meeting=meeting, person=unit_head, actor=c.user("building_head"), reason="确实请假"
    )
    assert _points(unit_head) == 0
    amounts = [e.amount for e in PointEntry.objects.filter(person=unit_head).order_by("pk")]
    assert amounts == [_award(), -_award(), _award(), -_award()]


def test_someone_left_off_is_added_with_their_points(c):
    meeting = c.held(people=[c.persons["building_head"]])
    services.meeting_attendee_add(
        meeting=meeting, person=c.resident_person, actor=c.user("grid_head")
    )
    assert _points(c.resident_person) == _award()
    with pytest.raises(ValidationError):
        services.meeting_attendee_add(
            meeting=meeting, person=c.resident_person, actor=c.user("grid_head")
        )
    kinds = list(meeting.events.values_list("kind", flat=True))
    assert kinds == [MeetingEvent.Kind.PLAN, MeetingEvent.Kind.HOLD, MeetingEvent.Kind.ATTENDEE_ADD]


def test_attendance_changes_only_once_held(c):
    meeting = c.plan()
    with pytest.raises(ValidationError):
        services.meeting_attendee_add(
            meeting=meeting, person=c.persons["unit_head"], actor=c.user("building_head")
        )


def test_minutes_are_corrected_by_appending(c):
    meeting = c.held()
    services.meeting_minutes_correct(
        meeting=meeting, actor=c.user("building_head"), text="第二项改为下周复查"
    )
    meeting.refresh_from_db()
    assert meeting.minutes == "议定三件事"
    assert list(MinutesCorrection.objects.values_list("text", flat=True)) == ["第二项改为下周复查"]
    with pytest.raises(ValidationError):
        services.meeting_minutes_correct(meeting=c.plan(), actor=c.user("building_head"), text="x")


def test_a_cancelled_meeting_is_not_held(c):
    meeting = services.meeting_cancel(
        meeting=c.plan(), actor=c.user("building_head"), reason="台风"
    )
    assert meeting.state == State.CANCELLED
    with pytest.raises(ValidationError):
        c.hold(meeting)


def test_the_agenda_takes_open_problems_of_the_area(c):
    meeting = c.plan(c.b1)
    here = c.report("U1")
    elsewhere = c.report("U3")
    item = services.meeting_agenda_add(meeting=meeting, actor=c.user("building_head"), ticket=here)
    assert item.ticket == here and item.title.startswith(f"#{here.pk}")
    with pytest.raises(ValidationError):  # once
        services.meeting_agenda_add(meeting=meeting, actor=c.user("building_head"), ticket=here)
    with pytest.raises(ValidationError):  # another building's problem
        services.meeting_agenda_add(
            meeting=meeting, actor=c.user("building_head"), ticket=elsewhere
        )
    proposal = services.meeting_agenda_add(
        meeting=meeting,
        actor=c.user("building_head"),
        title="加装电梯意向摸底",
        proposed_by=c.persons["unit_head"],
    )
    assert proposal.proposed_by == c.persons["unit_head"]
    c.hold(meeting)
    with pytest.raises(ValidationError):  # the agenda is closed once held
        services.meeting_agenda_add(meeting=meeting, actor=c.user("building_head"), title="y")


def test_a_decision_becomes_a_problem_in_one_step(c):
    meeting = c.held()
    decision = services.meeting_decide(
        meeting=meeting, actor=c.user("building_head"), text="1栋楼道灯全部更换"
    )
    ticket = services.decision_report_problem(
        decision=decision, actor=c.user("building_head"), category=c.repair
    )
    decision.refresh_from_db()
    assert decision.ticket == ticket
    assert ticket.channel == Ticket.Channel.MEETING
    assert ticket.area == c.b1
    assert "1栋楼道灯全部更换" in ticket.description
    assert ticket.reporter_phone == c.persons["building_head"].phone
    assert ticket.first_asker == c.users["building_head"]
    with pytest.raises(ValidationError):
        services.decision_report_problem(
            decision=decision, actor=c.user("building_head"), category=c.repair
        )
    assert Ticket.objects.filter(channel=Ticket.Channel.MEETING).count() == 1


def test_a_decision_reported_with_a_tier_is_triaged(c):
    meeting = c.held(c.g1, by="grid_head", people=[c.persons["grid_head"]])
    decision = services.meeting_decide(meeting=meeting, actor=c.user("grid_head"), text="修补路面")
    ticket = services.decision_report_problem(
        decision=decision, actor=c.user("grid_head"), category=c.repair, tier="simple"
    )
    ticket.refresh_from_db()
    assert ticket.tier == "simple" and ticket.state == Ticket.State.ASSIGNED


def test_decisions_only_on_a_held_meeting(c):
    with pytest.raises(ValidationError):
        services.meeting_decide(meeting=c.plan(), actor=c.user("building_head"), text="x")


def test_history_is_appended_for_every_act(c):
    meeting = c.held(on=dt.date(2025, 3, 3))
    services.meeting_decide(meeting=meeting, actor=c.user("building_head"), text="x")
    assert list(meeting.events.values_list("kind", flat=True)) == ["plan", "hold", "decide"]


def test_one_meeting_of_a_place_a_day_and_none_held_before_its_day(c):
    """Five meetings planned on one day would earn five attendances' points, and one held
    "in 2030" would keep the place off the overdue list for years."""
    import datetime as dt

    from django.utils import timezone

    first = c.plan(on=dt.date(2025, 3, 3))
    with pytest.raises(ValidationError):
        c.plan(on=dt.date(2025, 3, 3))
    services.meeting_cancel(meeting=first, actor=c.user("building_head"), reason="下雨改期")
    c.plan(on=dt.date(2025, 3, 3))  # the day is free again once it was called off
    later = c.plan(on=timezone.localdate() + dt.timedelta(days=3))
    with pytest.raises(ValidationError):
        c.hold(later)
    later.refresh_from_db()
    assert later.state == "planned" and not later.attendance.exists()
