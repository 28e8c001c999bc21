"""``seed_city``: a deterministic synthetic city through the import paths (tree, heads) and
COPY (logins, households, residents). PostgreSQL only; built here at a small scale."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from councils.models import Attendance
from councils.models import Meeting as CouncilMeeting
from deliberation.models import Ballot, PaperBallot, Proposal, ProposalResult
from grids.models import Area, Person, Post
from grids.rules import AreaKind as K
from issues import rules
from issues.models import DepartmentTask, Meeting, Ticket, TicketEvent, TicketReporter
from points.models import PointBalance, PointEntry, RewardItem
from portal import city, city_engagement
from residents.identity import validate_id_number
from residents.models import Household, PartyMember, Resident, Visit
from wishes.models import Outcome, Wish, WishEvent
from wishes.models import State as WishState

SCALE = 0.002  # 1 district … 800 units


def test_the_sizes_follow_the_scale():
    full = city.sizes(1)
    assert full[K.GRID] == 20_000 and full[K.UNIT] == 400_000 and full[K.DISTRICT] == 10
    small = city.sizes(SCALE)
    assert small[K.DISTRICT] == 1 and small[K.GRID] == 40 and small[K.UNIT] == 800
    with pytest.raises(ValueError):
        city.sizes(0)


def test_the_tree_is_the_same_every_time_and_every_node_has_a_known_parent():
    first, second = city.tree(SCALE), city.tree(SCALE)
    assert first == second
    codes = {n.code for n in first}
    assert len(codes) == len(first)
    assert all(n.parent in codes for n in first if n.parent)
    # Large enough for a town (one street in four) and its villages.
    kinds = {n.kind for n in city.tree(0.05)}
    assert {K.TOWN, K.VILLAGE, K.STREET, K.COMMUNITY} <= kinds


def test_id_numbers_are_valid_and_distinct():
    numbers = [city.id_number(i, "370700") for i in range(0, 3_000_000, 997)]
    for number in numbers[:200]:
        validate_id_number(number)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seed_city_builds_the_city_through_the_imports(monkeypatch, point_rules):
    monkeypatch.setattr(city, "CHUNK", 700)  # problems written in three chunks
    call_command("seed_city", scale=SCALE, verbosity=0)
    sizes = city.sizes(SCALE)
    assert Area.objects.filter(kind=K.UNIT).count() == sizes[K.UNIT]
    assert Area.objects.filter(kind=K.GRID).count() == sizes[K.GRID]
    heads = Area.objects.exclude(kind=K.CITY).count()
    assert Post.objects.filter(ended_on__isnull=True).count() == heads
    assert not Person.objects.filter(posts__isnull=False, user__isnull=True).exists()
    unit = Area.objects.filter(kind=K.UNIT).order_by("pk").first()
    head = Post.objects.select_related("person__user").get(area=unit)
    assert head.title == "unit_head"
    assert authenticate(username=head.person.phone, password=city.PASSWORD) == head.person.user
    assert Household.objects.count() >= sizes[K.UNIT]
    assert Resident.objects.count() == 2 * Household.objects.count()
    assert not Household.objects.exclude(area__kind=K.UNIT).exists()
    resident = Resident.objects.filter(is_householder=True).order_by("pk").first()
    validate_id_number(resident.id_number)
    assert len(resident.phone) == 11
    tickets = Ticket.objects.count()
    assert tickets == round(city.TICKETS * SCALE)
    assert TicketReporter.objects.count() == tickets
    # Every reporter row, events included, belongs to the problem it was generated with.
    assert (
        not TicketReporter.objects.exclude(ticket__area_id=F("resident__household__area_id"))
        .exclude(resident=None)
        .exists()
    )
    states = set(Ticket.objects.values_list("state", flat=True))
    assert {"closed", "declined"} <= states
    sources = set(Ticket.objects.filter(state="closed").values_list("rating_source", flat=True))
    assert sources == {"resident", "return_call"}
    # A return call is never by the problem's handler; a resident's rating names its reporter.
    for event in TicketEvent.objects.filter(kind="rate").select_related("ticket")[:200]:
        assert (event.actor_id is None) == (event.reporter_id is not None)
        if event.actor_id:
            assert not TicketEvent.objects.filter(
                ticket=event.ticket, actor_id=event.actor_id, kind="resolve"
            ).exists()
    assert TicketEvent.objects.filter(kind="escalate").exists()
    # The county's monthly assignment meetings, and the parts they handed to departments.
    assert Meeting.objects.filter(area__kind=K.DISTRICT).count() >= 24
    at_meeting = Ticket.objects.filter(tasks__isnull=False).distinct()
    assert at_meeting.exists()
    assert not Ticket.objects.filter(level="department", tasks__isnull=True).exists()
    assert DepartmentTask.objects.filter(status="done").exists()
    # Solved by the departments, accepted by the county office's review first.
    solved = at_meeting.filter(state__in=rules.SOLVED_STATES)
    assert set(solved.values_list("resolved_level", flat=True)) == {"department"}
    assert not solved.exclude(events__kind="review").exists()
    assert city.check(sample=500) == []
    with pytest.raises(CommandError, match="already holds areas"):
        call_command("seed_city", scale=SCALE, verbosity=0)
    _engagement_is_seeded()
    assert city_engagement.check(sample=200) == []
    # Added once: a second --engagement-only is refused, saying what is there.
    with pytest.raises(CommandError, match="already holds engagement"):
        call_command("seed_city", scale=SCALE, engagement_only=True, verbosity=0)


def _engagement_is_seeded():
    """The engagement of the city, as the four apps' services would have left it."""
    wishes = Wish.objects.count()
    assert wishes == round(city_engagement.WISHES * SCALE)
    assert set(Wish.objects.values_list("state", flat=True)) == {s.value for s in WishState}
    assert set(Wish.objects.values_list("outcome", flat=True)) == {"", *Outcome.values}
    assert WishEvent.objects.filter(kind="hand_back").exists()
    assert WishEvent.objects.filter(kind="confirm_late").exists()
    # Every wish's steps end in its state; its claimer is a Party member of its community.
    for wish in Wish.objects.prefetch_related("events").order_by("pk")[:300]:
        steps = sorted(wish.events.all(), key=lambda e: (e.at, e.pk))
        assert steps[0].kind == "post" and steps[-1].new_state == wish.state
        assert all(a.new_state == b.old_state for a, b in zip(steps, steps[1:], strict=False))
    claimed = Wish.objects.filter(state="claimed").first()
    assert PartyMember.objects.filter(
        person=claimed.claimer, registered_area_id=claimed.community_id
    ).exists()
    # Points: one award per act seeded, for each of the acts the services award for.
    awards = PointEntry.objects.filter(kind="award")
    assert awards.filter(rule__code="visit_logged").count() == Visit.objects.count() > 0
    for rule in ("problem_solved_own_level", "rated_satisfied", "wish_fulfilled"):
        assert awards.filter(rule__code=rule).exists(), rule
    assert awards.filter(rule__code="wish_fulfilled").count() == (
        Wish.objects.filter(state="confirmed").count()
    )
    attended = Attendance.objects.count()
    assert awards.filter(rule__code="meeting_attended").count() == attended > 0
    assert PointEntry.objects.filter(kind="reversal").count() == (
        Attendance.objects.filter(removed_at__isnull=False).count()
    )
    assert PointEntry.objects.filter(kind="saving").exists()
    assert PointEntry.objects.filter(kind="redemption").exists()
    assert city_engagement.ledger_mismatches() == 0
    assert not PointBalance.objects.filter(balance__lt=0).exists()
    communities = Area.objects.filter(kind__in=(K.COMMUNITY, K.VILLAGE)).count()
    assert RewardItem.objects.values("community").distinct().count() == communities
    # Proposals: closed ones with a roll, secret ballots and a frozen result each.
    assert {"draft", "discussion", "voting", "closed"} == set(
        Proposal.objects.values_list("state", flat=True)
    )
    closed = Proposal.objects.filter(state="closed")
    assert ProposalResult.objects.count() == closed.count() > 0
    for result in ProposalResult.objects.select_related("proposal"):
        assert result.voted == Ballot.objects.filter(proposal=result.proposal).count()
    assert PaperBallot.objects.filter(status="confirmed").exists()
    assert not PaperBallot.objects.exclude(status="pending").exclude(choice="").exists()
    # Regular meetings on the rhythm: some held, some planned, some never or overdue.
    levels = set(CouncilMeeting.objects.values_list("level", "state"))
    assert {("building", "held"), ("compound", "held"), ("committee", "held")} <= levels
    assert ("building", "planned") in levels
