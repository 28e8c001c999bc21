"""Hard problems (难点重点问题): reported up to the county office, put on an assignment meeting
(交办会) and handed to departments, each with its own instructions and deadline, who report
back; the county office reviews the reports, accepting them (the problem resolved in its own
words) or sending a part back."""

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
OPEN, REPORTED, DONE = DepartmentTask.Status.values


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
        meeting.title in assigned.text and "住建局" in assigned.text and "水务局" in assigned.text
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
        REPORTED,
        "屋顶已修",
        t.users["department"],
    )
    assert DepartmentTask.objects.get(pk=tasks[t.water].pk).status == OPEN
    assert ticket.level == Level.DEPARTMENT  # one part still open: still with the departments
    assert perm.ticket_actions(t.user("department"), ticket) == set()
    with pytest.raises(PermissionDenied):  # its part is reported
        services.department_report(task=housing, actor=t.user("department"), report="再报一次")

    before = Notification.objects.count()
    services.department_report(task=tasks[t.water], actor=t.user("water"), report="水管已换")

    # Every part reported: back with the county office, to review; nobody told the result yet.
    ticket.refresh_from_db()
    assert (ticket.state, ticket.level, ticket.handler_area) == (
        S.IN_PROGRESS,
        Level.COUNTY,
        t.county,
    )
    assert ticket.feedback == "" and ticket.resolved_at is None
    assert ticket.deadline > timezone.now()
    (review,) = Notification.objects.order_by("pk")[before:]
    assert (review.recipient, review.kind) == (t.users["county"], "review")
    county = t.user("county")
    assert perm.ticket_actions(county, ticket) == {perm.REVIEW, perm.SEND_BACK, perm.PROGRESS}
    reports = events(ticket, E.DEPARTMENT_REPORT)
    assert [(e.actor, e.note) for e in reports] == [
        (t.users["department"], "住建局: 屋顶已修"),
        (t.users["water"], "水务局: 水管已换"),
    ]

    approved = "经县交办办核查，屋顶和水管均已修复。"
    services.ticket_review(ticket=ticket, actor=county, feedback=approved)

    ticket.refresh_from_db()
    assert ticket.state == S.RESOLVED
    assert ticket.feedback == approved  # the office's words, not the departments' raw texts
    assert ticket.resolved_level == Level.DEPARTMENT and ticket.resolved_at is not None
    assert {p.status for p in ticket.tasks.all()} == {DONE}
    assert [e.kind for e in events(ticket)[-2:]] == [E.REVIEW, E.RESOLVE]
    assert "住建局" in events(ticket, E.REVIEW)[0].text
    assert events(ticket, E.RESOLVE)[0].note == approved

    services.ticket_rate(ticket=ticket, actor=t.user("community"), rating="satisfied")
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED


def _all_reported(t, ticket):
    _assign(t, ticket, t.housing, t.water)
    for task in ticket.tasks.select_related("department").order_by("pk"):
        persona = "department" if task.department == t.housing else "water"
        services.department_report(task=task, actor=t.user(persona), report=f"{persona}已办")
    ticket.refresh_from_db()
    return {task.department: task for task in ticket.tasks.all()}


def test_the_county_office_sends_one_part_back_with_a_reason(t, at_county):
    tasks = _all_reported(t, at_county)
    county = t.user("county")
    new_deadline = timezone.now() + dt.timedelta(days=3)
    before = Notification.objects.count()

    services.part_send_back(
        ticket=at_county,
        task=tasks[t.water],
        actor=county,
        reason="现场复核仍有渗漏，请重新处理",
        deadline=new_deadline,
    )

    at_county.refresh_from_db()
    water = DepartmentTask.objects.get(pk=tasks[t.water].pk)
    assert (water.status, water.sent_back_count, water.sent_back_reason) == (
        OPEN,
        1,
        "现场复核仍有渗漏，请重新处理",
    )
    assert water.deadline == new_deadline
    assert DepartmentTask.objects.get(pk=tasks[t.housing].pk).status == REPORTED
    assert (at_county.level, at_county.deadline) == (Level.DEPARTMENT, new_deadline)
    assert at_county.state == S.IN_PROGRESS and not at_county.feedback
    (sent,) = events(at_county, E.SEND_BACK)
    assert (sent.actor, sent.note) == (t.users["county"], "水务局: 现场复核仍有渗漏，请重新处理")
    told = {(n.recipient_id, n.kind) for n in Notification.objects.order_by("pk")[before:]}
    assert told == {(t.users["water"].pk, "sent_back"), (None, "sent_back")}
    # Only the water department acts now; the office waits for its new report.
    assert perm.ticket_actions(t.user("water"), at_county) == {perm.DEPARTMENT_REPORT}
    assert perm.ticket_actions(county, at_county) & perm.REVIEWING == set()
    with pytest.raises(PermissionDenied):  # with the departments again: nothing to review
        services.ticket_review(ticket=at_county, actor=county, feedback="已办结")

    services.department_report(task=water, actor=t.user("water"), report="已更换全部管道")
    at_county.refresh_from_db()
    assert at_county.level == Level.COUNTY
    services.ticket_review(ticket=at_county, actor=county, feedback="已全部修复")
    at_county.refresh_from_db()
    assert at_county.state == S.RESOLVED and at_county.feedback == "已全部修复"


def test_a_review_needs_the_reporters_words_and_the_county_office(t, at_county):
    tasks = _all_reported(t, at_county)
    with pytest.raises(ValidationError):
        services.ticket_review(ticket=at_county, actor=t.user("county"), feedback="  ")
    for persona in ("department", "street", "community"):
        with pytest.raises(PermissionDenied):
            services.ticket_review(ticket=at_county, actor=t.user(persona), feedback="已办结")
    with pytest.raises(ValidationError):  # no reason
        services.part_send_back(
            ticket=at_county,
            task=tasks[t.water],
            actor=t.user("county"),
            reason="",
            deadline=timezone.now() + dt.timedelta(days=3),
        )
    with pytest.raises(ValidationError):  # a deadline already past
        services.part_send_back(
            ticket=at_county,
            task=tasks[t.water],
            actor=t.user("county"),
            reason="重办",
            deadline=timezone.now() - dt.timedelta(hours=1),
        )
    at_county.refresh_from_db()
    assert at_county.state == S.IN_PROGRESS and at_county.level == Level.COUNTY
    assert {p.status for p in at_county.tasks.all()} == {REPORTED}


def test_under_review_the_office_neither_resolves_nor_assigns_again(t, at_county):
    _all_reported(t, at_county)
    county = t.user("county")
    with pytest.raises(PermissionDenied):
        services.ticket_resolve(ticket=at_county, actor=county, feedback="直接办结")
    assert perm.MEETING not in perm.ticket_actions(county, at_county)


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
    services.ticket_review(ticket=at_county, actor=t.user("county"), feedback="已处理完毕")
    services.ticket_rate(ticket=at_county, actor=t.user("community"), rating="unsatisfied")
    at_county.refresh_from_db()
    assert at_county.state == S.IN_PROGRESS

    work = {perm.PROGRESS, perm.RESOLVE, perm.ESCALATE, perm.MEETING, perm.DEPARTMENT_REPORT}
    personas = ("county", "street", "department", "admin")
    offered = set().union(*(perm.ticket_actions(t.user(p), at_county) for p in personas))
    assert offered & work
