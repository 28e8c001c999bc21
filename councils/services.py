"""The acts of a regular meeting (三级例会): plan it, hold it (attendance and minutes), call
it off, and — once held — append: a person added or struck off (their points awarded or
reversed), a correction to the minutes, a decision, the problem a decision reports.

Each act checks that the actor runs meetings over the meeting's area
(``rules.MEETING_ROLES``), locks the meeting where two people may act at once, checks the
move against ``rules.TRANSITIONS`` and appends a ``MeetingEvent``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from councils import rules
from councils.models import (
    AgendaItem,
    Attendance,
    Decision,
    Meeting,
    MeetingEvent,
    MeetingRhythm,
    MinutesCorrection,
)
from councils.rules import State
from councils.selectors import (
    attendance_candidates,
    may_run_meeting_at,
    open_proposals_q,
    open_wishes_q,
)
from deliberation import services as proposal_services
from deliberation.models import Proposal
from deliberation.selectors import proposals_visible_to
from grids.models import Area, Person
from grids.selectors import (
    MovedNodes,
    area_keys,
    area_keys_fill,
    keyed_rows_follow_moves,
    keyed_subtree_q,
)
from grids.signals import areas_moved
from issues import services as issue_services
from issues.models import Category, Ticket
from issues.rules import OPEN_STATES
from issues.selectors import tickets_visible_to
from points import services as points
from wishes import services as wish_services
from wishes.models import Wish
from wishes.selectors import wishes_visible_to

E = MeetingEvent.Kind


class MeetingError(ValidationError):
    """An act the meeting's state or its data does not allow, said in words a worker can
    act on."""


def _authorise(actor, area: Area) -> None:
    if actor is None or not may_run_meeting_at(actor, area):
        raise PermissionDenied


def _lock(meeting: Meeting) -> Meeting:
    return Meeting.objects.select_for_update(of=("self",)).select_related("area").get(pk=meeting.pk)


def _event(meeting: Meeting, kind: str, actor, *, person=None, note: str = "") -> MeetingEvent:
    return MeetingEvent.objects.create(
        meeting=meeting, kind=kind, actor=actor, person=person, note=note
    )


def _move(meeting: Meeting, to: str) -> None:
    if meeting.state == to == State.HELD:
        # Two workers recording one meeting at once: the second finds it done.
        raise MeetingError(_("this meeting has already been recorded as held"))
    if meeting.state == to == State.CANCELLED:
        raise MeetingError(_("this meeting has already been called off"))
    if to not in rules.TRANSITIONS[meeting.state]:
        raise MeetingError(
            _("a meeting that is %(state)s cannot become %(to)s")
            % {"state": State(meeting.state).label, "to": State(to).label}
        )


def _require_held(meeting: Meeting) -> None:
    if meeting.state != State.HELD:
        raise MeetingError(_("only a held meeting takes this"))


KEY_FIELDS = ("district_id", "street_id", "community_id", "grid_id")


def rhythm_refresh(*, meeting: Meeting) -> MeetingRhythm:
    """Write where ``meeting``'s area stands on its rhythm (``MeetingRhythm``) from its
    meetings as they are now: the last held, the next due after it, the next planned. Run
    by every act that plans, holds or calls off a meeting, in its transaction. The row is
    locked before the meetings are read, so two meetings of one area recorded at once
    are both counted: the second waits, then reads the first's. Three queries."""
    row, _created = MeetingRhythm.objects.select_for_update().get_or_create(
        area_id=meeting.area_id,
        defaults={"level": meeting.level, **{k: getattr(meeting, k) for k in KEY_FIELDS}},
    )
    found = Meeting.objects.filter(area_id=meeting.area_id).aggregate(
        last_held=Max("date", filter=Q(state=State.HELD)),
        next_planned=Min("date", filter=Q(state=State.PLANNED)),
    )
    row.level = meeting.level
    row.last_held = found["last_held"]
    row.next_due = rules.RHYTHMS[row.level].due_after(row.last_held) if row.last_held else None
    row.next_planned = found["next_planned"]
    row.updated_at = timezone.now()
    row.save(update_fields=["level", "last_held", "next_due", "next_planned", "updated_at"])
    return row


REBUILD_BATCH = 2_000


