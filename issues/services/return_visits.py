"""Return visits (回访): calling the reporter back after the problem is solved."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from issues import permissions as perm
from issues.models import ReturnVisit, Ticket, TicketEvent
from issues.services.errors import TicketError
from issues.services.workflow import _authorise, _event

E = TicketEvent.Kind


@transaction.atomic
def return_visit_schedule(*, ticket: Ticket, actor, on: dt.date) -> ReturnVisit:
    _authorise(actor, ticket, perm.RETURN_VISIT)
    if on < timezone.localdate():
        raise ValidationError({"on": _("a return visit is scheduled for today or later")})
    visit = ReturnVisit.objects.create(ticket=ticket, scheduled_for=on, by=actor)
    _event(
        ticket,
        E.RETURN_VISIT,
        actor,
        _("return visit scheduled for %(date)s") % {"date": on.isoformat()},
    )
    return visit


@transaction.atomic
def return_visit_log(*, visit: ReturnVisit, actor, note: str) -> ReturnVisit:
    visit = ReturnVisit.objects.select_for_update().select_related("ticket").get(pk=visit.pk)
    _authorise(actor, visit.ticket, perm.RETURN_VISIT)
    if visit.done_at is not None:
        raise TicketError(_("this return visit is already logged"))
    visit.done_at, visit.note, visit.by = timezone.now(), note.strip(), actor
    visit.save(update_fields=["done_at", "note", "by"])
    _event(visit.ticket, E.RETURN_VISIT, actor, note.strip())
    return visit
