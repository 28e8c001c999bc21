"""Every event that puts something on a worker's desk leaves a notification row for the
right people, of the right kind, with a delivery row for each of their channels."""

import datetime as dt

from django.utils import timezone

from issues import services
from issues.models import Notification, NotificationChannels, Ticket
from issues.services import Part

from .helpers import local, ticket_in

S = Ticket.State
K = Notification.Kind
MONDAY = local(2025, 3, 3, 9, 0)
ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=unit-head-robot"


def _watch():
    """``told()``: what was put on desks since this call, as {(login, kind, channels)}."""
    since = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def told():
        rows = Notification.objects.filter(pk__gt=since).prefetch_related("deliveries")
        return {
            (
                n.recipient.username if n.recipient else None,
                n.kind,
                tuple(sorted((d.channel, d.address) for d in n.deliveries.all())),
            )
            for n in rows.select_related("recipient")
        }

    return told


def _mail(t, persona):
    return (("email", t.users[persona].email),)


def test_a_new_report_waits_on_the_grid_head_and_the_community(t):
    told = _watch()
    t.report("U1")
    assert told() == {
        ("grid_head", K.TRIAGE, _mail(t, "grid_head")),
        ("community", K.TRIAGE, _mail(t, "community")),
    }


def test_assigned_goes_to_the_handler_on_every_channel_they_have(t):
    NotificationChannels.objects.create(user=t.users["unit_head"], sms=True, webhook_url=ROBOT)
    ticket = t.report("U1")
    told = _watch()
    services.ticket_assign(ticket=ticket, tier="simple", actor=t.user("grid_head"))
    phone = t.persons["unit_head"].phone
    channels = (("email", t.users["unit_head"].email), ("sms", f"+86{phone}"), ("webhook", ROBOT))
    assert told() == {("unit_head", K.ASSIGNED, tuple(sorted(channels)))}


def test_lifted_goes_to_the_next_level(t):
    ticket = ticket_in(t, S.ASSIGNED)
    told = _watch()
    services.ticket_escalate(ticket=ticket, actor=t.user("unit_head"), note="需要协调")
    assert told() == {("building_head", K.LIFTED, _mail(t, "building_head"))}


def test_a_reminder_goes_to_whoever_holds_it(t):
    ticket = ticket_in(t, S.ASSIGNED)
    told = _watch()
    services.ticket_remind(ticket=ticket, actor=t.user("building_head"), note="请尽快")
    assert told() == {("unit_head", K.REMINDER, _mail(t, "unit_head"))}


def test_overdue_and_lifted_it_is_a_rectification_for_the_next_level(t, freeze):
    with freeze(MONDAY):
        ticket = t.report("U1", tier="simple")
    told = _watch()
    with freeze(ticket.deadline + dt.timedelta(hours=10)):
        assert services.tickets_escalate_overdue() == 1
    ticket.refresh_from_db()
    assert ticket.on_rectification_list
    assert told() == {("building_head", K.RECTIFICATION, _mail(t, "building_head"))}


def test_overdue_at_the_top_it_is_a_rectification_in_place(t, freeze):
    t.settings(hard_via_street=False)
    with freeze(MONDAY):
        ticket = t.report("U1", tier="hard")
    told = _watch()
    with freeze(ticket.deadline + dt.timedelta(hours=10)):
        assert services.tickets_escalate_overdue() == 1
    assert told() == {("county", K.RECTIFICATION, _mail(t, "county"))}


def _at_meeting(t, *departments):
    t.settings(hard_via_street=False)
    ticket = t.report("U1", tier="complex")
    services.ticket_escalate(ticket=ticket, actor=t.user("county"), as_hard=True)
    meeting = services.meeting_open(area=t.county, title="交办会", actor=t.users["county"])
    deadline = timezone.now() + dt.timedelta(days=5)
    parts = [Part(department=d, deadline=deadline) for d in departments]
    told = _watch()
    services.meeting_assign(meeting=meeting, ticket=ticket, parts=parts, actor=t.user("county"))
    ticket.refresh_from_db()
    return ticket, told


