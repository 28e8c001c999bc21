"""受理/核实: before a report is handled, the triager checks it. Besides giving it a tier
(``workflow.ticket_assign``) they may decline it with a reason the reporter is told, or
merge a duplicate into the problem it repeats; the triage page suggests likely duplicates.

A merged report is declined as a duplicate (``merged_into`` the other problem) and its
reporters move to that problem: each is told, and each may rate its result."""

from __future__ import annotations

import datetime as dt
from difflib import SequenceMatcher

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Area
from grids.selectors import area_subtree_q
from issues import rules
from issues.models import Ticket, TicketEvent, TicketReporter
from issues.selectors import tickets_visible_to
from issues.services.errors import TicketError
from issues.services.reporters import reporters_tell
from issues.services.workflow import Plan, ticket_lock, ticket_step

R = Ticket.DeclineReason
E = TicketEvent.Kind

# Reasons a triager declines with; a duplicate is merged instead (its reporter then follows
# the other problem).
DECLINE_REASONS = (R.NOT_OURS, R.ALREADY_SOLVED, R.OUTSIDE_AREA)
DUPLICATE_DAYS = 30
DUPLICATE_CANDIDATES = 200  # recent problems compared at most, newest first
DUPLICATES_SHOWN = 5


def _first_asker(locked: Ticket, actor) -> dict:
    """Whoever first takes a report a resident filed themselves keeps them informed."""
    if locked.first_asker_id is None and getattr(actor, "pk", None) is not None:
        return {"first_asker": actor}
    return {}


@transaction.atomic
def ticket_decline(
    *, ticket: Ticket, actor, reason: str, note: str, expected_version: int | None = None
) -> Ticket:
    """Decline a report (not ours, already solved, outside our area) and tell its reporters
    why. A duplicate is merged into the problem it repeats (``ticket_merge``)."""
    if reason == R.DUPLICATE:
        raise ValidationError(
            {"reason": _("a duplicate is merged into the problem it repeats: choose that problem")}
        )
    if reason not in DECLINE_REASONS:
        raise ValidationError({"reason": _("choose why it is declined")})
    note = note.strip()
    if not note:
        raise ValidationError({"note": _("say what the reporter is told")})
    now = timezone.now()
    ticket = ticket_step(
        ticket=ticket,
        step=E.DECLINE,
        actor=actor,
        note=f"{R(reason).label}: {note}",
        expected_version=expected_version,
        plan=lambda locked: Plan(
            fields={
                "decline_reason": reason,
                "decline_note": note,
                "closed_at": now,
                **_first_asker(locked, actor),
            }
        ),
    )
    reporters_tell(
        ticket,
        _("Your problem #%(id)s was not taken on: %(reason)s. %(note)s")
        % {"id": ticket.pk, "reason": R(reason).label, "note": note},
    )
    return ticket


@transaction.atomic
def ticket_merge(
    *, ticket: Ticket, into: Ticket, actor, note: str = "", expected_version: int | None = None
) -> Ticket:
    """Merge the report ``ticket`` into the problem ``into`` it repeats: ``ticket`` is
    declined as a duplicate, its reporters become ``into``'s (each told, each to rate its
    result). Returns ``into``."""
    if into.pk == ticket.pk:
        raise ValidationError({"into": _("a problem cannot be merged into itself")})
    if not tickets_visible_to(actor).filter(pk=into.pk).exists():
        raise ValidationError({"into": _("no problem #%(id)s that you can see") % {"id": into.pk}})
    # Both rows locked, the lower id first: two merges the other way round cannot deadlock.
    for pk in sorted([ticket.pk, into.pk]):
        ticket_lock(Ticket(pk=pk))
    target = Ticket.objects.get(pk=into.pk)
    if target.merged_into_id is not None or target.state not in rules.MERGE_TARGET_STATES:
        raise TicketError(
            _("problem #%(id)s is %(state)s: merge only into a problem still being worked on")
            % {"id": target.pk, "state": Ticket.State(target.state).label}
        )
    now = timezone.now()
    note = note.strip()
    merged = ticket_step(
        ticket=ticket,
        step=E.MERGE,
        actor=actor,
        note=" ".join(filter(None, [_("merged into #%(id)s") % {"id": target.pk}, note])),
        expected_version=expected_version,
        plan=lambda locked: Plan(
            fields={
                "decline_reason": R.DUPLICATE,
                "decline_note": note,
                "merged_into": target,
                "closed_at": now,
                **_first_asker(locked, actor),
            }
        ),
    )
    moved = list(TicketReporter.objects.filter(ticket=merged))
    TicketReporter.objects.filter(ticket=merged).update(ticket=target)
    target = ticket_step(
        ticket=target,
        step=E.MERGED_IN,
        actor=actor,
        note=_("the report #%(id)s merged in, with its %(count)s reporter(s)")
        % {"id": merged.pk, "count": len(moved)},
    )
    for reporter in moved:
        reporter.ticket = target
    text = _(
        "Your problem #%(old)s is the same as #%(new)s, which is being handled: you will be "
        "told of its result and may rate it."
    ) % {"old": merged.pk, "new": target.pk}
    _tell(moved, text)
    return target


