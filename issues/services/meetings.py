"""Assignment meetings (交办会): the county office hands a hard problem to one or more
departments, each reports back on its part, and the last report resolves it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Area
from grids.rules import AreaKind
from issues import permissions as perm
from issues.models import Department, DepartmentTask, Level, Meeting, Ticket, TicketEvent, Tier
from issues.services.errors import TicketError
from issues.services.notifications import department_users, excerpt, notify
from issues.services.workflow import (
    _authorise,
    _event,
    _locked,
    _touch,
    ticket_resolve,
    ticket_transition,
)

S = Ticket.State
E = TicketEvent.Kind


@transaction.atomic
def meeting_open(*, area: Area, title: str, actor, held_on: dt.date | None = None) -> Meeting:
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
    ticket = _locked(ticket, expected_version)
    _authorise(actor, ticket, perm.MEETING)
    for part in parts:
        DepartmentTask.objects.create(
            meeting=meeting,
            ticket=ticket,
            department=part.department,
            deadline=part.deadline,
            instructions=part.instructions.strip(),
        )
    names = "、".join(p.department.name for p in parts)
    ticket = ticket_transition(
        ticket=ticket,
        to=S.ASSIGNED,
        actor=actor,
        kind=E.MEETING,
        note=_("%(meeting)s: assigned to %(departments)s")
        % {"meeting": meeting.title, "departments": names},
        fields={
            "level": Level.DEPARTMENT,
            "tier": Tier.HARD,
            "deadline": max(p.deadline for p in parts),
            "assigned_at": timezone.now(),
        },
    )
    for part in parts:
        notify(
            ticket=ticket,
            users=department_users(part.department),
            subject=_("Assigned to %(dept)s at %(meeting)s: problem #%(id)s")
            % {"dept": part.department.name, "meeting": meeting.title, "id": ticket.pk},
            body=part.instructions or excerpt(ticket),
            emails=[part.department.email],
        )
    return ticket


@transaction.atomic
def department_report(*, task: DepartmentTask, actor, report: str) -> DepartmentTask:
    """A department reports back on its part; the last part done resolves the ticket."""
    if not report.strip():
        raise ValidationError({"report": _("say what the department did")})
    ticket = _locked(task.ticket, None)
    task = DepartmentTask.objects.select_for_update().get(pk=task.pk)
    if actor is not None and task not in perm.open_tasks_for(actor, ticket):
        raise PermissionDenied
    if task.status != DepartmentTask.Status.OPEN:
        raise TicketError(_("this part has already been reported"))
    now = timezone.now()
    task.status, task.report, task.reported_at, task.reported_by = (
        DepartmentTask.Status.DONE,
        report.strip(),
        now,
        actor,
    )
    task.save(update_fields=["status", "report", "reported_at", "reported_by"])
    _event(ticket, E.DEPARTMENT_REPORT, actor, f"{task.department.name}: {task.report}")
    _touch(ticket)
    if ticket.state == S.ASSIGNED:
        ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=actor, kind=E.ACCEPT)
    if not ticket.tasks.filter(status=DepartmentTask.Status.OPEN).exists():
        reports = (
            ticket.tasks.filter(status=DepartmentTask.Status.DONE)
            .select_related("department")
            .order_by("pk")
        )
        feedback = "\n".join(f"{t.department.name}: {t.report}" for t in reports)
        ticket_resolve(ticket=ticket, actor=actor, feedback=feedback, _system=True)
    return task