@transaction.atomic
def rhythms_rebuild() -> int:
    """Write every area's rhythm row afresh from its meetings, the ancestor keys from the
    tree: for meetings written in bulk without the services (the synthetic city's seed),
    as the migration that added the rows did. A few queries per 2,000 areas; returns how
    many rows there are."""
    MeetingRhythm.objects.all().delete()
    found = (
        Meeting.objects.order_by()
        .values("area_id")
        .annotate(
            level=Max("level"),
            last_held=Max("date", filter=Q(state=State.HELD)),
            next_planned=Min("date", filter=Q(state=State.PLANNED)),
        )
        .order_by("area_id")
    )
    batch: list[MeetingRhythm] = []
    written = 0
    for row in found.iterator(chunk_size=REBUILD_BATCH):
        last = row["last_held"]
        batch.append(
            MeetingRhythm(
                area_id=row["area_id"],
                level=row["level"],
                last_held=last,
                next_due=rules.RHYTHMS[row["level"]].due_after(last) if last else None,
                next_planned=row["next_planned"],
            )
        )
        if len(batch) == REBUILD_BATCH:
            written += len(MeetingRhythm.objects.bulk_create(batch))
            batch = []
    written += len(MeetingRhythm.objects.bulk_create(batch))
    if written:
        area_keys_fill(MeetingRhythm._meta.db_table)
    return written


@receiver(areas_moved, dispatch_uid="councils.meetings_follow_moves")
def councils_follow_moves(sender=None, *, moved: MovedNodes, **kwargs) -> int:
    """Nodes moved (``grids.signals.areas_moved``, inside the move's transaction): the
    meetings and the rhythm rows under them take the ancestor keys of their new place."""
    if not moved.areas:
        return 0
    return sum(
        keyed_rows_follow_moves(rows, moved)
        for rows in (Meeting.objects.all(), MeetingRhythm.objects.all())
    )


@transaction.atomic
def meeting_plan(
    *,
    area: Area,
    date: dt.date,
    actor,
    room: str = "",
    topic: str = "",
    chair: Person | None = None,
) -> Meeting:
    """Plan the regular meeting of ``area`` on ``date``: its level follows from the kind of
    node (``rules.LEVEL_KINDS``); a node that holds none is refused."""
    _authorise(actor, area)
    level = rules.level_for(area.kind)
    if level is None:
        raise MeetingError({"area": _("this kind of place holds no regular meeting")})
    same_day = Meeting.objects.filter(area=area, date=date).exclude(state=State.CANCELLED)
    if same_day.exists():
        raise MeetingError({"date": _("this place already has a meeting that day")})
    try:
        with transaction.atomic():  # another worker planning the same day meanwhile
            meeting = Meeting.objects.create(
                area=area,
                **area_keys(area),
                level=level,
                date=date,
                room=room.strip(),
                topic=topic.strip(),
                chair=chair,
                created_by=actor,
            )
    except IntegrityError:
        raise MeetingError({"date": _("this place already has a meeting that day")}) from None
    _event(meeting, E.PLAN, actor, note=meeting.topic)
    rhythm_refresh(meeting=meeting)
    return meeting


def _checked_attendees(meeting: Meeting, people: Iterable[Person]) -> list[tuple[Person, str]]:
    """Each person with the capacity they attend in; anyone not among the meeting's
    candidates (``selectors.attendance_candidates``) is refused."""
    wanted = {p.pk for p in people}
    by_pk = {c.person.pk: c for c in attendance_candidates(meeting)}
    strangers = wanted - set(by_pk)
    if strangers:
        raise MeetingError({"attendees": _("someone chosen is not of this meeting's area")})
    return [(by_pk[pk].person, by_pk[pk].capacity) for pk in sorted(wanted)]


def _attend(meeting: Meeting, person: Person, capacity: str, actor, *, earlier: int) -> Attendance:
    """``earlier``: how many times ``person`` was marked present at ``meeting`` before
    (struck off since): the round of the attendance's points."""
    row = Attendance.objects.create(
        meeting=meeting, person=person, capacity=capacity, added_by=actor
    )
    points.points_award(
        person=person,
        rule=rules.POINTS_RULE,
        act_key=rules.attendance_act_key(meeting.pk, person.pk, earlier),
        area=meeting.area,
        actor=actor,
        note=str(meeting),
    )
    return row


