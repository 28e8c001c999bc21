"""The six-step closed loop: report → triage and assign → handle → supervise → feed back →
evaluate.

Every step of a ticket, whether it moves the ticket to another state or not (a reminder, a
rating, a rectification, a return visit, a department's report), goes through
``ticket_step``: it locks the row, checks the version, authorises the actor for the step,
checks the step against ``rules.MOVES``, saves with ``update_fields`` (bumping the version)
and appends the event. The named acts below (``ticket_accept``, ``ticket_escalate`` …)
work out what their step writes and call it. Notifications are written to the outbox in the
same transaction and sent after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from core.privacy import scrub_personal_numbers
from grids.access import scope_for
from grids.models import Area, Person
from grids.selectors import MovedNodes, keyed_rows_follow_moves, keyed_subtree_q
from grids.signals import areas_moved
from grids.validators import normalize_phone, validate_phone
from issues import permissions as perm
from issues import rules
from issues.models import (
    Category,
    Level,
    Ticket,
    TicketEvent,
    TicketPhoto,
    TicketReporter,
    TicketSettings,
    Tier,
)
from issues.notes import Note, split, with_text
from issues.rules import SYSTEM, ReporterActor
from issues.services.errors import StaleTicket, TicketError
from issues.services.notifications import (
    excerpt,
    notify_handler,
    notify_handlers,
    notify_open_departments,
    notify_triagers,
)
from issues.services.photos import photo_clean
from issues.services.reporters import reporters_tell, tracking_sms
from issues.services.rollups import (
    figures_by_keys,
    rollup_nodes_change,
    snapshot,
    ticket_days_moved,
    ticket_days_reported,
    ticket_days_step,
    ticket_keys,
)
from issues.services.routing import (
    RouteBook,
    holidays_after,
    next_route,
    route,
    tier_policies,
    time_limit_days,
    working_deadline,
)
from points.services import points_award, points_reverse

S = Ticket.State
E = TicketEvent.Kind

# --- the one write path -----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a step writes when that depends on the ticket as locked (a counter, the route
    from its level, a department's part): fields to set and, where given, the step's note
    and the steps that follow it in the same write."""

    fields: dict = field(default_factory=dict)
    note: Note | str | None = None  # a Note: the portal's words, put into words when shown
    then: Sequence[tuple[str, Note | str]] | None = None


def _require_actor(actor) -> None:
    if actor is None:
        raise TypeError("a ticket step needs an actor: a user, or issues.rules.SYSTEM")


def ticket_lock(ticket: Ticket, expected_version: int | None = None) -> Ticket:
    """The ticket's row, locked for the rest of the transaction; a version other than the
    one the caller saw is refused."""
    fresh = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise StaleTicket(
            _("someone else changed this problem meanwhile; reload the page and try again")
        )
    return fresh


def _authorise(actor, ticket: Ticket, step: str, *, tier: str | None) -> None:
    if actor is SYSTEM:
        allowed = step in rules.SYSTEM_STEPS
    elif isinstance(actor, ReporterActor):
        allowed = step in rules.REPORTER_STEPS and actor.reporter.ticket_id == ticket.pk
    elif step == E.MERGED_IN:
        # The problem a duplicate is merged into: the triager of the duplicate need only
        # see it (``triage.ticket_merge`` checked the duplicate itself).
        from issues.selectors import tickets_visible_to

        allowed = tickets_visible_to(actor).filter(pk=ticket.pk).exists()
    else:
        allowed = perm.may_take(actor, ticket, step, tier=tier)
    if not allowed:
        raise PermissionDenied


def _next_state(state: str, step: str) -> str:
    """Where ``step`` takes a ticket that is ``state``; a step the table does not allow
    there is refused with a message a worker can act on."""
    new = rules.next_state(state, step)
    if new is None:
        raise TicketError(
            _("a problem that is %(state)s cannot be %(step)s")
            % {"state": Ticket.State(state).label, "step": TicketEvent.Kind(step).label}
        )
    return new


@transaction.atomic
def ticket_step(
    *,
    ticket: Ticket,
    step: str,
    actor,
    note: str = "",
    expected_version: int | None = None,
    then: Sequence[tuple[str, str]] = (),
    plan: Callable[[Ticket], Plan] | None = None,
    **fields,
) -> Ticket:
    """Take ``step`` on ``ticket``: the one way a ticket changes.

    In order: lock the row, check ``expected_version``, authorise ``actor`` for the step (a
    person through ``permissions.may_take``; ``SYSTEM`` for ``rules.SYSTEM_STEPS`` only),
    check the step against ``rules.MOVES``, work out ``plan(locked)`` if given (it may
    refuse too), check each step of ``then`` ((step, note) pairs that follow in the same
    write: closing after a rating, a rectification after an overdue lift), set ``fields``,
    save with ``update_fields`` bumping the version once, and append one event per step,
    each with its old and new state. Returns the locked, saved ticket; on any refusal
    nothing is written and the caller's object is left as it was.

    A step that keeps the state records where the ticket was handled when it was taken; a
    step that moves it records where it went."""
    _require_actor(actor)
    locked = ticket_lock(ticket, expected_version)
    path, fields = _planned(
        locked, step=step, actor=actor, note=note, then=then, plan=plan, fields=fields
    )
    _write(locked, actor, path, fields)
    if any(kind == E.RESOLVE for kind, _note, _was, _becomes in path):
        _tell_result(locked)
    return locked


