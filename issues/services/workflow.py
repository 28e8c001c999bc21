"""The six-step closed loop: report → triage and assign → handle → supervise → feed back →
evaluate. Every move goes through ``ticket_transition``, which checks the move against
``rules.MOVES``, saves the ticket under a row lock with a version check and appends an
event. Notifications are written to the outbox in the same transaction and sent after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Area
from grids.validators import normalize_phone, validate_phone
from issues import permissions as perm
from issues import rules
from issues.models import (
    Category,
    Level,
    Ticket,
    TicketEvent,
    TicketPhoto,
    TicketSettings,
    Tier,
)
from issues.services.errors import StaleTicket, TicketError
from issues.services.notifications import (
    excerpt,
    notify_handler,
    notify_open_departments,
    notify_triagers,
)
from issues.services.photos import photo_clean
from issues.services.routing import next_route, route, time_limit_days, working_deadline

S = Ticket.State
E = TicketEvent.Kind


def _authorise(actor, ticket: Ticket, action: str) -> None:
    if actor is not None and action not in perm.ticket_actions(actor, ticket):
        raise PermissionDenied


def _locked(ticket: Ticket, expected_version: int | None) -> Ticket:
    fresh = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise StaleTicket(
            _("someone else changed this problem meanwhile; reload the page and try again")
        )
    return fresh


def ticket_transition(
    *,
    ticket: Ticket,
    to: str,
    actor,
    kind: str,
    note: str = "",
    fields: dict | None = None,
) -> Ticket:
    """Move ``ticket`` (already locked by the caller) to ``to``, setting ``fields``, and append
    the event. Illegal moves raise ``TicketError``."""
    old = ticket.state
    froms, target = rules.MOVES.get(kind, (frozenset(), ""))
    if old not in froms or to != target:
        raise TicketError(
            _("a problem that is %(old)s cannot become %(new)s")
            % {"old": Ticket.State(old).label, "new": Ticket.State(to).label}
        )
    now = timezone.now()
    changes = {"state": to, "updated_at": now, "version": ticket.version + 1, **(fields or {})}
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket.save(update_fields=list(changes))
    _event(ticket, kind, actor, note, old_state=old, new_state=to, at=now)
    return ticket


def check_move(ticket: Ticket, kind: str) -> None:
    """Refuse a step the ticket's state does not allow, with a message a worker can act on."""
    if kind not in rules.MOVES or ticket.state not in rules.MOVES[kind][0]:
        raise TicketError(
            _("a problem that is %(state)s cannot be %(step)s")
            % {"state": Ticket.State(ticket.state).label, "step": TicketEvent.Kind(kind).label}
        )


def _event(
    ticket: Ticket,
    kind: str,
    actor,
    note: str = "",
    *,
    old_state: str | None = None,
    new_state: str | None = None,
    at=None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        note=note,
        old_state=ticket.state if old_state is None else old_state,
        new_state=ticket.state if new_state is None else new_state,
        at=at or timezone.now(),
        level=ticket.level,
        handler_area=ticket.handler_area,
    )


def _touch(ticket: Ticket, **fields) -> None:
    fields.update(updated_at=timezone.now(), version=ticket.version + 1)
    for name, value in fields.items():
        setattr(ticket, name, value)
    ticket.save(update_fields=list(fields))


