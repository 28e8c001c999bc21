"""Reads of regular meetings through the user's scope, the rhythm of the areas that hold
them, who may be marked present, and the open matters of a meeting's area. Each in a fixed
number of queries, whatever the number of areas or meetings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from councils import rules
from councils.models import Attendance, Decision, Meeting
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


def _last_held():
    held = Meeting.objects.filter(area=OuterRef("pk"), state=State.HELD).order_by("-date")
    return Subquery(held.values("date")[:1])


def _next_planned():
    planned = Meeting.objects.filter(area=OuterRef("pk"), state=State.PLANNED).order_by("date")
    return Subquery(planned.values("date")[:1])


def _overdue_q(today: dt.date) -> Q:
    """Areas whose last meeting was held longer ago than their rhythm allows."""
    q = Q(pk__in=[])
    for level, kinds in rules.LEVEL_KINDS.items():
        q |= Q(kind__in=sorted(kinds), last_held__lt=rules.RHYTHMS[level].held_since(today))
    return q


class Status:
    ALL = ""
    OVERDUE = "overdue"
    NEVER = "never"
    ON_TIME = "on_time"


def rhythm_areas(
    user, *, within: Area | None = None, level: str = "", status: str = "", today=None
) -> QuerySet[Area]:
    """The areas in ``user``'s scope (``within`` a node, if given) that hold regular
    meetings, each with ``last_held`` (the date of its last held meeting) and
    ``next_planned`` (its next planned one), in code order (the tree's order). ``status``
    keeps the overdue ones, those that never met, or those on time. One query for the
    rows: two subqueries each on ``council_area_state_date``."""
    today = today or timezone.localdate()
    kinds = sorted(rules.LEVEL_KINDS[level] if level else rules.MEETING_KINDS)
    areas = Area.objects.filter(
        scope_for(user).area_q(roles=rules.MEETING_ROLES), kind__in=kinds
    ).annotate(last_held=_last_held(), next_planned=_next_planned())
    if within is not None:
        areas = areas.filter(area_subtree_q(within))
    if status == Status.OVERDUE:
        areas = areas.filter(_overdue_q(today))
    elif status == Status.NEVER:
        areas = areas.filter(last_held__isnull=True)
    elif status == Status.ON_TIME:
        areas = areas.filter(last_held__isnull=False).exclude(_overdue_q(today))
    return areas


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


def rhythm_rows(areas, *, today=None) -> list[RhythmRow]:
    """Each annotated area of a page (``rhythm_areas``) with its level, when the next
    meeting is due and whether it is overdue. No query."""
    today = today or timezone.localdate()
    rows = []
    for area in areas:
        level = rules.level_for(area.kind)
        due = rules.RHYTHMS[level].due_after(area.last_held) if area.last_held else None
        rows.append(
            RhythmRow(
                area=area,
                level=level,
                last_held=area.last_held,
                next_planned=area.next_planned,
                next_due=due,
                overdue=due is not None and due < today,
            )
        )
    return rows


def rhythm_counts(user, *, within: Area | None = None, today=None) -> dict[str, int]:
    """For the dashboard and the monthly digest: of the areas in ``user``'s scope (``within``
    a node) that hold regular meetings, how many there are, how many are overdue, and how
    many have never met. One query."""
    today = today or timezone.localdate()
    areas = rhythm_areas(user, within=within, today=today)
    return areas.aggregate(
        areas=Count("pk"),
        overdue=Count("pk", filter=_overdue_q(today)),
        never=Count("pk", filter=Q(last_held__isnull=True)),
    )


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