@transaction.atomic
def ticket_steps(
    steps: Sequence[tuple[Ticket, str, Callable[[Ticket], Plan]]], *, actor
) -> list[Ticket]:
    """``ticket_step`` for many tickets at once (a job's batch): each ``(ticket, step,
    plan)`` with its ticket locked by the caller (``select_for_update``), authorised,
    checked and planned as ``ticket_step`` does, then all written together (``_write_many``:
    one update, one insert of the events). Any refusal refuses the whole batch."""
    _require_actor(actor)
    planned = []
    for locked, step, plan in steps:
        path, fields = _planned(
            locked, step=step, actor=actor, note="", then=(), plan=plan, fields={}
        )
        planned.append((locked, path, fields))
    _write_many(planned, actor)
    for locked, path, _fields in planned:
        if any(kind == E.RESOLVE for kind, _note, _was, _becomes in path):
            _tell_result(locked)
    return [locked for locked, _path, _fields in planned]


Path = list[tuple[str, Note | str, str, str]]  # (step, note, state before, state after)


def _planned(locked: Ticket, *, step, actor, note, then, plan, fields) -> tuple[Path, dict]:
    """What ``ticket_step`` writes on ``locked``: authorised, checked against the table of
    moves, the plan worked out. Raises (and writes nothing) on any refusal."""
    _authorise(actor, locked, step, tier=fields.get("tier"))
    new = _next_state(locked.state, step)
    if plan is not None:
        planned = plan(locked)
        fields = {**fields, **planned.fields}
        note = note if planned.note is None else planned.note
        then = then if planned.then is None else planned.then
    path = [(step, note, locked.state, new)]
    for follow, follow_note in then:
        if actor is SYSTEM and follow not in rules.SYSTEM_STEPS:
            raise PermissionDenied
        if isinstance(actor, ReporterActor) and follow not in rules.REPORTER_STEPS:
            raise PermissionDenied
        was = path[-1][3]
        path.append((follow, follow_note, was, _next_state(was, follow)))
    return path, fields


RESULT_EXCERPT = 120  # characters of the result in the SMS


def _tell_result(ticket: Ticket) -> None:
    """Step 5 (结果反馈) reaches the reporters themselves: each with a mobile number (every
    report merged in included) gets the result and their tracking link to rate it, whatever
    resolved it (a handler, the last department's report, the system)."""
    result = scrub_personal_numbers(" ".join(ticket.feedback.split()))
    if len(result) > RESULT_EXCERPT:
        result = result[: RESULT_EXCERPT - 1] + "…"
    reporters_tell(
        ticket,
        _("Your problem #%(id)s has been resolved: %(result)s Please rate the result:")
        % {"id": ticket.pk, "result": result},
    )


def first_asker_fields(locked: Ticket, actor) -> dict:
    """首问负责: the first person to take a report that came in with nobody's login (a
    resident's own, the Open311 API) becomes its first asker, who keeps the reporter
    informed; whoever recorded a report already is."""
    if locked.first_asker_id is None and getattr(actor, "pk", None) is not None:
        return {"first_asker": actor}
    return {}


def _write(ticket: Ticket, actor, path: Path, fields: dict) -> None:
    """Save ``ticket`` (locked) with ``fields`` and the state the last step of ``path``
    leads to, the version bumped once, and append the events of ``path``."""
    _write_many([(ticket, path, fields)], actor)


def _write_many(steps: list[tuple[Ticket, Path, dict]], actor) -> None:
    """``_write`` for many locked tickets at once (the overdue job's batch): one ``UPDATE``
    for one ticket, a ``bulk_update`` for several, one insert of all their events, and
    their day figures (none for a step that changes no figure)."""
    now = timezone.now()
    events, names = [], set()
    for ticket, path, fields in steps:
        handled_before = (ticket.level, ticket.handler_area_id)
        before = snapshot(ticket)
        changes = {**fields, "state": path[-1][3], "updated_at": now, "version": ticket.version + 1}
        for name, value in changes.items():
            setattr(ticket, name, value)
        names.update(changes)
        if len(steps) == 1:
            ticket.save(update_fields=list(changes))
        ticket_days_step(before, ticket)
        handled_after = (ticket.level, ticket.handler_area_id)
        events += [
            _event(
                ticket,
                kind,
                actor,
                text,
                old_state=was,
                new_state=becomes,
                at=now,
                handled=handled_before if (index == 0 and _stays(kind)) else handled_after,
            )
            for index, (kind, text, was, becomes) in enumerate(path)
        ]
    if len(steps) > 1:
        fields = [Ticket._meta.get_field(name).name for name in sorted(names)]
        Ticket.objects.bulk_update([ticket for ticket, _p, _f in steps], fields)
    TicketEvent.objects.bulk_create(events)
    for ticket, path, _fields in steps:
        _points_follow(ticket, path, actor)