# --- notifications ----------------------------------------------------------------------------
@transaction.atomic
def ticket_report(
    *,
    area: Area,
    category: Category,
    channel: str,
    description: str,
    actor=None,
    reporter=None,
    reporter_name: str = "",
    reporter_phone: str = "",
    visit=None,
    photos: Iterable = (),
    tier: str | None = None,
) -> Ticket:
    """Step 1 (事件上报). With ``tier`` the reporter also triages it (step 2) at once."""
    description = description.strip()
    if not description:
        raise ValidationError({"description": _("describe the problem")})
    if reporter is None and not reporter_phone:
        raise ValidationError({"reporter_phone": _("give the reporter or a phone number")})
    reporter_phone = normalize_phone(reporter_phone)
    if reporter_phone:
        try:
            validate_phone(reporter_phone)
        except ValidationError as exc:
            raise ValidationError({"reporter_phone": exc.messages}) from None
    if len(reporter_name) > 50:
        raise ValidationError({"reporter_name": _("the name is longer than 50 characters")})
    if channel not in Ticket.Channel.values:
        raise ValidationError({"channel": _("unknown channel")})
    photos = [photo_clean(upload=upload) for upload in photos]
    if tier and actor is not None and tier not in perm.triage_tiers(actor, area):
        raise PermissionDenied
    if tier:
        # Someone must be in post to take it before anything (photos included) is stored.
        config = TicketSettings.current()
        route(area, rules.start_level(tier, hard_via_street=config.hard_via_street))
    ticket = Ticket.objects.create(
        area=area,
        category=category,
        channel=channel,
        description=description,
        reporter=reporter,
        reporter_name=reporter_name or (reporter.name if reporter else ""),
        reporter_phone=reporter_phone,
        reported_by=actor,
        visit=visit,
    )
    for photo in photos:
        TicketPhoto.objects.create(
            ticket=ticket,
            kind=photo.kind,
            image=ContentFile(photo.content, name=f"photo.{photo.extension}"),
        )
    _event(
        ticket,
        E.REPORT,
        actor,
        _("via %(channel)s") % {"channel": ticket.get_channel_display()},
        old_state="",
        new_state=S.REPORTED,
    )
    if tier:
        ticket = _assign(Ticket.objects.select_for_update().get(pk=ticket.pk), tier, actor)
    else:
        notify_triagers(ticket)
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, tier: str, actor, note: str = "", expected_version: int | None = None
) -> Ticket:
    """Step 2 (分流交办): decide the tier; the tree decides who handles it and by when."""
    if tier not in Tier.values:
        raise ValidationError({"tier": _("unknown tier")})
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.ASSIGN)
    _authorise(actor, ticket, perm.ASSIGN)
    return _assign(ticket, tier, actor, note)


def _assign(ticket: Ticket, tier: str, actor, note: str = "") -> Ticket:
    if tier not in Tier.values:
        raise ValidationError({"tier": _("unknown tier")})
    config = TicketSettings.current()
    found = route(ticket.area, rules.start_level(tier, hard_via_street=config.hard_via_street))
    days, _rectify = time_limit_days(tier, ticket.category)
    now = timezone.now()
    ticket = ticket_transition(
        ticket=ticket,
        to=S.ASSIGNED,
        actor=actor,
        kind=E.ASSIGN,
        note=" ".join(filter(None, [note.strip(), found.note])),
        fields={
            "tier": tier,
            "level": found.level,
            "handler_area": found.area,
            "deadline": working_deadline(now, days, exclude_weekends=config.exclude_weekends),
            "assigned_at": now,
        },
    )
    notify_handler(ticket, _("New problem for you: #%(id)s") % {"id": ticket.pk})
    return ticket


@transaction.atomic
def ticket_accept(*, ticket: Ticket, actor, expected_version: int | None = None) -> Ticket:
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.ACCEPT)
    _authorise(actor, ticket, perm.ACCEPT)
    return ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=actor, kind=E.ACCEPT)


@transaction.atomic
def ticket_progress(
    *, ticket: Ticket, actor, note: str, expected_version: int | None = None
) -> Ticket:
    """Step 3 (服务处置): a progress note; accepting it on the way if need be."""
    if not note.strip():
        raise ValidationError({"note": _("say what was done")})
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.PROGRESS)
    _authorise(actor, ticket, perm.PROGRESS)
    return ticket_transition(
        ticket=ticket, to=S.IN_PROGRESS, actor=actor, kind=E.PROGRESS, note=note.strip()
    )