@transaction.atomic
def meeting_hold(
    *, meeting: Meeting, actor, attendees: Iterable[Person], minutes: str, chair=None
) -> Meeting:
    """Record the planned meeting as held: who came (each earns the ``meeting_attended``
    points, once) and its minutes. From now on they change only by appended corrections."""
    _authorise(actor, meeting.area)
    locked = _lock(meeting)
    _move(locked, State.HELD)
    if locked.date > timezone.localdate():
        # Held "in 2030" would keep the place off the overdue list for years.
        raise MeetingError({"date": _("a meeting is recorded as held on or after its day")})
    minutes = minutes.strip()
    if not minutes:
        raise MeetingError({"minutes": _("write the minutes")})
    present = _checked_attendees(locked, attendees)
    if not present:
        raise MeetingError({"attendees": _("mark who came")})
    locked.state = State.HELD
    locked.minutes = minutes
    locked.held_at = timezone.now()
    fields = ["state", "minutes", "held_at"]
    if chair is not None:
        locked.chair = chair
        fields.append("chair")
    locked.save(update_fields=fields)
    for person, capacity in present:  # a meeting just held: nobody was present before
        _attend(locked, person, capacity, actor, earlier=0)
    _event(locked, E.HOLD, actor, note=_("%(n)s present") % {"n": len(present)})
    rhythm_refresh(meeting=locked)
    return locked


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, actor, reason: str) -> Meeting:
    _authorise(actor, meeting.area)
    locked = _lock(meeting)
    _move(locked, State.CANCELLED)
    if not reason.strip():
        raise MeetingError({"reason": _("say why it is called off")})
    locked.state = State.CANCELLED
    locked.save(update_fields=["state"])
    _event(locked, E.CANCEL, actor, note=reason.strip())
    rhythm_refresh(meeting=locked)
    return locked


@transaction.atomic
def meeting_attendee_add(*, meeting: Meeting, person: Person, actor) -> Attendance:
    """Add someone left off a held meeting's attendance: a correction, with its points. A
    person struck off earlier (their points reversed) and added back earns them again."""
    _authorise(actor, meeting.area)
    locked = _lock(meeting)
    _require_held(locked)
    [(person, capacity)] = _checked_attendees(locked, [person])
    if locked.attendance.filter(person=person, removed_at__isnull=True).exists():
        raise MeetingError({"person": _("already marked present")})
    earlier = locked.attendance.filter(person=person).count()
    row = _attend(locked, person, capacity, actor, earlier=earlier)
    _event(locked, E.ATTENDEE_ADD, actor, person=person)
    return row


@transaction.atomic
def meeting_attendee_remove(*, meeting: Meeting, person: Person, actor, reason: str) -> Attendance:
    """Strike someone off a held meeting's attendance, saying why: the row stays, marked,
    and the points it earned are reversed."""
    _authorise(actor, meeting.area)
    locked = _lock(meeting)
    _require_held(locked)
    reason = reason.strip()
    if not reason:
        raise MeetingError({"reason": _("say why they are struck off")})
    row = locked.attendance.filter(person=person, removed_at__isnull=True).first()
    if row is None:
        if locked.attendance.filter(person=person).exists():
            # Struck off a moment ago by someone else: the points are already reversed.
            raise MeetingError({"person": _("already struck off the attendance")})
        raise MeetingError({"person": _("not marked present")})
    row.removed_at = timezone.now()
    row.removed_by = actor
    row.removed_reason = reason
    row.save(update_fields=["removed_at", "removed_by", "removed_reason"])
    earlier = locked.attendance.filter(person=person, pk__lt=row.pk).count()
    points.points_reverse(
        rule=rules.POINTS_RULE,
        act_key=rules.attendance_act_key(locked.pk, person.pk, earlier),
        actor=actor,
        reason=reason,
    )
    _event(locked, E.ATTENDEE_REMOVE, actor, person=person, note=reason)
    return row


@transaction.atomic
def meeting_minutes_correct(*, meeting: Meeting, actor, text: str) -> MinutesCorrection:
    _authorise(actor, meeting.area)
    locked = _lock(meeting)
    _require_held(locked)
    text = text.strip()
    if not text:
        raise MeetingError({"text": _("write the correction")})
    row = MinutesCorrection.objects.create(meeting=locked, text=text, by=actor)
    _event(locked, E.CORRECT, actor, note=text)
    return row