# --- points for the work (积分): awarded with the step, reversed when it is undone ----------


def _person_of(actor):
    """The person behind a login; None for the system, a reporter, a login without one."""
    if actor is SYSTEM or isinstance(actor, ReporterActor) or getattr(actor, "pk", None) is None:
        return None
    try:
        return actor.person
    except ObjectDoesNotExist:  # a login with no person (an administrator)
        return None


def _solve_key(ticket: Ticket, round_: int) -> str:
    # One act per round: a problem reopened and solved again is a new act, its first
    # solution's points reversed when it reopened.
    return f"ticket:{ticket.pk}:solved:{round_}"


def _rated_key(ticket: Ticket, reporter_id: int, round_: int) -> str:
    return f"ticket:{ticket.pk}:rated:{reporter_id}:{round_}"


def _solved_at_own_level(ticket: Ticket, actor) -> bool:
    """Whether ``actor`` solved it at their own level: they hold a post answering at the
    level that held the problem (a unit head at the unit, a grid head at the grid …) over
    the place that held it, rather than a stronger role reaching down or the departments
    (whose problems the county office closes after its review)."""
    if ticket.handler_area_id is None:
        return False
    return any(
        g.role == ticket.level for g in scope_for(actor).grants_covering(ticket.handler_area)
    )


def _points_follow(ticket: Ticket, path: Path, actor) -> None:
    """A problem solved at the solver's own level earns them problem_solved_own_level; a
    reopen (the reporter unsatisfied) reverses that round's solution and its satisfied
    ratings."""
    kinds = {kind for kind, _note, _was, _becomes in path}
    if E.REOPEN in kinds:
        round_ = ticket.reopen_count - 1
        reason = _("problem #%(id)s reopened") % {"id": ticket.pk}
        points_reverse(
            rule="problem_solved_own_level",
            act_key=_solve_key(ticket, round_),
            actor=actor,
            reason=reason,
        )
        for reporter_id in ticket.reporters.values_list("pk", flat=True):
            points_reverse(
                rule="rated_satisfied",
                act_key=_rated_key(ticket, reporter_id, round_),
                actor=actor,
                reason=reason,
            )
    if E.RESOLVE in kinds:
        person = _person_of(actor)
        if person is not None and _solved_at_own_level(ticket, actor):
            points_award(
                person=person,
                rule="problem_solved_own_level",
                act_key=_solve_key(ticket, ticket.reopen_count),
                area=ticket.area,
                actor=actor,
                note=_("problem #%(id)s") % {"id": ticket.pk},
            )


def _points_for_rating(ticket: Ticket, reporter_id: int, rating: str) -> None:
    """A reporter satisfied with the result earns whoever solved it rated_satisfied."""
    if rating != Ticket.Rating.SATISFIED:
        return
    solver = (
        TicketEvent.objects.filter(ticket=ticket, kind=E.RESOLVE, actor__person__isnull=False)
        .order_by("-at", "-pk")
        .values_list("actor__person", flat=True)
        .first()
    )
    if solver is None:
        return
    points_award(
        person=Person(pk=solver),
        rule="rated_satisfied",
        act_key=_rated_key(ticket, reporter_id, ticket.reopen_count),
        area=ticket.area,
        note=_("problem #%(id)s") % {"id": ticket.pk},
    )


def _stays(step: str) -> bool:
    return rules.MOVES[step][1] is rules.STAY


def _event(
    ticket: Ticket,
    kind: str,
    actor,
    note: Note | str,
    *,
    old_state: str,
    new_state: str,
    at: dt.datetime,
    handled: tuple[str, int | None],
) -> TicketEvent:
    level, handler_area_id = handled
    person = actor if actor is not SYSTEM and not isinstance(actor, ReporterActor) else None
    text, system_note = split(note)
    return TicketEvent(
        ticket=ticket,
        kind=kind,
        actor=person,
        reporter=actor.reporter if isinstance(actor, ReporterActor) else None,
        note=text,
        system_note=system_note,
        old_state=old_state,
        new_state=new_state,
        at=at,
        level=level,
        handler_area_id=handler_area_id,
    )