@transaction.atomic
def ticket_escalate(
    *,
    ticket: Ticket,
    actor,
    note: str = "",
    as_hard: bool = False,
    expected_version: int | None = None,
    overdue: bool = False,
    now: dt.datetime | None = None,
) -> Ticket:
    """Lift it exactly one level (上提一级), or with ``as_hard`` report it up as a hard problem
    (to the street or the county office). ``actor`` None: the overdue job."""
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.ESCALATE)
    _authorise(actor, ticket, perm.ESCALATE)
    if as_hard and actor is not None and Tier.HARD not in perm.triage_tiers(actor, ticket.area):
        raise PermissionDenied  # reporting up as hard is the grid's call and above
    if ticket.level in (Level.COUNTY, Level.DEPARTMENT) and not as_hard:
        raise TicketError(_("the county office is the top level: put it on an assignment meeting"))
    config = TicketSettings.current()
    if as_hard:
        start = rules.start_level(Tier.HARD, hard_via_street=config.hard_via_street)
        if rules.LEVEL_ORDER.index(start) <= rules.LEVEL_ORDER.index(ticket.level):
            found = next_route(ticket)
        else:
            found = route(ticket.area, start)
        tier = Tier.HARD
    else:
        found = next_route(ticket)
        tier = ticket.tier
    days, rectify_days = time_limit_days(tier, ticket.category)
    now = now or timezone.now()
    fields = {
        "tier": tier,
        "level": found.level,
        "handler_area": found.area,
        "escalation_count": ticket.escalation_count + 1,
        "assigned_at": now,
        "deadline": working_deadline(
            now, rectify_days if overdue else days, exclude_weekends=config.exclude_weekends
        ),
    }
    if overdue:
        fields["on_rectification_list"] = True
    text = " ".join(filter(None, [note.strip(), found.note]))
    ticket = ticket_transition(
        ticket=ticket,
        to=S.ASSIGNED,
        actor=actor,
        kind=E.REPORT_UP if as_hard else E.ESCALATE,
        note=text,
        fields=fields,
    )
    if overdue:
        _event(
            ticket,
            E.RECTIFY,
            None,
            _("overdue: new deadline %(deadline)s")
            % {"deadline": timezone.localtime(ticket.deadline).strftime("%Y-%m-%d")},
        )
    notify_handler(ticket, _("Problem #%(id)s was lifted to you") % {"id": ticket.pk})
    return ticket


@transaction.atomic
def ticket_remind(*, ticket: Ticket, actor, note: str = "") -> Ticket:
    """Step 4 (检查督促): a reminder to whoever holds it."""
    ticket = _locked(ticket, None)
    _authorise(actor, ticket, perm.REMIND)
    _event(ticket, E.REMIND, actor, note.strip())
    _touch(ticket)
    if ticket.level == Level.DEPARTMENT:
        notify_open_departments(
            ticket, _("Reminder: problem #%(id)s") % {"id": ticket.pk}, note or excerpt(ticket)
        )
    else:
        notify_handler(ticket, _("Reminder: problem #%(id)s") % {"id": ticket.pk})
    return ticket


@transaction.atomic
def ticket_resolve(
    *,
    ticket: Ticket,
    actor,
    feedback: str,
    expected_version: int | None = None,
    _system: bool = False,
) -> Ticket:
    """Step 5 (结果反馈): resolved, and the result told to the reporter."""
    if not feedback.strip():
        raise ValidationError({"feedback": _("say what the reporter was told")})
    ticket = _locked(ticket, expected_version)
    if not _system:
        _authorise(actor, ticket, perm.RESOLVE)
    now = timezone.now()
    return ticket_transition(
        ticket=ticket,
        to=S.RESOLVED,
        actor=actor,
        kind=E.RESOLVE,
        note=feedback.strip(),
        fields={
            "feedback": feedback.strip(),
            "resolved_at": now,
            "resolved_level": ticket.level,
            "on_rectification_list": False,
        },
    )


