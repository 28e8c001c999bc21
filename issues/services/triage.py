"""受理/核实: before a report is handled, the triager checks it. Besides giving it a tier
(``workflow.ticket_assign``) they may decline it with a reason the reporter is told, or
merge a duplicate into the problem it repeats; the triage page suggests likely duplicates.

A merged report is declined as a duplicate (``merged_into`` the other problem) and its
reporters move to that problem: each is told, and each may rate its result."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.privacy import scrub_personal_numbers
from grids.models import Area
from grids.rules import AreaKind
from grids.selectors import keyed_subtree_q
from issues import rules
from issues.models import Ticket, TicketEvent
from issues.selectors import tickets_visible_to
from issues.services.errors import TicketError
from issues.services.reporters import reporters_tell
from issues.services.workflow import (
    Plan,
    first_asker_fields,
    ticket_lock,
    ticket_merged_in,
    ticket_step,
)

R = Ticket.DeclineReason
E = TicketEvent.Kind

# Reasons a triager declines with; a duplicate is merged instead (its reporter then follows
# the other problem).
DECLINE_REASONS = (R.NOT_OURS, R.ALREADY_SOLVED, R.OUTSIDE_AREA)
DUPLICATE_DAYS = 30
DUPLICATE_CANDIDATES = 200  # recent problems compared at most, newest first
DUPLICATES_SHOWN = 5


@transaction.atomic
def ticket_decline(
    *, ticket: Ticket, actor, reason: str, note: str, expected_version: int | None = None
) -> Ticket:
    """Decline a report (not ours, already solved, outside our area) and tell its reporters
    why, all at once (一次性告知). A duplicate is merged into the problem it repeats
    (``ticket_merge``)."""
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
                **first_asker_fields(locked, actor),
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
    declined as a duplicate, its reporters (and those of reports merged into it before)
    become ``into``'s, each told by SMS and each to rate its result. Returns ``into``."""
    if into.pk == ticket.pk:
        raise ValidationError({"into": _("a problem cannot be merged into itself")})
    if not may_merge_into(actor, into):
        raise ValidationError({"into": _("no problem #%(id)s that you can see") % {"id": into.pk}})
    # Both rows locked, the lower id first: two merges the other way round cannot deadlock.
    locked = {pk: ticket_lock(Ticket(pk=pk)) for pk in sorted([ticket.pk, into.pk])}
    target = locked[into.pk]
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
                **first_asker_fields(locked, actor),
            }
        ),
    )
    target, joined = ticket_merged_in(ticket=target, duplicate=merged, actor=actor)
    if target.state in rules.AWAITING_RATING_STATES:
        text = _(
            "Your problem #%(old)s is the same as #%(new)s, which has been resolved: "
            "%(result)s Please rate the result:"
        ) % {"old": merged.pk, "new": target.pk, "result": scrub_personal_numbers(target.feedback)}
    else:
        text = _(
            "Your problem #%(old)s is the same as #%(new)s, which is being handled: you will "
            "be told of its result and may rate it."
        ) % {"old": merged.pk, "new": target.pk}
    reporters_tell(target, text, reporters=joined)
    return target


def may_merge_into(user, target: Ticket) -> bool:
    """Whether ``user`` may add reports to ``target``: they can see it."""
    if getattr(user, "pk", None) is None:
        return False
    return tickets_visible_to(user).filter(pk=target.pk).exists()


def _neighbourhood(ticket: Ticket) -> Area:
    """Where duplicates of ``ticket`` are looked for: its grid (its ancestor key), or, at a
    place above any grid, the place itself: the same unit, its neighbours in the building,
    the other buildings of the grid. No query."""
    if ticket.grid_id is not None:
        return Area(pk=ticket.grid_id, kind=AreaKind.GRID)
    return ticket.area


TEXT_COMPARED = 300  # characters of each description compared
SAME_PLACE_BONUS = 0.2  # the very same place weighs as much as a fifth of the text
LIKELY = 0.3  # the likeness from which a problem is suggested
# What carries no meaning for likeness: punctuation, spaces and digits (a door number, "2单元"
# against "3单元", neither makes two lamps one nor keeps one lamp apart).
_NOISE = re.compile(r"[\W\d_]+", re.UNICODE)


def _bigrams(text: str) -> frozenset[str]:
    """The pairs of neighbouring characters of ``text`` without its noise: for Chinese, which
    has no spaces between words, the pairs carry the words ("楼道", "道灯", "灯坏" …)."""
    clean = _NOISE.sub("", text[:TEXT_COMPARED])
    if len(clean) < 2:
        return frozenset({clean}) if clean else frozenset()
    return frozenset(clean[i : i + 2] for i in range(len(clean) - 1))


def similarity(a: str, b: str) -> float:
    """How alike two descriptions read, 0 to 1: the Dice coefficient of their character
    pairs (linear in the text's length, and it ignores common particles and punctuation
    that a character-by-character comparison counts as alike)."""
    return _dice(_bigrams(a), _bigrams(b))


def _dice(x: frozenset[str], y: frozenset[str]) -> float:
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def duplicates_suggest(
    ticket: Ticket, *, user, now: dt.datetime | None = None
) -> list[tuple[Ticket, float]]:
    """Likely duplicates of ``ticket`` for its triager: problems the user can see at the same
    place or its neighbours in the tree (the same grid), of the same category, reported in
    the last ``DUPLICATE_DAYS`` days and still open or awaiting their rating, most alike
    first (at most ``DUPLICATES_SHOWN``, each with its likeness, 0 to 1). One query
    whatever the number of candidates (the candidates of its grid, by the ancestor key,
    with their place and category), then a text comparison (``similarity``) of at most
    ``DUPLICATE_CANDIDATES`` of them."""
    now = now or timezone.now()
    around = _neighbourhood(ticket)
    candidates = (
        tickets_visible_to(user)
        .filter(
            keyed_subtree_q(around),
            category_id=ticket.category_id,
            created_at__gte=now - dt.timedelta(days=DUPLICATE_DAYS),
            state__in=rules.MERGE_TARGET_STATES,
            merged_into__isnull=True,
        )
        .exclude(pk=ticket.pk)
        .select_related("area", "category")
        .order_by("-created_at", "-pk")[:DUPLICATE_CANDIDATES]
    )
    pairs = _bigrams(ticket.description)
    scored = []
    for other in candidates:
        bonus = SAME_PLACE_BONUS if other.area_id == ticket.area_id else 0.0
        score = min(_dice(pairs, _bigrams(other.description)) + bonus, 1.0)
        if score >= LIKELY:
            scored.append((other, score))
    scored.sort(key=lambda pair: (-pair[1], -pair[0].pk))
    return scored[:DUPLICATES_SHOWN]
