"""Acts on many problems at once from the inbox (the ledger's bulk triage and reminders): each
problem authorised as ``ticket_step`` authorises it, those refused named with the reason, the
rest written in one batch (``workflow.ticket_steps``) and their holders told together. The
places' routes, the settings, limits and holidays are read once for the batch, so the cost
does not grow by a query per problem (tests/issues/test_bulk.py counts them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from issues import permissions as perm
from issues import rules
from issues.models import Level, Ticket, TicketEvent, Tier
from issues.notes import Note
from issues.services.errors import TicketError
from issues.services.notifications import excerpt, notify_departments_many, notify_handlers
from issues.services.workflow import Batch, Plan, assign_plan, ticket_steps, tickets_locked

E = TicketEvent.Kind
BULK_MAX = 100  # what one inbox page can select


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # problem → why


def _locked(ids, *, actor, step: str, tier: str | None = None) -> tuple[list[Ticket], BulkResult]:
    ids = list(dict.fromkeys(int(i) for i in ids))
    result = BulkResult()
    if not ids:
        return [], result
    if len(ids) > BULK_MAX:
        raise ValidationError(_("choose at most %(n)s problems at once") % {"n": BULK_MAX})
    tickets = tickets_locked(Q(pk__in=ids), related=("area", "category", "handler_area"))
    found = {t.pk for t in tickets}
    for pk in ids:
        if pk not in found:
            result.refused[pk] = _("not found, or being changed by someone else")
    allowed = []
    for ticket in tickets:
        if rules.next_state(ticket.state, step) is None:
            result.refused[ticket.pk] = _("not possible while it is %(state)s") % {
                "state": ticket.get_state_display()
            }
        elif not perm.may_take(actor, ticket, step) or (
            tier is not None and tier not in perm.triage_tiers(actor, ticket.area)
        ):
            # As ``ticket_steps`` will check it (the step, the tier), not more loosely.
            result.refused[ticket.pk] = _("not yours to do")
        else:
            allowed.append(ticket)
    return allowed, result


@transaction.atomic
def tickets_assign_many(*, ids, tier: str, actor, note: str = "") -> BulkResult:
    """Step 2 (分流交办) for many reported problems at once, all with ``tier``."""
    if tier not in Tier.values:
        raise ValidationError({"tier": _("unknown tier")})
    tickets, result = _locked(ids, actor=actor, step=E.ASSIGN, tier=tier)
    if not tickets:
        return result
    now = timezone.now()
    batch = Batch.read(now, [t.area for t in tickets])
    steps, taken = [], []
    for ticket in tickets:
        try:
            plan = assign_plan(ticket, tier=tier, actor=actor, note=note, now=now, batch=batch)
        except TicketError as exc:  # nobody in post above this place: this one refused
            result.refused[ticket.pk] = " ".join(exc.messages)
            continue
        taken.append(ticket)
        steps.append((ticket, E.ASSIGN, lambda _l, p=plan: p))
    if not steps:
        return result
    ticket_steps(steps, actor=actor)
    notify_handlers((t, Note("new_for_you", {"id": t.pk}), "assigned") for t in taken)
    result.done = [t.pk for t in taken]
    return result


@transaction.atomic
def tickets_remind_many(*, ids, actor, note: str = "") -> BulkResult:
    """Step 4 (检查督促) for many problems at once: a reminder to whoever holds each."""
    tickets, result = _locked(ids, actor=actor, step=E.REMIND)
    if not tickets:
        return result
    note = note.strip()
    ticket_steps([(t, E.REMIND, lambda _l, n=note: Plan(note=n)) for t in tickets], actor=actor)
    notify_departments_many(
        [t for t in tickets if t.level == Level.DEPARTMENT],
        subject=lambda t: Note("reminder", {"id": t.pk}),
        body=lambda t: note or excerpt(t),
    )
    notify_handlers(
        (t, Note("reminder", {"id": t.pk}), "reminder")
        for t in tickets
        if t.level != Level.DEPARTMENT
    )
    result.done = [t.pk for t in tickets]
    return result