@transaction.atomic
def ticket_rate(
    *, ticket: Ticket, actor, rating: str, comment: str = "", expected_version: int | None = None
) -> Ticket:
    """Step 6 (党群评议): satisfied or basically satisfied closes it; unsatisfied reopens it at
    the same level with a new deadline and counts the reopen."""
    allowed = {Ticket.Rating.SATISFIED, Ticket.Rating.BASIC, Ticket.Rating.UNSATISFIED}
    if rating not in allowed:
        raise ValidationError({"rating": _("unknown rating")})
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.CLOSE)
    _authorise(actor, ticket, perm.RATE)
    _event(
        ticket,
        E.RATE,
        actor,
        " ".join(filter(None, [str(Ticket.Rating(rating).label), comment.strip()])),
    )
    now = timezone.now()
    if rating == Ticket.Rating.UNSATISFIED:
        config = TicketSettings.current()
        days, _rectify = time_limit_days(ticket.tier, ticket.category)
        fields = {
            "reopen_count": ticket.reopen_count + 1,
            "rating": rating,
            "rating_comment": comment.strip(),
            "resolved_at": None,
            "resolved_level": "",
            "deadline": working_deadline(now, days, exclude_weekends=config.exclude_weekends),
        }
        if ticket.level == Level.DEPARTMENT:
            # The departments' parts are done: the county office takes it back, to hold it
            # again at a meeting.
            county = route(ticket.area, Level.COUNTY)
            fields.update(level=county.level, handler_area=county.area)
        ticket = ticket_transition(
            ticket=ticket,
            to=S.IN_PROGRESS,
            actor=actor,
            kind=E.REOPEN,
            note=comment.strip(),
            fields=fields,
        )
        notify_handler(ticket, _("Problem #%(id)s was reopened") % {"id": ticket.pk})
        return ticket
    return ticket_transition(
        ticket=ticket,
        to=S.CLOSED,
        actor=actor,
        kind=E.CLOSE,
        fields={"rating": rating, "rating_comment": comment.strip(), "closed_at": now},
    )


def tickets_close_unrated(*, now: dt.datetime | None = None) -> int:
    """Close tickets resolved more than the configured days ago and never rated — as not
    rated, never as satisfied. Safe to run at any time, any number of times."""
    now = now or timezone.now()
    days = TicketSettings.current().rating_days
    due = Ticket.objects.filter(state=S.RESOLVED, resolved_at__lt=now - dt.timedelta(days=days))
    closed = 0
    for pk in due.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=S.RESOLVED)
                .first()
            )
            if ticket is None:
                continue
            ticket_transition(
                ticket=ticket,
                to=S.CLOSED,
                actor=None,
                kind=E.CLOSE,
                note=_("not rated within %(days)s days") % {"days": days},
                fields={"rating": Ticket.Rating.NOT_RATED, "closed_at": now},
            )
            closed += 1
    return closed


def tickets_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Lift every overdue ticket exactly one level, put it on the rectification list with a
    new deadline and tell the new handler. Running it twice lifts nothing twice: a lifted
    ticket has a deadline in the future. At the county office and with departments there is
    no level above: it goes on the rectification list with a reminder instead."""
    now = now or timezone.now()
    overdue = Ticket.objects.filter(state__in=rules.IN_HAND_STATES, deadline__lt=now)
    count = 0
    for pk in overdue.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state__in=rules.IN_HAND_STATES, deadline__lt=now)
                .first()
            )
            if ticket is None:
                continue  # handled meanwhile, or another worker holds it
            if ticket.level in (Level.COUNTY, Level.DEPARTMENT):
                _rectify_in_place(ticket, now=now)
            else:
                try:
                    ticket_escalate(ticket=ticket, actor=None, overdue=True, now=now)
                except TicketError:
                    _rectify_in_place(ticket, now=now)
            count += 1
    return count


def _rectify_in_place(ticket: Ticket, *, now: dt.datetime | None = None) -> None:
    config = TicketSettings.current()
    _days, rectify_days = time_limit_days(ticket.tier or Tier.HARD, ticket.category)
    deadline = working_deadline(
        now or timezone.now(), rectify_days, exclude_weekends=config.exclude_weekends
    )
    _touch(ticket, on_rectification_list=True, deadline=deadline)
    _event(
        ticket,
        E.RECTIFY,
        None,
        _("overdue: new deadline %(deadline)s")
        % {"deadline": timezone.localtime(deadline).strftime("%Y-%m-%d")},
    )
    if ticket.level == Level.DEPARTMENT:
        notify_open_departments(
            ticket,
            _("Overdue: problem #%(id)s") % {"id": ticket.pk},
            excerpt(ticket),
            to_address=True,
        )
    else:
        notify_handler(ticket, _("Overdue: problem #%(id)s") % {"id": ticket.pk})
