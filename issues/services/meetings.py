"""Assignment meetings (交办会): the county office hands a hard problem to one or more
departments, each reports back on its part, and the last report resolves it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Area, Department
from grids.rules import AreaKind
from issues import permissions as perm
from issues.models import DepartmentTask, Level, Meeting, Ticket, TicketEvent, Tier
from issues.rules import SYSTEM
from issues.services.errors import TicketError
from issues.services.notifications import department_users, excerpt, notify
from issues.services.workflow import Plan, resolution, ticket_step

S = Ticket.State
E = TicketEvent.Kind
OPEN = DepartmentTask.Status.OPEN


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

    names = "、".join(p.department.name for p in parts)
    ticket = ticket_step(
        ticket=ticket,
        step=E.MEETING,
        actor=actor,
        note=_("%(meeting)s: assigned to %(departments)s")
        % {"meeting": meeting.title, "departments": names},
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
            subject=_("Assigned to %(dept)s at %(meeting)s: problem #%(id)s")
            % {"dept": part.department.name, "meeting": meeting.title, "id": ticket.pk},
            body=part.instructions or excerpt(ticket),
            emails=[part.department.email],
            kind="meeting_task",
        )
    return ticket


@transaction.atomic
def department_report(*, task: DepartmentTask, actor, report: str) -> DepartmentTask:
    """A department reports back on its part; the last part done resolves the ticket (in the
    same step, as the department: accepted on the way if nobody had yet)."""
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
        part.status, part.report, part.reported_at = DepartmentTask.Status.DONE, report, now
        part.reported_by = None if actor is SYSTEM else actor
        part.save(update_fields=["status", "report", "reported_at", "reported_by"])
        reported.append(part)
        then = [(E.ACCEPT, "")] if locked.state == S.ASSIGNED else []
        fields = {}
        if not locked.tasks.filter(status=OPEN).exists():
            feedback = _feedback(locked)
            then.append((E.RESOLVE, feedback))
            fields = resolution(feedback=feedback, level=locked.level, now=now)
        return Plan(note=f"{part.department.name}: {report}", then=then, fields=fields)

    ticket_step(ticket=Ticket(pk=task.ticket_id), step=E.DEPARTMENT_REPORT, actor=actor, plan=plan)
    return reported[0]


def _feedback(ticket: Ticket) -> str:
    """What the reporter is told when the last part is done: every department's report."""
    reports = (
        ticket.tasks.filter(status=DepartmentTask.Status.DONE)
        .select_related("department")
        .order_by("pk")
    )
    return "\n".join(f"{t.department.name}: {t.report}" for t in reports)