@transaction.atomic
def meeting_agenda_add(
    *,
    meeting: Meeting,
    actor,
    ticket: Ticket | None = None,
    wish: Wish | None = None,
    proposal: Proposal | None = None,
    title: str = "",
    proposed_by: Person | None = None,
) -> AgendaItem:
    """Put an open problem, an open micro-wish or a proposal not yet closed of the meeting's
    area (one the actor sees) on its agenda, or a matter in words (a head's proposal,
    五长提议). One matter per item; until the meeting is held or called off."""
    _authorise(actor, meeting.area)
    locked = _lock(meeting)
    if locked.state != State.PLANNED:
        raise MeetingError(_("the agenda is closed once the meeting is held or called off"))
    if sum(x is not None for x in (ticket, wish, proposal)) > 1:
        raise MeetingError(_("an agenda item is about one matter"))
    if wish is not None:
        if not wishes_visible_to(actor).filter(open_wishes_q(locked), pk=wish.pk).exists():
            raise MeetingError({"wish": _("not an open micro-wish of this meeting's area")})
        if locked.agenda.filter(wish=wish).exists():
            raise MeetingError({"wish": _("already on the agenda")})
        title = title.strip() or str(_("Micro-wish: %(title)s") % {"title": wish.title})
    if proposal is not None:
        in_area = (
            proposals_visible_to(actor).filter(open_proposals_q(locked), pk=proposal.pk).exists()
        )
        if not in_area:
            raise MeetingError({"proposal": _("not a proposal of this meeting's area")})
        if locked.agenda.filter(proposal=proposal).exists():
            raise MeetingError({"proposal": _("already on the agenda")})
        title = title.strip() or str(_("Proposal: %(title)s") % {"title": proposal.title})
    if ticket is not None:
        in_area = (
            tickets_visible_to(actor)
            .filter(keyed_subtree_q(locked.area), pk=ticket.pk, state__in=sorted(OPEN_STATES))
            .exists()
        )
        if not in_area:
            raise MeetingError({"ticket": _("not an open problem of this meeting's area")})
        if locked.agenda.filter(ticket=ticket).exists():
            raise MeetingError({"ticket": _("already on the agenda")})
        title = title.strip() or f"#{ticket.pk} {ticket.description[:150]}"
    title = title.strip()
    if not title:
        raise MeetingError({"title": _("name the item")})
    item = AgendaItem.objects.create(
        meeting=locked,
        title=title[:200],
        ticket=ticket,
        wish=wish,
        proposal=proposal,
        proposed_by=proposed_by,
        added_by=actor,
    )
    _event(locked, E.AGENDA, actor, person=proposed_by, note=item.title)
    return item


@transaction.atomic
def meeting_decide(
    *, meeting: Meeting, actor, text: str, agenda_item: AgendaItem | None = None
) -> Decision:
    """Record a decision of a held meeting (on one of its agenda items, or not)."""
    _authorise(actor, meeting.area)
    locked = _lock(meeting)
    _require_held(locked)
    text = text.strip()
    if not text:
        raise MeetingError({"text": _("write the decision")})
    if agenda_item is not None and agenda_item.meeting_id != locked.pk:
        raise MeetingError({"agenda_item": _("not an item of this meeting")})
    decision = Decision.objects.create(
        meeting=locked, text=text, agenda_item=agenda_item, decided_by=actor
    )
    _event(locked, E.DECIDE, actor, note=text)
    return decision


def _reporter_of(actor, meeting: Meeting) -> tuple[str, str]:
    """Who reports a meeting's problem: the worker recording it (their name and phone), or
    the chair when the worker has none."""
    for person in (getattr(actor, "person", None), meeting.chair):
        if person is not None and person.phone:
            return person.name, person.phone
    raise MeetingError(
        _("the problem needs a reporter's phone: the recorder or the chair has none")
    )


def _lock_decision(decision: Decision, actor) -> Decision:
    """The decision locked, once its meeting's area is checked: refused if it has been
    carried out already, whichever way (one problem, wish or proposal per decision)."""
    _authorise(actor, decision.meeting.area)
    locked = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("meeting__area", "meeting__chair", "ticket", "wish", "proposal")
        .get(pk=decision.pk)
    )
    if locked.ticket_id is not None:
        raise MeetingError(_("this decision has already been reported as a problem"))
    if locked.wish_id is not None:
        raise MeetingError(_("this decision has already been posted as a micro-wish"))
    if locked.proposal_id is not None:
        raise MeetingError(_("this decision has already been drafted as a proposal"))
    return locked


