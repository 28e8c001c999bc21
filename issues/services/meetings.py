"""Assignment meetings (交办会): the county office hands a hard problem to one or more
departments, each reports back on its part, and the last report resolves it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Area, Department
from grids.rules import AreaKind
from issues import permissions as perm
from issues import rules
from issues.models import (
    DepartmentTask,
    Level,
    Meeting,
    Notification,
    Ticket,
    TicketEvent,
    TicketSettings,
    Tier,
)
from issues.notes import Note, department_note
from issues.rules import SYSTEM
from issues.services.errors import TicketError
from issues.services.notifications import (
    Message,
    department_handlers,
    department_users,
    excerpt,
    notify,
    notify_handler,
    notify_many,
)
from issues.services.routing import holders_at, time_limit_days, working_deadline
from issues.services.workflow import (
    Batch,
    Plan,
    rectification,
    resolution,
    ticket_step,
    ticket_steps,
    tickets_locked,
)

S = Ticket.State
E = TicketEvent.Kind
OPEN = DepartmentTask.Status.OPEN
REPORTED = DepartmentTask.Status.REPORTED
DONE = DepartmentTask.Status.DONE


@transaction.atomic
def meeting_open(*, area: Area, title: str, actor, held_on: dt.date | None = None) -> Meeting:
    """A meeting of the county office over ``area``; only a person there may open one."""
    if not perm.may_hold_meetings(actor, area):
        raise PermissionDenied
    if area.kind != AreaKind.DISTRICT:
        raise ValidationError({"area": _("assignment meetings are held by a county office")})
    if not title.strip():
        raise ValidationError({"title": _("give the meeting a title")})
    return Meeting.objects.create(
        area=area, title=title.strip(), created_by=actor, held_on=held_on or timezone.localdate()
    )


@dataclass
class Part:
    department: Department
    deadline: dt.datetime
    instructions: str = ""


@transaction.atomic
def meeting_assign(
    *,
    meeting: Meeting,
    ticket: Ticket,
    parts: list[Part],
    actor,
    expected_version: int | None = None,
) -> Ticket:
    """Put a hard ticket on the meeting and hand it to one or more departments (交办)."""
    if not parts:
        raise ValidationError({"departments": _("choose at least one department")})
    if len({p.department.pk for p in parts}) != len(parts):
        raise ValidationError({"departments": _("a department is named twice")})

    def plan(locked: Ticket) -> Plan:
        for part in parts:
            DepartmentTask.objects.create(
                meeting=meeting,
                ticket=locked,
                department=part.department,
                deadline=part.deadline,
                instructions=part.instructions.strip(),
            )
        return Plan()

    ticket = ticket_step(
        ticket=ticket,
        step=E.MEETING,
        actor=actor,
        note=Note(
            "meeting",
            {"meeting": meeting.title, "departments": [p.department.name for p in parts]},
        ),
        expected_version=expected_version,
        plan=plan,
        level=Level.DEPARTMENT,
        tier=Tier.HARD,
        deadline=max(p.deadline for p in parts),
        assigned_at=timezone.now(),
    )
    for part in parts:
        notify(
            ticket=ticket,
            users=department_users(part.department),
            subject=Note(
                "meeting_task",
                {"dept": part.department.name, "meeting": meeting.title, "id": ticket.pk},
            ),
            body=part.instructions or excerpt(ticket),
            emails=[part.department.email],
            kind="meeting_task",
        )
    return ticket


@transaction.atomic
def department_report(*, task: DepartmentTask, actor, report: str) -> DepartmentTask:
    """A department reports back on its part. The last part reported takes the problem back
    to the county office that held the meeting, which reviews the reports
    (``ticket_review``, ``part_send_back``) before the reporter is told anything."""
    report = report.strip()
    if not report:
        raise ValidationError({"report": _("say what the department did")})
    reported: list[DepartmentTask] = []
    now = timezone.now()

    def plan(locked: Ticket) -> Plan:
        part = DepartmentTask.objects.select_for_update().select_related("department")
        part = part.get(pk=task.pk)
        if actor is not SYSTEM and part not in perm.open_tasks_for(actor, locked):
            raise PermissionDenied
        if part.status != OPEN:
            raise TicketError(_("this part has already been reported"))
        part.status, part.report, part.reported_at = REPORTED, report, now
        part.reported_by = None if actor is SYSTEM else actor
        part.save(update_fields=["status", "report", "reported_at", "reported_by"])
        reported.append(part)
        then = [(E.ACCEPT, "")] if locked.state == S.ASSIGNED else []
        fields = {}
        if not locked.tasks.filter(status=OPEN).exists():
            fields = {"level": Level.COUNTY, "deadline": _review_deadline(locked, now)}
        return Plan(note=department_note(part.department.name, report), then=then, fields=fields)

    ticket = ticket_step(
        ticket=Ticket(pk=task.ticket_id), step=E.DEPARTMENT_REPORT, actor=actor, plan=plan
    )
    if ticket.level == Level.COUNTY:
        notify_handler(
            ticket,
            Note("review_reports", {"id": ticket.pk}),
            kind=Notification.Kind.REVIEW,
        )
    return reported[0]


def part_deadline(tier: str, category, *, rectify: bool, now: dt.datetime) -> dt.datetime:
    """A deadline for the departments' work: ``tier``'s time limit (or, ``rectify``, its
    rectification limit, the short one) in working days from ``now``. The meeting form and
    the send-back form offer it; the county office's review is given the short one."""
    config = TicketSettings.current()
    days, rectify_days = time_limit_days(tier, category)
    return working_deadline(
        now, rectify_days if rectify else days, exclude_weekends=config.exclude_weekends
    )


