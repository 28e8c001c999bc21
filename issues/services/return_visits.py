"""Return visits (回访): calling the reporter back after the problem is solved. Scheduling
one and logging it are steps of the ticket (they keep its state)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from issues.models import ReturnVisit, Ticket, TicketEvent
from issues.services.errors import TicketError
from issues.services.workflow import Plan, ticket_step

E = TicketEvent.Kind


@transaction.atomic
def return_visit_schedule(*, ticket: Ticket, actor, on: dt.date) -> ReturnVisit:
    scheduled: list[ReturnVisit] = []

    def plan(locked: Ticket) -> Plan:
        if on < timezone.localdate():
            raise ValidationError({"on": _("a return visit is scheduled for today or later")})
        scheduled.append(ReturnVisit.objects.create(ticket=locked, scheduled_for=on, by=actor))
        return Plan()

    ticket_step(
        ticket=ticket,
        step=E.RETURN_VISIT,
        actor=actor,
        note=_("return visit scheduled for %(date)s") % {"date": on.isoformat()},
        plan=plan,
    )
    return scheduled[0]


@transaction.atomic
def return_visit_log(*, visit: ReturnVisit, actor, note: str) -> ReturnVisit:
    logged: list[ReturnVisit] = []

    def plan(locked: Ticket) -> Plan:
        row = ReturnVisit.objects.select_for_update().get(pk=visit.pk)
        if row.done_at is not None:
            raise TicketError(_("this return visit is already logged"))
        row.done_at, row.note, row.by = timezone.now(), note.strip(), actor
        row.save(update_fields=["done_at", "note", "by"])
        logged.append(row)
        return Plan()

    ticket_step(
        ticket=Ticket(pk=visit.ticket_id),
        step=E.RETURN_VISIT,
        actor=actor,
        note=note.strip(),
        plan=plan,
    )
    return logged[0]
