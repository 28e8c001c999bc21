"""Reads of regular meetings through the user's scope, the rhythm of the areas that hold
them, who may be marked present, and the open matters of a meeting's area. Each in a fixed
number of queries, whatever the number of areas or meetings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from councils import rules
from councils.models import Attendance, Decision, Meeting, MeetingRhythm
from councils.rules import Level, State
from deliberation.models import Proposal
from deliberation.selectors import proposals_visible_to
from grids.access import scope_for
from grids.models import Area, Person, Post
from grids.rules import KIND_DEPTH, AreaKind
from grids.selectors import area_ancestors, area_subtree_q, keyed_subtree_q
from issues.models import Ticket
from issues.rules import OPEN_STATES
from issues.selectors import tickets_visible_to
from residents.models import PartyMember, Resident
from wishes.models import Wish
from wishes.rules import OPEN_STATES as WISH_OPEN_STATES
from wishes.selectors import wishes_visible_to


def may_run_meetings(user) -> bool:
    """Whether ``user`` runs regular meetings anywhere: a head from the building up, or an
    administrator (the /councils/ pages and their navbar link)."""
    scope = scope_for(user)
    return scope.is_admin or any(g.role in rules.MEETING_ROLES for g in scope.grants)


def may_run_meeting_at(user, area: Area) -> bool:
    return scope_for(user).role_for(area) in rules.MEETING_ROLES


def meetings_visible_to(user) -> QuerySet[Meeting]:
    """The meetings of the areas ``user`` runs meetings over (``rules.MEETING_ROLES``)."""
    return Meeting.objects.filter(scope_for(user).keyed_q(roles=rules.MEETING_ROLES))


def get_meeting_for_user(user, pk) -> Meeting:
    """The meeting, fetched and authorised in one step: 403 for a user who runs no
    meetings anywhere (a unit head, a department's handler), 404 when it is missing or
    outside the part of the scope where the user runs meetings. One query after the scope."""
    if not may_run_meetings(user):
        raise PermissionDenied
    meeting = (
        meetings_visible_to(user).filter(pk=pk).select_related("area", "chair").first()
        if str(pk).isdigit()
        else None
    )
    if meeting is None:
        raise Http404
    return meeting


# --- the rhythm -----------------------------------------------------------------------------------


class Status:
    ALL = ""
    OVERDUE = "overdue"
    NEVER = "never"
    ON_TIME = "on_time"


def _rhythms_in(user, within: Area | None, prefix: str = "") -> Q:
    """The rhythm rows (reached through ``prefix``) of the areas in ``user``'s scope where
    they run meetings (``within`` a node): one indexed equality on an ancestor key per
    grant."""
    q = scope_for(user).keyed_q(prefix=prefix, roles=rules.MEETING_ROLES)
    return q & keyed_subtree_q(within, prefix) if within is not None else q


def _areas_in(user, within: Area | None, level: str = "") -> QuerySet[Area]:
    """The areas in ``user``'s scope where they run meetings (``within`` a node) of the
    kinds that hold ``level``'s meeting (any meeting)."""
    kinds = sorted(rules.LEVEL_KINDS[level] if level else rules.MEETING_KINDS)
    areas = Area.objects.filter(scope_for(user).area_q(roles=rules.MEETING_ROLES), kind__in=kinds)
    return areas.filter(area_subtree_q(within)) if within is not None else areas


def rhythm_areas(
    user, *, within: Area | None = None, level: str = "", never: bool = False
) -> QuerySet[Area]:
    """The areas in ``user``'s scope (``within`` a node, if given) that hold regular
    meetings (``level``'s, if given), each with ``last_held`` (the date of its last held
    meeting), ``next_due`` and ``next_planned`` (its next planned one) from its rhythm row
    (``MeetingRhythm``, joined on its area: one row at most); with ``never``, only those
    that have never met. To be listed in code order. One query for the rows."""
    areas = _areas_in(user, within, level).annotate(
        last_held=F("meeting_rhythm__last_held"),
        next_due=F("meeting_rhythm__next_due"),
        next_planned=F("meeting_rhythm__next_planned"),
    )
    return areas.filter(last_held__isnull=True) if never else areas


def rhythm_due(
    user, *, within: Area | None = None, level: str = "", overdue: bool = True, today=None
) -> QuerySet[MeetingRhythm]:
    """The rhythm rows of the areas in ``user``'s scope (``within`` a node) whose next
    meeting is overdue (due before ``today``), or — ``overdue=False`` — those on time
    (due today or later), with their areas. To be listed by the due date, the longest
    overdue or the soonest due first: read from the ``council_rhythm_<key>`` index of the
    scope's key and the due date, whatever the size of the city. One query for the rows."""
    today = today or timezone.localdate()
    due = "lt" if overdue else "gte"
    rows = MeetingRhythm.objects.filter(
        _rhythms_in(user, within), **{f"next_due__{due}": today}
    ).select_related("area")
    return rows.filter(level=level) if level else rows


def rhythm_list(
    user, *, within: Area | None = None, level: str = "", status: str = "", today=None
) -> tuple[QuerySet, str]:
    """What the rhythm page lists for ``status`` and the field it is ordered by: every
    area, or those that never met, in code order (``rhythm_areas``); the overdue or those
    on time by their due date (``rhythm_due``)."""
    if status in (Status.OVERDUE, Status.ON_TIME):
        overdue = status == Status.OVERDUE
        rows = rhythm_due(user, within=within, level=level, overdue=overdue, today=today)
        return rows, "next_due"
    return rhythm_areas(user, within=within, level=level, never=status == Status.NEVER), "code"


@dataclass
class RhythmRow:
    area: Area
    level: str
    last_held: dt.date | None
    next_planned: dt.date | None
    next_due: dt.date | None
    overdue: bool
    place: str = ""

    @property
    def level_label(self) -> str:
        return Level(self.level).label


def rhythm_rows(items, *, today=None) -> list[RhythmRow]:
    """Each item of a page (an annotated area of ``rhythm_areas`` or a rhythm row of
    ``rhythm_due``, which carry the same dates) with its level, when the next meeting is
    due and whether it is overdue. No query."""
    today = today or timezone.localdate()
    return [
        RhythmRow(
            area=area,
            level=rules.level_for(area.kind),
            last_held=item.last_held,
            next_planned=item.next_planned,
            next_due=item.next_due,
            overdue=item.next_due is not None and item.next_due < today,
        )
        for item in items
        for area in [item.area if isinstance(item, MeetingRhythm) else item]
    ]


def rhythm_counts(user, *, within: Area | None = None, today=None) -> dict[str, int]:
    """For the dashboard and the monthly digest: of the areas in ``user``'s scope (``within``
    a node) that hold regular meetings, how many there are, how many are overdue, and how
    many have never met. Two queries: the areas counted on the tree (the scope's subtrees,
    by kind), the held and the overdue on the rhythm rows' key and due date index."""
    today = today or timezone.localdate()
    held = (
        MeetingRhythm.objects.filter(_rhythms_in(user, within), last_held__isnull=False)
        .order_by()
        .aggregate(held=Count("pk"), overdue=Count("pk", filter=Q(next_due__lt=today)))
    )
    total = _areas_in(user, within).count()
    return {"areas": total, "overdue": held["overdue"], "never": total - held["held"]}


def meetings_held_count(user, *, start: dt.date, end: dt.date, within: Area | None = None) -> int:
    """How many regular meetings were held from ``start`` to ``end`` (inclusive) in
    ``user``'s scope: the monthly digest's figure. One query."""
    meetings = meetings_visible_to(user).filter(state=State.HELD, date__range=(start, end))
    if within is not None:
        meetings = meetings.filter(keyed_subtree_q(within))
    return meetings.count()


def decisions_carried_out_counts(
    user, *, start: dt.date, end: dt.date, within: Area | None = None
) -> dict[str, int]:
    """Of the decisions of the meetings held from ``start`` to ``end`` in ``user``'s scope:
    how many, and how many were carried out as a problem, a micro-wish or a proposal. The
    monthly digest's figure. One query."""
    meetings = meetings_visible_to(user).filter(state=State.HELD, date__range=(start, end))
    if within is not None:
        meetings = meetings.filter(keyed_subtree_q(within))
    return (
        Decision.objects.filter(meeting__in=meetings)
        .order_by()
        .aggregate(
            decisions=Count("pk"),
            problems=Count("pk", filter=Q(ticket__isnull=False)),
            wishes=Count("pk", filter=Q(wish__isnull=False)),
            proposals=Count("pk", filter=Q(proposal__isnull=False)),
        )
    )


# --- who may be marked present ------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    person: Person
    capacity: str
    note: str  # the post held, the Party body, the household's place


CANDIDATES_CAP = 300


def attendance_candidates(meeting: Meeting) -> list[Candidate]:
    """Who may be marked present at ``meeting``: the heads in post on its area and below it
    and on the nodes above it up to the community (the community's workers come to a
    building's meeting); the Party members whose Party body sits there; the residents of
    its households who have a person in the portal (those who earn points). Three queries
    and the ancestors' one; at most ``CANDIDATES_CAP`` of each sort."""
    area = meeting.area
    above = [a.pk for a in area_ancestors(area) if _heads_come_down(a)]
    posts = (
        Post.objects.filter(ended_on__isnull=True)
        .filter(area_subtree_q(area, "area__") | Q(area_id__in=above))
        .select_related("person", "area")
        .order_by("area__tree_id", "area__lft", "title", "person__name")[:CANDIDATES_CAP]
    )
    seen: set[int] = set()
    found: list[Candidate] = []
    for post in posts:
        if post.person_id not in seen:
            seen.add(post.person_id)
            found.append(
                Candidate(post.person, Attendance.Capacity.HEAD, f"{post.get_title_display()}")
            )
    members = (
        PartyMember.objects.filter(area_subtree_q(area, "party_org__area__"))
        .select_related("person", "party_org")
        .order_by("person__name")[:CANDIDATES_CAP]
    )
    for member in members:
        if member.person_id not in seen:
            seen.add(member.person_id)
            found.append(
                Candidate(member.person, Attendance.Capacity.PARTY_MEMBER, member.party_org.name)
            )
    residents = (
        Resident.objects.filter(person__isnull=False)
        .filter(area_subtree_q(area, "household__area__"))
        .select_related("person", "household")
        .order_by("person__name")[:CANDIDATES_CAP]
    )
    for resident in residents:
        if resident.person_id not in seen:
            seen.add(resident.person_id)
            found.append(
                Candidate(resident.person, Attendance.Capacity.RESIDENT, resident.household.door)
            )
    return found


def _heads_come_down(area: Area) -> bool:
    """Nodes above a meeting's area whose heads come to it: the community and below."""
    return KIND_DEPTH[area.kind] >= KIND_DEPTH[AreaKind.COMMUNITY]


def attendees(meeting: Meeting) -> list[Attendance]:
    """Everyone recorded at ``meeting``, the struck off included (marked). One query."""
    return list(meeting.attendance.select_related("person").order_by("removed_at", "person__name"))


# --- the open matters of a meeting's area ---------------------------------------------------------

OPEN_ITEMS_CAP = 50


def open_problems(user, meeting: Meeting) -> list[Ticket]:
    """The open problems of the meeting's area and below that ``user`` sees, oldest first,
    not yet on its agenda: what the agenda is drawn from. One query."""
    on_agenda = meeting.agenda.filter(ticket=OuterRef("pk"))
    return list(
        tickets_visible_to(user)
        .filter(keyed_subtree_q(meeting.area), state__in=sorted(OPEN_STATES))
        .exclude(Exists(on_agenda))
        .select_related("category", "area")
        .order_by("created_at", "pk")[:OPEN_ITEMS_CAP]
    )


def meeting_history(meeting: Meeting):
    return meeting.events.select_related("actor", "person").order_by("at", "pk")


def open_wishes_q(meeting: Meeting) -> Q:
    """The micro-wishes a meeting takes up: of its area and below, open or claimed."""
    return keyed_subtree_q(meeting.area) & Q(state__in=sorted(WISH_OPEN_STATES))


def open_proposals_q(meeting: Meeting) -> Q:
    """The proposals a meeting takes up: of its area and below, not yet closed (drafts,
    under discussion, being voted on)."""
    return keyed_subtree_q(meeting.area) & ~Q(state=Proposal.State.CLOSED)


def open_wishes(user, meeting: Meeting) -> list[Wish]:
    """The micro-wishes of the meeting's area and below still open or claimed, that
    ``user`` lists (``wishes.selectors``), not yet on its agenda: brought to the meeting as
    the 心愿清单. One query."""
    on_agenda = meeting.agenda.filter(wish=OuterRef("pk"))
    return list(
        wishes_visible_to(user)
        .filter(open_wishes_q(meeting))
        .exclude(Exists(on_agenda))
        .order_by("created_at", "pk")[:OPEN_ITEMS_CAP]
    )


def open_proposals(user, meeting: Meeting) -> list[Proposal]:
    """The proposals of the meeting's area and below not yet closed, that ``user`` sees,
    not yet on its agenda. One query."""
    on_agenda = meeting.agenda.filter(proposal=OuterRef("pk"))
    return list(
        proposals_visible_to(user)
        .filter(open_proposals_q(meeting))
        .exclude(Exists(on_agenda))
        .order_by("pk")[:OPEN_ITEMS_CAP]
    )