# --- step 1: the report -------------------------------------------------------------------


def _reporter_checked(*, reporter, reporter_name: str, reporter_phone: str) -> str:
    """The reporter's phone number, normalised; a report needs a reporter or a number."""
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
    return reporter_phone


@transaction.atomic
def ticket_report(
    *,
    area: Area,
    category: Category,
    channel: str,
    description: str,
    actor=SYSTEM,
    reporter=None,
    reporter_name: str = "",
    reporter_phone: str = "",
    account=None,
    visit=None,
    photos: Iterable = (),
    tier: str | None = None,
) -> Ticket:
    """Step 1 (事件上报). With ``tier`` the reporter also triages it (step 2) at once.
    ``actor`` is the person who records it (the first asker, 首问负责); ``SYSTEM`` for an
    intake channel with no login (the Open311 API, the demo) and for a resident reporting
    on the resident pages (``account``, their ``residents.ResidentAccount``). The reporter
    becomes the problem's first ``TicketReporter``; one reached by phone and not signed in
    is sent a tracking link by SMS (``reporters.tracking_sms``)."""
    _require_actor(actor)
    if account is not None:
        reporter = reporter or account.resident
        reporter_phone = reporter_phone or account.phone
        reporter_name = reporter_name or account.display_name
    description = description.strip()
    if not description:
        raise ValidationError({"description": _("describe the problem")})
    reporter_phone = _reporter_checked(
        reporter=reporter, reporter_name=reporter_name, reporter_phone=reporter_phone
    )
    if channel not in Ticket.Channel.values:
        raise ValidationError({"channel": _("unknown channel")})
    photos = [photo_clean(upload=upload) for upload in photos]
    if tier and actor is not SYSTEM and tier not in perm.triage_tiers(actor, area):
        raise PermissionDenied
    if tier:
        # Someone must be in post to take it before anything (photos included) is stored.
        config = TicketSettings.current()
        route(area, rules.start_level(tier, hard_via_street=config.hard_via_street))
    ticket = Ticket.objects.create(
        area=area,
        **ticket_keys(area),
        category=category,
        channel=channel,
        description=description,
        reporter=reporter,
        reporter_name=reporter_name or (reporter.name if reporter else ""),
        reporter_phone=reporter_phone,
        reported_by=None if actor is SYSTEM else actor,
        first_asker=None if actor is SYSTEM else actor,
        visit=visit,
    )
    ticket_days_reported(ticket)
    first = TicketReporter.objects.create(
        ticket=ticket,
        reported_as=ticket,
        account=account,
        resident=ticket.reporter,
        name=ticket.reporter_name,
        phone=reporter_phone or (ticket.reporter.phone if ticket.reporter else ""),
    )
    _photos_store(ticket, photos)
    _event(
        ticket,
        E.REPORT,
        ReporterActor(first) if account is not None else actor,
        Note("via", {"channel": ticket.channel}),
        old_state="",
        new_state=S.REPORTED,
        at=timezone.now(),
        handled=(ticket.level, ticket.handler_area_id),
    ).save()
    if account is None:
        tracking_sms(first)
    if tier:
        return _assign(ticket, tier, actor)
    notify_triagers(ticket)
    return ticket


def _photos_store(ticket: Ticket, photos: list) -> None:
    """The checked photos, each under a random name with the extension its content shows."""
    for photo in photos:
        TicketPhoto.objects.create(
            ticket=ticket,
            kind=photo.kind,
            image=ContentFile(photo.content, name=f"photo.{photo.extension}"),
        )


# --- step 2: triage and assign ------------------------------------------------------------


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, tier: str, actor, note: str = "", expected_version: int | None = None
) -> Ticket:
    """Step 2 (分流交办): decide the tier; the tree decides who handles it and by when."""
    return _assign(ticket, tier, actor, note, expected_version=expected_version)


def _assign(
    ticket: Ticket, tier: str, actor, note: str = "", *, expected_version: int | None = None
) -> Ticket:
    if tier not in Tier.values:
        raise ValidationError({"tier": _("unknown tier")})
    ticket = ticket_step(
        ticket=ticket,
        step=E.ASSIGN,
        actor=actor,
        expected_version=expected_version,
        plan=lambda locked: assign_plan(locked, tier=tier, actor=actor, note=note),
        tier=tier,
    )
    notify_handler(ticket, Note("new_for_you", {"id": ticket.pk}))
    return ticket


