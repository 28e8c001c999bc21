"""Hard problems (难点重点问题): reported up to the county office, put on an assignment meeting
(交办会) and handed to departments, who report back; the last report resolves it."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from issues import permissions as perm
from issues import services
from issues.models import DepartmentTask, Level, Notification, Ticket, TicketEvent, Tier
from issues.selectors import tickets_visible_to
from issues.services import Part

from .helpers import events, ticket_in

S = Ticket.State
E = TicketEvent.Kind
OPEN, DONE = DepartmentTask.Status.OPEN, DepartmentTask.Status.DONE


def _visible(t, persona, ticket) -> bool:
    return tickets_visible_to(t.user(persona)).filter(pk=ticket.pk).exists()


@pytest.fixture
def at_county(t):
    """A complex ticket at the grid that the county officer reports up as hard."""
    t.settings(hard_via_street=False)
    ticket = t.report("U1", tier="complex")
    assert ticket.level == Level.GRID
    services.ticket_escalate(
        ticket=ticket, actor=t.user("county"), note="涉及多个部门", as_hard=True
    )
    ticket.refresh_from_db()
    return ticket


def _assign(t, ticket, *departments, actor="county"):
    meeting = services.meeting_open(area=t.county, title="第三次交办会", actor=t.users["county"])
    now = timezone.now()
    parts = [
        Part(department=d, deadline=now + dt.timedelta(days=5 + i), instructions=f"请{d.name}处理")
        for i, d in enumerate(departments)
    ]
    services.meeting_assign(meeting=meeting, ticket=ticket, parts=parts, actor=t.user(actor))
    ticket.refresh_from_db()
    return meeting, parts


def test_the_county_officer_reports_it_up_as_hard(t, at_county):
    ticket = at_county
    assert (ticket.state, ticket.tier, ticket.level) == (S.ASSIGNED, Tier.HARD, Level.COUNTY)
    assert (ticket.handler_area, ticket.escalation_count) == (t.county, 1)
    assert ticket.deadline == services.working_deadline(ticket.assigned_at, 10)
    (lifted,) = events(ticket, E.REPORT_UP)
    assert (lifted.actor, lifted.note) == (t.users["county"], "涉及多个部门")
    assert Notification.objects.filter(ticket=ticket, recipient=t.users["county"]).exists()


def test_reported_up_as_hard_it_goes_via_the_street_by_default(t):
    ticket = t.report("U1", tier="complex")
    services.ticket_escalate(ticket=ticket, actor=t.user("county"), as_hard=True)
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.level, ticket.handler_area) == (Tier.HARD, Level.STREET, t.street)
    services.ticket_escalate(ticket=ticket, actor=t.user("street"), as_hard=True)
    ticket.refresh_from_db()
    assert (ticket.level, ticket.escalation_count) == (Level.COUNTY, 2)


def test_two_departments_report_back_and_the_second_report_resolves(t, at_county):
    ticket = at_county
    for persona in ("department", "water", "police"):
        assert not _visible(t, persona, ticket)
    mails_before = Notification.objects.count()

    meeting, parts = _assign(t, ticket, t.housing, t.water)

    assert (ticket.state, ticket.level, ticket.tier) == (S.ASSIGNED, Level.DEPARTMENT, Tier.HARD)
    assert ticket.deadline == max(p.deadline for p in parts)
    tasks = {task.department: task for task in ticket.tasks.all()}
    assert set(tasks) == {t.housing, t.water}
    assert all(task.status == OPEN and task.meeting == meeting for task in tasks.values())
    assert tasks[t.water].instructions == "请水务局处理"
    (assigned,) = events(ticket, E.MEETING)
    assert (
        meeting.title in assigned.note and "住建局" in assigned.note and "水务局" in assigned.note
    )
    told = {
        (n.recipient_id, n.kind, tuple(d.address for d in n.deliveries.filter(channel="email")))
        for n in Notification.objects.order_by("pk")[mails_before:]
    }
    assert told == {
        (t.users["department"].pk, "meeting_task", (t.users["department"].email,)),
        (None, "meeting_task", (t.housing.email,)),
        (t.users["water"].pk, "meeting_task", (t.users["water"].email,)),
        (None, "meeting_task", (t.water.email,)),
    }
    assert _visible(t, "department", ticket) and _visible(t, "water", ticket)
    assert not _visible(t, "police", ticket)

    with pytest.raises(PermissionDenied):
        services.department_report(task=tasks[t.housing], actor=t.user("police"), report="我来")

    services.department_report(task=tasks[t.housing], actor=t.user("department"), report="屋顶已修")

    ticket.refresh_from_db()
    assert ticket.state == S.IN_PROGRESS and ticket.is_open
    housing = DepartmentTask.objects.get(pk=tasks[t.housing].pk)
    assert (housing.status, housing.report, housing.reported_by) == (
        DONE,
        "屋顶已修",
        t.users["department"],
    )
    assert DepartmentTask.objects.get(pk=tasks[t.water].pk).status == OPEN
    assert perm.ticket_actions(t.user("department"), ticket) == set()
    with pytest.raises(PermissionDenied):  # its part is done
        services.department_report(task=housing, actor=t.user("department"), report="再报一次")

    services.department_report(task=tasks[t.water], actor=t.user("water"), report="水管已换")

    ticket.refresh_from_db()
    assert ticket.state == S.RESOLVED
    assert ticket.feedback.splitlines() == ["住建局: 屋顶已修", "水务局: 水管已换"]
    assert ticket.resolved_level == Level.DEPARTMENT and ticket.resolved_at is not None
    reports = events(ticket, E.DEPARTMENT_REPORT)
    assert [(e.actor, e.note) for e in reports] == [
        (t.users["department"], "住建局: 屋顶已修"),
        (t.users["water"], "水务局: 水管已换"),
    ]
    assert events(ticket)[-1].kind == E.RESOLVE

    services.ticket_rate(ticket=ticket, actor=t.user("community"), rating="satisfied")
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED


def test_a_department_never_sees_another_departments_tickets(t, at_county):
    water_only = at_county
    _assign(t, water_only, t.water)
    own = ticket_in(t, S.ASSIGNED)  # an ordinary unit ticket

    for persona in ("department", "police"):
        assert not tickets_visible_to(t.user(persona)).exists()
    assert list(tickets_visible_to(t.user("water"))) == [water_only]
    assert _visible(t, "unit_head", own) and not _visible(t, "water", own)


def test_a_meeting_names_each_department_once_and_at_least_one(t, at_county):
    meeting = services.meeting_open(area=t.county, title="交办会", actor=t.users["county"])
    deadline = timezone.now() + dt.timedelta(days=5)
    county = t.user("county")
    for parts in ([], [Part(t.water, deadline), Part(t.water, deadline)]):
        with pytest.raises(ValidationError):
            services.meeting_assign(meeting=meeting, ticket=at_county, parts=parts, actor=county)
    at_county.refresh_from_db()
    assert at_county.level == Level.COUNTY and not at_county.tasks.exists()


def test_only_a_county_level_ticket_goes_on_a_meeting(t):
    ticket = ticket_in(t, S.ASSIGNED)
    with pytest.raises(PermissionDenied):
        _assign(t, ticket, t.housing)
    assert not DepartmentTask.objects.exists()


def test_the_county_office_reminds_the_departments(t, at_county):
    _assign(t, at_county, t.housing, t.water)
    already = Notification.objects.count()
    services.ticket_remind(ticket=at_county, actor=t.user("county"), note="请加快进度")
    assert Notification.objects.count() == already + 2  # one handler in each department
    assert events(at_county)[-1].kind == E.REMIND


def test_a_department_ticket_rated_unsatisfied_can_still_be_worked(t, at_county):
    _assign(t, at_county, t.housing)
    (task,) = at_county.tasks.all()
    services.department_report(task=task, actor=t.user("department"), report="已处理")
    services.ticket_rate(ticket=at_county, actor=t.user("community"), rating="unsatisfied")
    at_county.refresh_from_db()
    assert at_county.state == S.IN_PROGRESS

    work = {perm.PROGRESS, perm.RESOLVE, perm.ESCALATE, perm.MEETING, perm.DEPARTMENT_REPORT}
    personas = ("county", "street", "department", "admin")
    offered = set().union(*(perm.ticket_actions(t.user(p), at_county) for p in personas))
    assert offered & work