def _review_deadline(ticket: Ticket, now: dt.datetime) -> dt.datetime:
    """By when the county office reviews the reports."""
    return part_deadline(ticket.tier or Tier.HARD, ticket.category, rectify=True, now=now)


@transaction.atomic
def ticket_review(
    *, ticket: Ticket, actor, feedback: str, expected_version: int | None = None
) -> Ticket:
    """The county office accepts the departments' reports: their parts are done, and the
    problem is resolved with what the office approved to tell the reporter (``feedback``, in
    its own words; the departments' reports stay on the problem's page)."""
    feedback = feedback.strip()
    if not feedback:
        raise ValidationError({"feedback": _("say what the reporter is told")})
    now = timezone.now()

    def plan(locked: Ticket) -> Plan:
        parts = list(
            DepartmentTask.objects.select_for_update()
            .filter(ticket=locked)
            .exclude(status=DONE)
            .select_related("department")
            .order_by("pk")
        )
        if not parts or any(p.status == OPEN for p in parts):
            raise TicketError(_("no departments' reports await review on this problem"))
        for part in parts:
            part.status, part.reviewed_at = DONE, now
        DepartmentTask.objects.bulk_update(parts, ["status", "reviewed_at"])
        return Plan(
            note=Note("reports_accepted", {"departments": [p.department.name for p in parts]}),
            then=[(E.RESOLVE, feedback)],
            fields=resolution(feedback=feedback, level=Level.DEPARTMENT, now=now),
        )

    return ticket_step(
        ticket=ticket, step=E.REVIEW, actor=actor, expected_version=expected_version, plan=plan
    )