def assign_plan(
    ticket: Ticket, *, tier: str, actor, note: str, now=None, batch: Batch | None = None
) -> Plan:
    """Where triage with ``tier`` sends ``ticket`` (locked), and by when: the first rung at or
    above the tier's start with somebody in post, the tier's (or category's) time limit in
    working days. One problem reads the settings and its route itself; many at once
    (``bulk.tickets_assign_many``) pass the ``batch`` read once for them all. Raises
    ``TicketError`` when nobody is in post above the place."""
    now = now or timezone.now()
    config = batch.config if batch else TicketSettings.current()
    found = route(
        ticket.area,
        rules.start_level(tier, hard_via_street=config.hard_via_street),
        book=batch.book if batch else None,
    )
    days, _rectify = time_limit_days(
        tier, ticket.category, policies=batch.policies if batch else None
    )
    return Plan(
        note=with_text(found.note, note),
        fields={
            **first_asker_fields(ticket, actor),
            "tier": tier,
            "level": found.level,
            "handler_area": found.area,
            "deadline": working_deadline(
                now,
                days,
                exclude_weekends=config.exclude_weekends,
                holidays=batch.holidays if batch else None,
            ),
            "assigned_at": now,
        },
    )


# --- step 3: handling -----------------------------------------------------------------------


def ticket_accept(*, ticket: Ticket, actor, expected_version: int | None = None) -> Ticket:
    return ticket_step(ticket=ticket, step=E.ACCEPT, actor=actor, expected_version=expected_version)