def _tell(reporters: list[TicketReporter], text: str) -> None:
    from core.models import TextMessage
    from core.sms import sms_queue
    from issues.services.reporters import _mobile, tracking_url

    for reporter in reporters:
        number = _mobile(reporter.phone)
        if number:
            sms_queue(
                number, f"{text} {tracking_url(reporter)}", purpose=TextMessage.Purpose.REPORTER
            )


def may_merge_into(user, target: Ticket) -> bool:
    """Whether ``user`` may add reports to ``target``: they can see it."""
    if getattr(user, "pk", None) is None:
        return False
    return tickets_visible_to(user).filter(pk=target.pk).exists()


def _neighbourhood(area: Area) -> Area:
    """Where duplicates of a report at ``area`` are looked for: its grid (or, above the
    grid, the place itself), so the same building, its neighbours and the grid's streets."""
    from grids.rules import AreaKind

    if area.kind == AreaKind.GRID or area.parent_id is None:
        return area
    grid = area.get_ancestors().filter(kind=AreaKind.GRID).last()
    return grid or area.parent


def similarity(a: str, b: str) -> float:
    """How alike two descriptions read, 0 to 1 (difflib's ratio on the characters: Chinese
    needs no word splitting for this)."""
    return SequenceMatcher(None, a[:300], b[:300], autojunk=False).ratio()


def duplicates_suggest(
    ticket: Ticket, *, user, now: dt.datetime | None = None
) -> list[tuple[Ticket, float]]:
    """Likely duplicates of ``ticket`` for its triager: problems the user can see at the same
    place or its neighbours in the tree, of the same category, reported in the last
    ``DUPLICATE_DAYS`` days and still open or awaiting their rating, most alike first (at
    most ``DUPLICATES_SHOWN``, each with its likeness). One query for the candidates, then a
    text comparison of at most ``DUPLICATE_CANDIDATES`` of them."""
    now = now or timezone.now()
    around = _neighbourhood(ticket.area)
    candidates = list(
        tickets_visible_to(user)
        .filter(
            area_subtree_q(around, "area__"),
            category_id=ticket.category_id,
            created_at__gte=now - dt.timedelta(days=DUPLICATE_DAYS),
            state__in=rules.MERGE_TARGET_STATES,
            merged_into__isnull=True,
        )
        .exclude(pk=ticket.pk)
        .select_related("area", "category")
        .order_by("-created_at")[:DUPLICATE_CANDIDATES]
    )
    scored = []
    for other in candidates:
        score = similarity(ticket.description, other.description)
        if other.area_id == ticket.area_id:
            score += 0.2  # the very same place weighs as much as a fifth of the text
        scored.append((other, min(score, 1.0)))
    scored.sort(key=lambda pair: (-pair[1], -pair[0].pk))
    return [pair for pair in scored if pair[1] >= 0.3][:DUPLICATES_SHOWN]