@transaction.atomic
def part_send_back(
    *,
    ticket: Ticket,
    task: DepartmentTask,
    actor,
    reason: str,
    deadline: dt.datetime,
    expected_version: int | None = None,
) -> DepartmentTask:
    """The county office sends one department's report back: the part is open again with
    the reason and a new deadline, and the problem is with the departments again."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("say why the report is sent back")})
    now = timezone.now()
    if deadline <= now:
        raise ValidationError({"deadline": _("the new deadline must be in the future")})
    sent: list[DepartmentTask] = []

    def plan(locked: Ticket) -> Plan:
        part = DepartmentTask.objects.select_for_update().select_related("department")
        part = part.filter(pk=task.pk, ticket=locked).first()
        if part is None or part.status != REPORTED:
            raise TicketError(_("only a part reported and not yet accepted can be sent back"))
        part.status, part.deadline, part.reviewed_at = OPEN, deadline, now
        part.sent_back_count += 1
        part.sent_back_reason = reason
        part.save(
            update_fields=[
                "status",
                "deadline",
                "reviewed_at",
                "sent_back_count",
                "sent_back_reason",
            ]
        )
        sent.append(part)
        return Plan(
            note=department_note(part.department.name, reason),
            fields={"level": Level.DEPARTMENT, "deadline": deadline},
        )

    ticket = ticket_step(
        ticket=ticket, step=E.SEND_BACK, actor=actor, expected_version=expected_version, plan=plan
    )
    part = sent[0]
    notify(
        ticket=ticket,
        users=department_users(part.department),
        subject=Note("sent_back", {"dept": part.department.name, "id": ticket.pk}),
        body=(reason, Note("new_deadline", {"deadline": timezone.localdate(deadline).isoformat()})),
        emails=[part.department.email],
        kind=Notification.Kind.SENT_BACK,
    )
    return part


# --- overdue parts ------------------------------------------------------------------------------

OVERDUE_BATCH = 200


def parts_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Every open part past its deadline, as an overdue problem is lifted: the problem on
    the rectification list, the part a new deadline (the rectification time limit), its
    department reminded and the county office that assigned it told. Running it twice does
    nothing twice: an escalated part's deadline is in the future.

    In batches of ``OVERDUE_BATCH`` problems, each its own transaction: the problems locked
    first (as a department's report locks them, skipping any another worker holds), then
    their parts; the settings, limits and holidays read once; the problems' steps written
    together and everyone told together. Returns how many parts went overdue."""
    now = now or timezone.now()
    ids = list(
        DepartmentTask.objects.filter(status=OPEN, deadline__lt=now)
        .values_list("ticket_id", flat=True)
        .distinct()
        .order_by("ticket_id")
    )
    return sum(
        _parts_batch(ids[first : first + OVERDUE_BATCH], now=now)
        for first in range(0, len(ids), OVERDUE_BATCH)
    )


@transaction.atomic
def _parts_batch(ids: list[int], *, now: dt.datetime) -> int:
    tickets = tickets_locked(
        Q(pk__in=ids, state__in=rules.IN_HAND_STATES, level=Level.DEPARTMENT),
        related=("category",),
    )
    if not tickets:
        return 0
    parts = list(
        DepartmentTask.objects.select_for_update(of=("self",))
        .filter(ticket__in=tickets, status=OPEN)
        .select_related("department", "meeting")
        .order_by("pk")
    )
    by_ticket: dict[int, list[DepartmentTask]] = {}
    for part in parts:
        by_ticket.setdefault(part.ticket_id, []).append(part)
    batch = Batch.read(now)
    steps, overdue, messages = [], [], []
    for ticket in tickets:
        late = [p for p in by_ticket.get(ticket.pk, []) if p.deadline < now]
        if not late:
            continue
        plan = rectification(ticket, now=now, batch=batch)
        deadline = plan.fields["deadline"]
        for part in late:
            part.deadline = deadline
            part.overdue_count += 1
        overdue += late
        note = Note(
            "part_overdue",
            {
                "departments": [p.department.name for p in late],
                "deadline": timezone.localtime(deadline).strftime("%Y-%m-%d"),
            },
        )
        latest = max(p.deadline for p in by_ticket[ticket.pk])
        fields = {**plan.fields, "deadline": latest}
        steps.append((ticket, E.RECTIFY, lambda _l, f=fields, n=note: Plan(fields=f, note=n)))
        messages += [
            Message(
                ticket,
                (),
                _("Overdue: %(dept)s's part of problem #%(id)s")
                % {"dept": part.department.name, "id": ticket.pk},
                f"{part.instructions}\n{note}".strip(),  # the message's language
                (part.department.email,),
                Notification.Kind.RECTIFICATION,
            )
            for part in late
        ]
    if not steps:
        return 0
    DepartmentTask.objects.bulk_update(overdue, ["deadline", "overdue_count"])
    ticket_steps(steps, actor=SYSTEM)
    notify_many(_with_recipients(messages, overdue))
    return len(overdue)


def _with_recipients(messages: list[Message], parts: list[DepartmentTask]) -> list[Message]:
    """Each overdue part's message, to its department's handlers and to the county office
    that assigned it. Two queries for the batch."""
    handlers = department_handlers({p.department_id for p in parts})
    office = holders_at([(p.meeting.area_id, Level.COUNTY) for p in parts])
    return [
        dataclasses.replace(
            message,
            users=(
                *handlers.get(part.department_id, ()),
                *office.get((part.meeting.area_id, Level.COUNTY), ()),
            ),
        )
        for message, part in zip(messages, parts, strict=True)
    ]