def _decided_text(decision: Decision) -> str:
    meeting = decision.meeting
    return _("%(meeting)s of %(date)s decided: %(text)s") % {
        "meeting": meeting.get_level_display(),
        "date": meeting.date.isoformat(),
        "text": decision.text,
    }


def _short_title(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@transaction.atomic
def decision_report_problem(
    *, decision: Decision, actor, category: Category, tier: str | None = None
) -> Ticket:
    """Carry a decision out as a problem (channel: meeting) at the meeting's area, reported
    through the workflow's ``ticket_report`` by the actor (the first asker), linked back to
    the decision. Once per decision."""
    locked = _lock_decision(decision, actor)
    name, phone = _reporter_of(actor, locked.meeting)
    ticket = issue_services.ticket_report(
        area=locked.meeting.area,
        category=category,
        channel=Ticket.Channel.MEETING,
        description=_decided_text(locked),
        actor=actor,
        reporter_name=name,
        reporter_phone=phone,
        tier=tier or None,
    )
    locked.ticket = ticket
    locked.save(update_fields=["ticket"])
    _event(locked.meeting, E.CREATE, actor, note=f"#{ticket.pk}")
    return ticket


@transaction.atomic
def decision_post_wish(
    *,
    decision: Decision,
    actor,
    title: str = "",
    for_name: str = "",
    for_phone: str = "",
) -> Wish:
    """Carry a decision out as a micro-wish posted on the meeting's area by the actor
    (``wishes.services.wish_post``, so their post must let them post wishes for residents):
    for a resident named (``for_name``, ``for_phone``: told by SMS as any wish's resident),
    or for the area's residents when nobody is named. Linked back to the decision; once."""
    locked = _lock_decision(decision, actor)
    area = locked.meeting.area
    for_name = for_name.strip()
    for_phone = for_phone.strip()
    if not (for_name or for_phone):
        for_name = _short_title(_("residents of %(place)s") % {"place": area.name}, 50)
    try:
        wish = wish_services.wish_post(
            area=area,
            title=title.strip() or _short_title(locked.text, wish_services.TITLE_MAX),
            text=_decided_text(locked),
            actor=actor,
            for_name=for_name,
            for_phone=for_phone,
        )
    except wish_services.WishError as exc:
        raise MeetingError(exc.messages) from None
    locked.wish = wish
    locked.save(update_fields=["wish"])
    _event(locked.meeting, E.WISH, actor, note=f"#{wish.pk} {wish.title}")
    return wish


PROPOSAL_TITLE_MAX = 120


def proposal_default_closes_at() -> dt.datetime:
    """A draft's voting window, to be set when the draft is edited: a month from now."""
    return timezone.now() + dt.timedelta(days=rules.PROPOSAL_DRAFT_DAYS)


@transaction.atomic
def decision_draft_proposal(
    *,
    decision: Decision,
    actor,
    title: str = "",
    kind: str = Proposal.Kind.RENOVATION,
) -> Proposal:
    """Carry a decision out as a draft proposal (议事) on the meeting's area, to be put to
    its households (``deliberation.services.proposal_create``: the actor must manage
    proposals there). The draft's voting window closes ``rules.PROPOSAL_DRAFT_DAYS`` from
    now until the draft is edited. Linked back to the decision; once."""
    locked = _lock_decision(decision, actor)
    try:
        proposal = proposal_services.proposal_create(
            area=locked.meeting.area,
            title=title.strip() or _short_title(locked.text, PROPOSAL_TITLE_MAX),
            text=_decided_text(locked),
            kind=kind,
            voting_closes_at=proposal_default_closes_at(),
            actor=actor,
        )
    except PermissionDenied:
        raise MeetingError(_("your post does not let you draft proposals here")) from None
    locked.proposal = proposal
    locked.save(update_fields=["proposal"])
    _event(locked.meeting, E.PROPOSAL, actor, note=f"#{proposal.pk} {proposal.title}")
    return proposal