def test_a_meeting_task_goes_to_each_departments_handlers_and_mailbox(t):
    _ticket, told = _at_meeting(t, t.housing, t.water)
    assert told() == {
        ("department", K.MEETING_TASK, _mail(t, "department")),
        (None, K.MEETING_TASK, (("email", t.housing.email),)),
        ("water", K.MEETING_TASK, _mail(t, "water")),
        (None, K.MEETING_TASK, (("email", t.water.email),)),
    }


def test_a_reminder_at_the_departments_goes_to_the_open_parts_only(t):
    ticket, _told = _at_meeting(t, t.housing, t.water)
    (housing,) = ticket.tasks.filter(department=t.housing)
    services.department_report(task=housing, actor=t.user("department"), report="已修")
    told = _watch()
    services.ticket_remind(ticket=ticket, actor=t.user("county"), note="请加快进度")
    assert told() == {("water", K.REMINDER, _mail(t, "water"))}


def test_rated_unsatisfied_it_reopens_on_the_handlers_desk(t):
    ticket = ticket_in(t, S.RESOLVED)
    told = _watch()
    services.ticket_rate(
        ticket=ticket, actor=t.user("community"), rating="unsatisfied", comment="灯还是不亮"
    )
    ticket.refresh_from_db()
    assert ticket.state != S.RESOLVED  # reopened
    assert told() == {("unit_head", K.REOPENED, _mail(t, "unit_head"))}


def test_a_head_without_e_mail_is_told_by_sms(t):
    head = t.users["unit_head"]
    head.email = ""
    head.save(update_fields=["email"])
    told = _watch()
    t.report("U1", tier="simple")
    phone = t.persons["unit_head"].phone
    assert told() == {("unit_head", K.ASSIGNED, (("sms", f"+86{phone}"),))}


def test_the_place_in_a_notification_names_its_grid_and_building(t):
    """A grid has many buildings with a 2单元 each: the text says which."""
    from grids.models import Area
    from issues.models import Notification
    from issues.services.notifications import place_label

    ticket = t.report("U1", tier="simple")
    unit = Area.objects.get(pk=ticket.area_id)
    chain = [a.name for a in unit.get_ancestors(include_self=True)]
    grid_at = [a.kind for a in unit.get_ancestors(include_self=True)].index("grid")
    expected = " › ".join(chain[grid_at:])
    assert place_label(unit) == expected and expected.count(" › ") == 2
    (note,) = Notification.objects.filter(ticket=ticket, kind=Notification.Kind.ASSIGNED)
    assert expected in note.body


def test_every_notification_about_a_problem_names_its_place(t):
    """A text that did not say where (a problem to triage, a reminder to a department)
    says it in its last line, from the grid down; one that did says it once."""
    from issues.models import Notification

    ticket = t.report("U2")  # untriaged: the grid head and the community are told
    (note, *_others) = Notification.objects.filter(ticket=ticket, kind=Notification.Kind.TRIAGE)
    assert note.body.endswith("\n地点：第1网格 › 1栋 › 2单元")
    assert ticket.description in note.body
    assigned = t.report("U1", tier="simple")
    (note,) = Notification.objects.filter(ticket=assigned, kind=Notification.Kind.ASSIGNED)
    assert note.body.count("第1网格 › 1栋 › 1单元") == 1


def test_a_batch_of_messages_reads_their_places_in_one_query(t):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from issues.services.notifications import Message, notify_many

    tickets = [t.report(key) for key in ("U1", "U2", "U3", "U4")]
    user = t.users["community"]

    def sent(items):
        with CaptureQueriesContext(connection) as captured:
            notes = notify_many(Message(ticket, (user,), "主题", "正文") for ticket in items)
        return notes, len(captured)

    one, few = sent(tickets[:1])
    many, more = sent(tickets * 3)
    assert more == few
    assert [n.body.split("\n")[-1] for n in many[:4]] == [
        "地点：第1网格 › 1栋 › 1单元",
        "地点：第1网格 › 1栋 › 2单元",
        "地点：第2网格 › 2栋 › 1单元",
        "地点：第1网格 › 1栋 › 1单元",
    ]
