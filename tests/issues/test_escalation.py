"""Supervision (检查督促): overdue tickets are lifted exactly one level (上提一级) and put on the
rectification list (整改清单); deadlines count working days, holidays and 调休 days."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from issues import services
from issues.models import (
    DepartmentTask,
    Holiday,
    Level,
    Notification,
    Ticket,
    TicketEvent,
    TierPolicy,
)
from issues.services import Part, working_deadline

from .helpers import end_of, events, local

S = Ticket.State
E = TicketEvent.Kind

MONDAY = local(2025, 3, 3, 9, 0)  # an ordinary week: no holidays near it
SIMPLE_DEADLINE = end_of(dt.date(2025, 3, 6))  # 3 working days: Tue, Wed, Thu
FRIDAY = local(2025, 3, 7, 9, 0)  # the morning after that deadline


@pytest.fixture
def overdue_at_unit(t, freeze):
    """A simple ticket with the unit head, assigned on Monday, overdue since Thursday night."""
    with freeze(MONDAY):
        ticket = t.report("U1", tier="simple")
    assert ticket.deadline == SIMPLE_DEADLINE
    return ticket


def _notified(ticket, persona, t):
    return Notification.objects.filter(ticket=ticket, recipient=t.users[persona])


def test_an_overdue_ticket_is_lifted_exactly_one_level(t, freeze, overdue_at_unit):
    ticket = overdue_at_unit
    with freeze(FRIDAY):
        assert services.tickets_escalate_overdue() == 1

    ticket.refresh_from_db()
    assert (ticket.state, ticket.level, ticket.handler_area) == (S.ASSIGNED, Level.BUILDING, t.b1)
    assert ticket.escalation_count == 1
    assert ticket.on_rectification_list
    # the tier's rectification limit (2 working days) from Friday: Monday, Tuesday
    assert ticket.deadline == end_of(dt.date(2025, 3, 11))
    escalated, rectified = events(ticket)[-2:]
    assert (escalated.kind, escalated.actor, escalated.at) == (E.ESCALATE, None, FRIDAY)
    assert (escalated.old_state, escalated.new_state) == (S.ASSIGNED, S.ASSIGNED)
    assert (escalated.level, escalated.handler_area) == (Level.BUILDING, t.b1)
    assert (rectified.kind, rectified.actor) == (E.RECTIFY, None)
    assert "2025年3月11日" in rectified.text  # the new deadline, as the reader reads dates
    assert _notified(ticket, "building_head", t).count() == 1


def test_running_the_job_twice_lifts_nothing_twice(t, freeze, overdue_at_unit):
    ticket = overdue_at_unit
    with freeze(FRIDAY):
        assert services.tickets_escalate_overdue() == 1
        assert services.tickets_escalate_overdue() == 0
    ticket.refresh_from_db()
    assert (ticket.level, ticket.escalation_count) == (Level.BUILDING, 1)
    assert len(events(ticket, E.ESCALATE)) == 1
    assert len(events(ticket, E.RECTIFY)) == 1
    assert _notified(ticket, "building_head", t).count() == 1


def test_running_the_job_twice_with_a_given_now_lifts_nothing_twice(t):
    ticket = t.report("U1", tier="simple")
    later = ticket.deadline + dt.timedelta(days=1)
    assert services.tickets_escalate_overdue(now=later) == 1
    assert services.tickets_escalate_overdue(now=later) == 0
    ticket.refresh_from_db()
    assert ticket.escalation_count == 1


def test_a_ticket_not_yet_due_or_already_resolved_is_left_alone(t, freeze, overdue_at_unit):
    with freeze(MONDAY):
        resolved = t.report("U2", tier="simple")
        services.ticket_resolve(ticket=resolved, actor=t.user("admin"), feedback="已解决")
    with freeze(SIMPLE_DEADLINE):  # not yet past it
        assert services.tickets_escalate_overdue() == 0
    with freeze(FRIDAY):
        assert services.tickets_escalate_overdue() == 1  # the unit ticket only
    resolved.refresh_from_db()
    assert (resolved.state, resolved.escalation_count) == (S.RESOLVED, 0)
    assert not resolved.on_rectification_list


def test_the_management_command_does_the_same(t, freeze, overdue_at_unit):
    ticket = overdue_at_unit
    out = io.StringIO()
    with freeze(FRIDAY):
        call_command("escalate_overdue", stdout=out)
        call_command("escalate_overdue", stdout=out)
    assert out.getvalue().splitlines() == [
        "overdue handled: 1; closed as not rated: 0",
        "overdue handled: 0; closed as not rated: 0",
    ]
    ticket.refresh_from_db()
    assert (ticket.level, ticket.escalation_count, ticket.on_rectification_list) == (
        Level.BUILDING,
        1,
        True,
    )
    assert len(events(ticket, E.ESCALATE)) == 1


def test_a_missing_rung_is_passed_over_when_lifting(t, freeze, overdue_at_unit):
    t.end_post("building_head")
    with freeze(FRIDAY):
        services.tickets_escalate_overdue()
    ticket = overdue_at_unit
    ticket.refresh_from_db()
    assert (ticket.level, ticket.handler_area, ticket.escalation_count) == (Level.GRID, t.g1, 1)
    assert t.b1.name in events(ticket, E.ESCALATE)[0].text


def test_at_the_county_office_it_is_rectified_in_place_with_a_reminder(t, freeze):
    t.settings(hard_via_street=False)
    with freeze(MONDAY):
        ticket = t.report("U1", tier="hard")
    assert ticket.level == Level.COUNTY
    version = ticket.version
    later = ticket.deadline + dt.timedelta(hours=10)  # Tue 2025-03-18 09:59:59

    with freeze(later):
        assert services.tickets_escalate_overdue() == 1
        assert services.tickets_escalate_overdue() == 0

    ticket.refresh_from_db()
    assert (ticket.state, ticket.level, ticket.handler_area) == (S.ASSIGNED, Level.COUNTY, t.county)
    assert ticket.escalation_count == 0
    assert ticket.on_rectification_list
    assert ticket.version == version + 1
    assert ticket.deadline == end_of(dt.date(2025, 3, 24))  # 4 working days from Tuesday
    assert not events(ticket, E.ESCALATE)
    (rectified,) = events(ticket, E.RECTIFY)
    assert (rectified.actor, rectified.at) == (None, later)
    assert _notified(ticket, "county", t).count() == 2  # the assignment, then the reminder


def test_with_nobody_above_the_street_it_is_rectified_in_place(t, freeze):
    t.end_post("county")
    with freeze(MONDAY):
        ticket = t.report("U1", tier="hard")
    assert ticket.level == Level.STREET
    with freeze(ticket.deadline + dt.timedelta(days=1)):
        assert services.tickets_escalate_overdue() == 1
    ticket.refresh_from_db()
    assert (ticket.level, ticket.escalation_count, ticket.on_rectification_list) == (
        Level.STREET,
        0,
        True,
    )
    assert not events(ticket, E.ESCALATE) and len(events(ticket, E.RECTIFY)) == 1


def _two_parts(t, freeze):
    """A hard problem at a meeting: housing's part due in 5 days, water's in 10."""
    t.settings(hard_via_street=False)
    with freeze(MONDAY):
        ticket = t.report("U1", tier="hard")
        county = t.user("county")
        meeting = services.meeting_open(area=t.county, title="三月交办会", actor=county)
        services.meeting_assign(
            meeting=meeting,
            ticket=ticket,
            parts=[
                Part(department=t.housing, deadline=MONDAY + dt.timedelta(days=5)),
                Part(department=t.water, deadline=MONDAY + dt.timedelta(days=10)),
            ],
            actor=county,
        )
    ticket.refresh_from_db()
    return ticket, {task.department: task for task in ticket.tasks.all()}


def test_a_part_past_its_own_deadline_is_reminded_and_the_county_office_told(t, freeze):
    ticket, parts = _two_parts(t, freeze)
    assert ticket.deadline == MONDAY + dt.timedelta(days=10)
    already = Notification.objects.count()
    later = MONDAY + dt.timedelta(days=6)  # housing's part late, water's not yet

    with freeze(later):
        assert services.tickets_escalate_overdue() == 0  # the problem's own deadline is ahead
        assert services.parts_escalate_overdue() == 1
        assert services.parts_escalate_overdue() == 0  # nothing twice

    housing, water = (DepartmentTask.objects.get(pk=parts[d].pk) for d in (t.housing, t.water))
    assert housing.overdue_count == 1 and housing.status == DepartmentTask.Status.OPEN
    _days, rectify_days = services.time_limit_days(ticket.tier, ticket.category)
    assert housing.deadline == services.working_deadline(later, rectify_days)
    assert (water.overdue_count, water.deadline) == (0, MONDAY + dt.timedelta(days=10))
    ticket.refresh_from_db()
    assert (ticket.level, ticket.on_rectification_list) == (Level.DEPARTMENT, True)
    assert ticket.deadline == max(housing.deadline, water.deadline)
    (rectified,) = events(ticket, E.RECTIFY)
    assert "住建局" in rectified.text and "水务局" not in rectified.text
    told = {
        (n.recipient_id, n.kind, tuple(d.address for d in n.deliveries.filter(channel="email")))
        for n in Notification.objects.order_by("pk")[already:]
    }
    # the late department (its handler and its office address) and the county office
    assert told == {
        (t.users["department"].pk, "rectification", (t.users["department"].email,)),
        (None, "rectification", (t.housing.email,)),
        (t.users["county"].pk, "rectification", (t.users["county"].email,)),
    }


def test_a_reported_part_is_never_overdue(t, freeze):
    ticket, parts = _two_parts(t, freeze)
    with freeze(MONDAY + dt.timedelta(days=1)):
        services.department_report(task=parts[t.housing], actor=t.user("department"), report="已修")
    with freeze(MONDAY + dt.timedelta(days=11)):
        assert services.parts_escalate_overdue() == 1  # water's only
    ticket.refresh_from_db()
    (rectified,) = events(ticket, E.RECTIFY)
    assert "水务局" in rectified.text and "住建局" not in rectified.text


def test_the_overdue_task_runs_both_jobs(t, freeze):
    from issues.tasks import escalate_overdue

    ticket, _parts = _two_parts(t, freeze)
    with freeze(MONDAY):
        plain = t.report("U2", tier="simple")
    with freeze(MONDAY + dt.timedelta(days=30)):
        assert escalate_overdue() == 3  # the plain problem lifted, both parts late
    plain.refresh_from_db()
    assert plain.escalation_count == 1


# --- working days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (local(2025, 1, 3, 10), 1, dt.date(2025, 1, 6)),  # Friday + 1 → Monday
        (local(2025, 1, 3, 10), 3, dt.date(2025, 1, 8)),  # Friday + 3 → Wednesday
        (local(2025, 1, 4, 10), 1, dt.date(2025, 1, 6)),  # from a Saturday
        (local(2025, 1, 6, 0, 0), 5, dt.date(2025, 1, 13)),  # a whole week
        # 17:00 UTC on Friday is already Saturday 01:00 in Shanghai
        (dt.datetime(2025, 1, 3, 17, tzinfo=dt.UTC), 1, dt.date(2025, 1, 6)),
        (dt.datetime(2025, 1, 3, 15, 59, tzinfo=dt.UTC), 1, dt.date(2025, 1, 6)),
    ],
)
def test_working_deadline_skips_weekends(db, start, days, deadline):
    assert working_deadline(start, days) == end_of(deadline)


def test_working_deadline_skips_a_holiday(db):
    Holiday.objects.create(date=dt.date(2025, 1, 7), name="调休假")
    # Friday + 3: Mon 6, (Tue 7 off), Wed 8, Thu 9
    assert working_deadline(local(2025, 1, 3, 10), 3) == end_of(dt.date(2025, 1, 9))


def test_working_deadline_counts_a_makeup_saturday(db):
    Holiday.objects.create(date=dt.date(2025, 1, 4), name="调休上班", is_workday=True)
    # Friday + 3: Sat 4 (worked), Mon 6, Tue 7
    assert working_deadline(local(2025, 1, 3, 10), 3) == end_of(dt.date(2025, 1, 7))


@pytest.fixture
def spring_festival_2025(db):
    """国务院办公厅 2025: 1月28日至2月4日放假; 1月26日（周日）、2月8日（周六）上班."""
    for day in range(8):
        Holiday.objects.create(date=dt.date(2025, 1, 28) + dt.timedelta(days=day), name="春节")
    Holiday.objects.create(date=dt.date(2025, 1, 26), name="春节调休", is_workday=True)
    Holiday.objects.create(date=dt.date(2025, 2, 8), name="春节调休", is_workday=True)


@pytest.mark.parametrize(
    ("days", "deadline"),
    [
        (1, dt.date(2025, 1, 26)),  # the make-up Sunday
        (2, dt.date(2025, 1, 27)),
        (3, dt.date(2025, 2, 5)),  # eight days off in between
        (5, dt.date(2025, 2, 7)),
        (6, dt.date(2025, 2, 8)),  # the make-up Saturday
        (7, dt.date(2025, 2, 10)),
    ],
)
def test_working_deadline_over_the_spring_festival(
    spring_festival_2025, django_assert_num_queries, days, deadline
):
    with django_assert_num_queries(1):
        got = working_deadline(local(2025, 1, 24, 16, 30), days)  # a Friday afternoon
    assert got == end_of(deadline)


def test_working_deadline_with_weekends_counted(db):
    Holiday.objects.create(date=dt.date(2025, 1, 5), name="假日")
    start = local(2025, 1, 3, 10)
    assert working_deadline(start, 3, exclude_weekends=False) == end_of(dt.date(2025, 1, 7))


def test_the_setting_to_count_weekends_reaches_the_deadline(t, freeze):
    t.settings(exclude_weekends=False)
    with freeze(local(2025, 1, 3, 10)):
        ticket = t.report("U1", tier="simple")  # 3 calendar days: Sat, Sun, Mon
    assert ticket.deadline == end_of(dt.date(2025, 1, 6))


# --- time limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "category", "deadline"),
    [
        ("simple", "repair", dt.date(2025, 1, 8)),  # the tier: 3 working days
        ("complex", "repair", dt.date(2025, 1, 10)),  # the tier: 5 working days
        ("simple", "leak", dt.date(2025, 1, 6)),  # the category: 1 working day
        ("complex", "leak", dt.date(2025, 1, 6)),
    ],
)
def test_a_category_time_limit_overrides_the_tier(t, freeze, tier, category, deadline):
    with freeze(local(2025, 1, 3, 10)):
        ticket = t.report("U1", tier=tier, category=getattr(t, category))
    assert ticket.deadline == end_of(deadline)


def test_time_limits_fall_back_to_the_defaults_without_a_policy(t):
    TierPolicy.objects.all().delete()
    assert services.time_limit_days("simple", None) == (3, 3)
    assert services.time_limit_days("hard", t.repair) == (15, 3)
    assert services.time_limit_days("hard", t.leak) == (1, 3)


def test_escalating_by_hand_gives_the_tier_limit_not_the_rectification_one(t, freeze):
    with freeze(MONDAY):
        ticket = t.report("U1", tier="complex")
        services.ticket_escalate(ticket=ticket, actor=t.user("grid_head"), note="需社区协调")
    ticket.refresh_from_db()
    assert (ticket.level, ticket.escalation_count) == (Level.COMMUNITY, 1)
    assert not ticket.on_rectification_list
    assert ticket.deadline == end_of(dt.date(2025, 3, 10))  # 5 working days from Monday
    assert not events(ticket, E.RECTIFY)


def test_defect_frozen_clock_reaches_model_defaults(t, freeze):
    """Every caller reads the frozen clock: the services and the models' defaults alike."""
    with freeze(MONDAY) as now:
        ticket = t.report("U1", tier="simple")
        assert timezone.now() == now and timezone.localdate() == MONDAY.date()
    assert ticket.created_at == MONDAY
    assert ticket.updated_at == MONDAY
    assert ticket.assigned_at == MONDAY
    assert {event.at for event in events(ticket)} == {MONDAY}