def ticket_progress(
    *, ticket: Ticket, actor, note: str, expected_version: int | None = None
) -> Ticket:
    """Step 3 (服务处置): a progress note; accepting it on the way if need be."""
    if not note.strip():
        raise ValidationError({"note": _("say what was done")})
    return ticket_step(
        ticket=ticket,
        step=E.PROGRESS,
        actor=actor,
        note=note.strip(),
        expected_version=expected_version,
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
    (to the street or the county office). ``overdue``: the overdue job lifting it, onto the
    rectification list with the rectification time limit."""
    ticket = ticket_step(
        ticket=ticket,
        step=E.REPORT_UP if as_hard else E.ESCALATE,
        actor=actor,
        expected_version=expected_version,
        plan=lambda locked: _lift(
            locked, note=note, as_hard=as_hard, overdue=overdue, now=now or timezone.now()
        ),
    )
    notify_handler(
        ticket,
        Note("lifted_to_you", {"id": ticket.pk}),
        kind="rectification" if overdue else "lifted",  # overdue: on the rectification list
    )
    return ticket


@dataclass
class Batch:
    """What a job reads once for many problems: the settings, the tiers' time limits, the
    holidays ahead and the routes over their places (``routing.RouteBook``)."""

    config: TicketSettings
    policies: dict
    holidays: dict
    book: RouteBook | None = None

    @classmethod
    def read(cls, now: dt.datetime, places=()) -> Batch:
        return cls(
            config=TicketSettings.current(),
            policies=tier_policies(),
            holidays=holidays_after(timezone.localdate(now)),
            book=RouteBook(places) if places else None,
        )


def _lift(
    ticket: Ticket,
    *,
    note: str,
    as_hard: bool,
    overdue: bool,
    now: dt.datetime,
    batch: Batch | None = None,
) -> Plan:
    """Where a lift takes ``ticket`` (locked), and by when."""
    if ticket.level in (Level.COUNTY, Level.DEPARTMENT) and not as_hard:
        raise TicketError(_("the county office is the top level: put it on an assignment meeting"))
    config = batch.config if batch else TicketSettings.current()
    book = batch.book if batch else None
    if as_hard:
        start = rules.start_level(Tier.HARD, hard_via_street=config.hard_via_street)
        if rules.LEVEL_ORDER.index(start) <= rules.LEVEL_ORDER.index(ticket.level):
            found = next_route(ticket, book=book)
        else:
            found = route(ticket.area, start, book=book)
        tier = Tier.HARD
    else:
        found = next_route(ticket, book=book)
        tier = ticket.tier
    days, rectify_days = time_limit_days(
        tier, ticket.category, policies=batch.policies if batch else None
    )
    deadline = working_deadline(
        now,
        rectify_days if overdue else days,
        exclude_weekends=config.exclude_weekends,
        holidays=batch.holidays if batch else None,
    )
    fields = {
        "tier": tier,
        "level": found.level,
        "handler_area": found.area,
        "escalation_count": ticket.escalation_count + 1,
        "assigned_at": now,
        "deadline": deadline,
    }
    then = ()
    if overdue:
        fields["on_rectification_list"] = True
        then = ((E.RECTIFY, _overdue_note(deadline)),)
    return Plan(fields=fields, note=with_text(found.note, note), then=then)


def _overdue_note(deadline: dt.datetime) -> Note:
    return Note("overdue", {"deadline": timezone.localtime(deadline).strftime("%Y-%m-%d")})


# --- step 4: supervision ----------------------------------------------------------------------


@transaction.atomic
def ticket_remind(*, ticket: Ticket, actor, note: str = "") -> Ticket:
    """Step 4 (检查督促): a reminder to whoever holds it."""
    ticket = ticket_step(ticket=ticket, step=E.REMIND, actor=actor, note=note.strip())
    if ticket.level == Level.DEPARTMENT:
        notify_open_departments(
            ticket, Note("reminder", {"id": ticket.pk}), note.strip() or excerpt(ticket)
        )
    else:
        notify_handler(ticket, Note("reminder", {"id": ticket.pk}), kind="reminder")
    return ticket


# --- step 5: feedback -------------------------------------------------------------------------


def resolution(*, feedback: str, level: str, now: dt.datetime) -> dict:
    """The fields a resolve sets: what the reporter was told, when, and at which level."""
    return {
        "feedback": feedback,
        "resolved_at": now,
        "resolved_level": level,
        "on_rectification_list": False,
    }


def ticket_resolve(
    *, ticket: Ticket, actor, feedback: str, expected_version: int | None = None
) -> Ticket:
    """Step 5 (结果反馈): resolved, and the result told to the reporter."""
    feedback = feedback.strip()
    if not feedback:
        raise ValidationError({"feedback": _("say what the reporter was told")})
    now = timezone.now()
    return ticket_step(
        ticket=ticket,
        step=E.RESOLVE,
        actor=actor,
        note=feedback,
        expected_version=expected_version,
        plan=lambda locked: Plan(fields=resolution(feedback=feedback, level=locked.level, now=now)),
    )


# --- step 6: evaluation -----------------------------------------------------------------------

RATINGS = frozenset({Ticket.Rating.SATISFIED, Ticket.Rating.BASIC, Ticket.Rating.UNSATISFIED})


def _rater(ticket: Ticket, actor, reporter):
    """The reporter row the rating is for, its source and the caller (for a return call).
    The rating is the reporter's: never the system's, never by someone who worked on it."""
    if actor is SYSTEM:
        raise TicketError(_("the portal never rates a problem: the rating is the reporter's"))
    if isinstance(actor, ReporterActor):
        return actor.reporter, Ticket.RatingSource.RESIDENT, None
    if perm.has_worked_on(actor, ticket):
        raise TicketError(
            _(
                "you worked on this problem, so you cannot rate it: the rating is the "
                "reporter's, given on the resident pages, through their tracking link or on a "
                "return call by someone who did not handle it"
            )
        )
    row = reporter or ticket.reporters.order_by("created_at", "pk").first()
    if row is None or row.ticket_id != ticket.pk:
        raise ValidationError({"reporter": _("choose one of this problem's reporters")})
    return row, Ticket.RatingSource.RETURN_CALL, actor


def rated_this_round(row: TicketReporter, ticket: Ticket) -> bool:
    """Has ``row`` rated the result the problem has now (since it was last resolved)?"""
    return bool(row.rated_at and ticket.resolved_at and row.rated_at >= ticket.resolved_at)


def _summary(rows: Iterable[TicketReporter]) -> dict:
    """The problem's rating from its reporters' ratings of one result: basically satisfied
    if any said so, else satisfied; rated by the resident if any reporter rated it
    themselves, else by return call."""
    rows = list(rows)
    if not rows:
        return {"rating": Ticket.Rating.NOT_RATED, "rating_source": "", "rating_comment": ""}
    ratings = {r.rating for r in rows}
    sources = {r.rating_source for r in rows}
    return {
        "rating": Ticket.Rating.BASIC
        if Ticket.Rating.BASIC in ratings
        else Ticket.Rating.SATISFIED,
        "rating_source": Ticket.RatingSource.RESIDENT
        if Ticket.RatingSource.RESIDENT in sources
        else Ticket.RatingSource.RETURN_CALL,
        "rating_comment": " / ".join(r.rating_comment for r in rows if r.rating_comment),
    }


@transaction.atomic
def ticket_rate(
    *,
    ticket: Ticket,
    actor,
    rating: str,
    comment: str = "",
    reporter: TicketReporter | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Step 6 (党群评议): a reporter rates the result. ``actor`` is a ``ReporterActor`` (the
    resident pages, the tracking link) or a worker logging a return call (回访) who did not
    work on the problem; ``reporter`` is then the reporter who answered (default: the first).

    Unsatisfied reopens it at the same level with a new deadline and counts the reopen.
    Satisfied or basically satisfied is kept on the reporter's row; once every reporter of
    the problem (a merged problem has several) has rated this result, it closes with their
    summed-up rating. Whoever has not rated when the rating days run out is left out
    (``tickets_close_unrated``)."""
    if rating not in RATINGS:
        raise ValidationError({"rating": _("unknown rating")})
    comment = comment.strip()
    row, source, caller = _rater(ticket, actor, reporter)
    rated = " ".join(filter(None, [str(Ticket.Rating(rating).label), comment]))
    if source == Ticket.RatingSource.RETURN_CALL:
        rated = _("%(rating)s (by return call)") % {"rating": rated}
    now = timezone.now()

    def plan(locked: Ticket) -> Plan:
        fresh = TicketReporter.objects.select_for_update().get(pk=row.pk)
        if rated_this_round(fresh, locked):
            raise TicketError(_("this reporter has already rated this result"))
        if rating == Ticket.Rating.UNSATISFIED:
            fields = {**_reopening(locked, comment=comment), "rating_source": source}
            return Plan(fields=fields, note=rated, then=((E.REOPEN, comment),))
        fresh.rating, fresh.rating_comment, fresh.rating_source = rating, comment, source
        others = list(locked.reporters.exclude(pk=row.pk))
        if not all(rated_this_round(r, locked) for r in others):
            return Plan(note=rated)  # the others of a merged problem are still to rate it
        return Plan(
            fields={**_summary([*others, fresh]), "closed_at": now},
            note=rated,
            then=((E.CLOSE, ""),),
        )

    ticket = ticket_step(
        ticket=ticket, step=E.RATE, actor=actor, expected_version=expected_version, plan=plan
    )
    TicketReporter.objects.filter(pk=row.pk).update(
        rating=rating,
        rating_comment=comment,
        rating_source=source,
        rating_caller=caller,
        rated_at=now,
    )
    _points_for_rating(ticket, row.pk, rating)
    if rating == Ticket.Rating.UNSATISFIED:
        notify_handler(
            ticket,
            Note("rated_unsatisfied", {"id": ticket.pk}),
            kind="reopened",
        )
    return ticket


@transaction.atomic
def ticket_merged_in(
    *, ticket: Ticket, duplicate: Ticket, actor
) -> tuple[Ticket, list[TicketReporter]]:
    """The second half of a merge (``triage.ticket_merge``, which declined ``duplicate``
    as merged into ``ticket``): ``ticket`` takes in the duplicate's reporters (with any
    merged into it before), who follow and rate it from now on; the reports merged into the
    duplicate before are now merged into ``ticket`` (B into A, then A into C: B into C).
    Returns ``ticket`` and the reporters who joined it."""
    if duplicate.merged_into_id != ticket.pk:
        raise TicketError(
            _("problem #%(id)s was not merged into #%(into)s")
            % {"id": duplicate.pk, "into": ticket.pk}
        )
    joined: list[TicketReporter] = []

    def plan(locked: Ticket) -> Plan:
        joined.extend(TicketReporter.objects.select_for_update().filter(ticket_id=duplicate.pk))
        return Plan(
            note=_("the report #%(id)s merged in, with its %(count)s reporter(s)")
            % {"id": duplicate.pk, "count": len(joined)}
        )

    ticket = ticket_step(ticket=ticket, step=E.MERGED_IN, actor=actor, plan=plan)
    TicketReporter.objects.filter(pk__in=[r.pk for r in joined]).update(ticket=ticket)
    # The reports merged into the duplicate before now point at ``ticket`` too: no chains,
    # each declined duplicate names the problem its reporters follow.
    Ticket.objects.filter(merged_into_id=duplicate.pk).update(
        merged_into=ticket, version=F("version") + 1, updated_at=timezone.now()
    )
    for reporter in joined:
        reporter.ticket = ticket
    return ticket, joined


def _reopening(ticket: Ticket, *, comment: str) -> dict:
    """The fields an unsatisfied rating sets on ``ticket`` (locked): back to work with a new
    deadline, the reopen counted."""
    config = TicketSettings.current()
    days, _rectify = time_limit_days(ticket.tier, ticket.category)
    fields = {
        "reopen_count": ticket.reopen_count + 1,
        "rating": Ticket.Rating.UNSATISFIED,
        "rating_comment": comment,
        "resolved_at": None,
        "resolved_level": "",
        "deadline": working_deadline(
            timezone.now(), days, exclude_weekends=config.exclude_weekends
        ),
    }
    if ticket.level == Level.DEPARTMENT:
        # The departments' parts are done: the county office takes it back, to hold it
        # again at a meeting.
        county = route(ticket.area, Level.COUNTY)
        fields.update(level=county.level, handler_area=county.area)
    return fields


# --- the deadline jobs ------------------------------------------------------------------------


def tickets_close_unrated(*, now: dt.datetime | None = None) -> int:
    """Close tickets resolved more than the configured days ago and not rated by every
    reporter: with the ratings given (a merged problem), or as not rated — never as
    satisfied for someone who said nothing. Safe to run at any time, any number of times."""
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
            rated = [r for r in ticket.reporters.all() if rated_this_round(r, ticket)]
            note = (
                _("closed with the ratings given within %(days)s days")
                if rated
                else _("not rated within %(days)s days")
            )
            ticket_step(
                ticket=ticket,
                step=E.CLOSE,
                actor=SYSTEM,
                note=note % {"days": days},
                closed_at=now,
                **_summary(rated),
            )
            closed += 1
    return closed


OVERDUE_BATCH = 200


def tickets_locked(where: Q, *, related: Sequence[str] = ()) -> list[Ticket]:
    """A job's batch: the tickets ``where`` says, locked for the rest of its transaction, in
    id order (as every step locks them), skipping any another worker holds; ``related``
    read with them."""
    tickets = Ticket.objects.filter(where).select_related(*related)
    return list(tickets.select_for_update(skip_locked=True, of=("self",)).order_by("pk"))


def tickets_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Lift every overdue ticket exactly one level, put it on the rectification list with a
    new deadline and tell the new handler. Running it twice lifts nothing twice: a lifted
    ticket has a deadline in the future. At the county office there is no level above: it
    goes on the rectification list with a reminder instead. A problem with the departments
    is overdue by its parts, each with its own deadline
    (``issues.services.meetings.parts_escalate_overdue``).

    In batches of ``OVERDUE_BATCH``, each its own transaction: the batch's rows locked
    (skipping any another worker holds), the settings, limits, holidays and routes read
    once, the tickets and their events written together and their holders told together
    (bench/RESULTS.md: queries per escalated ticket)."""
    now = now or timezone.now()
    overdue = Ticket.objects.filter(state__in=rules.IN_HAND_STATES, deadline__lt=now).exclude(
        level=Level.DEPARTMENT
    )
    ids = list(overdue.order_by("pk").values_list("pk", flat=True))
    return sum(
        _escalate_batch(ids[first : first + OVERDUE_BATCH], now=now)
        for first in range(0, len(ids), OVERDUE_BATCH)
    )


@transaction.atomic
def _escalate_batch(ids: list[int], *, now: dt.datetime) -> int:
    locked = tickets_locked(
        Q(pk__in=ids, state__in=rules.IN_HAND_STATES, deadline__lt=now)
        & ~Q(level=Level.DEPARTMENT),
        related=("category", "area"),
    )
    if not locked:
        return 0
    batch = Batch.read(now, [t.area for t in locked])
    steps, told = [], []
    for ticket in locked:
        try:
            plan = _lift(ticket, note="", as_hard=False, overdue=True, now=now, batch=batch)
            step = E.ESCALATE
            subject = Note("lifted_to_you", {"id": ticket.pk})
        except TicketError:  # the county office, or nobody above: rectified where it is
            plan = rectification(ticket, now=now, batch=batch)
            step = E.RECTIFY
            subject = Note("overdue_here", {"id": ticket.pk})
        steps.append((ticket, step, lambda _locked, p=plan: p))
        told.append((ticket, subject, "rectification"))
    if steps:
        ticket_steps(steps, actor=SYSTEM)
        notify_handlers(told)
    return len(locked)


def rectification(ticket: Ticket, *, now: dt.datetime, batch: Batch | None = None) -> Plan:
    """An overdue ticket with no level above: on the rectification list, a new deadline."""
    config = batch.config if batch else TicketSettings.current()
    _days, rectify_days = time_limit_days(
        ticket.tier or Tier.HARD, ticket.category, policies=batch.policies if batch else None
    )
    deadline = working_deadline(
        now,
        rectify_days,
        exclude_weekends=config.exclude_weekends,
        holidays=batch.holidays if batch else None,
    )
    return Plan(
        fields={"on_rectification_list": True, "deadline": deadline}, note=_overdue_note(deadline)
    )


# --- the tree changes under the problems ------------------------------------------------------


@receiver(areas_moved, dispatch_uid="issues.tickets_follow_moves")
def tickets_follow_moves(sender=None, *, moved: MovedNodes, **kwargs) -> int:
    """Nodes moved (``grids.signals.areas_moved``, inside the move's transaction): the
    problems under them take the ancestor keys of their new place, and their day figures
    leave the old nodes for the new ones. Set-based: one ``UPDATE`` per new parent (the
    keys from above are the same for all its moved children) and a few grouped reads and
    writes, whatever the number of problems (the new keys: one query per 500 moved nodes).
    Their steps, state and version are untouched: a move is not a step. Returns how many
    problems moved."""
    if not moved.areas:
        return 0
    if not rollup_nodes_change(Ticket.objects.all(), moved):  # only the lower keys change
        return keyed_rows_follow_moves(Ticket.objects.all(), moved)
    under = Q(pk__in=[])
    for area in moved.areas:
        under |= keyed_subtree_q(area)
    tickets = Ticket.objects.filter(under)
    before = figures_by_keys(tickets)
    count = keyed_rows_follow_moves(Ticket.objects.all(), moved)
    ticket_days_moved(before, figures_by_keys(tickets))
    return count
