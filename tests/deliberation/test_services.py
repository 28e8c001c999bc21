"""The vote's rules, through the services: the threshold at its boundary, one ballot per
household, paper ballots that need a second worker, a result frozen at the close, the cost
split summing to 100."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from deliberation import rules, services
from deliberation.models import (
    Ballot,
    CostShare,
    PaperBallot,
    Proposal,
    ProposalEvent,
    ProposalResult,
    RollEntry,
)
from deliberation.services import ProposalError

from .conftest import START, more_households, proposal_in, vote_all

pytestmark = pytest.mark.django_db
S = Proposal.State
FOR, AGAINST, ABSTAIN = Ballot.Choice.FOR, Ballot.Choice.AGAINST, Ballot.Choice.ABSTAIN


def _close(clock, proposal):
    clock.set(START + dt.timedelta(days=8))
    services.proposals_close_due()
    proposal.refresh_from_db()
    return proposal


@pytest.mark.parametrize("votes_for, passed", [(3, False), (4, False), (5, True), (6, True)])
def test_exactly_two_thirds_fails_and_one_more_household_passes(world, clock, votes_for, passed):
    # Community A: 5 households of the world and 1 more, 6 eligible; 4 is exactly 2/3.
    more_households(world.g2, 1)
    proposal = proposal_in(world, S.VOTING)
    roll = list(RollEntry.objects.filter(proposal=proposal).select_related("household"))
    assert len(roll) == 6
    choices = [FOR] * votes_for + [AGAINST] * (6 - votes_for)
    vote_all(proposal, [e.household for e in roll], choices)
    proposal = _close(clock, proposal)
    result = ProposalResult.objects.get(proposal=proposal)
    assert (result.eligible, result.voted, result.votes_for) == (6, 6, votes_for)
    assert result.passed is passed
    assert proposal.outcome == ("passed" if passed else "failed")


def test_the_share_is_of_eligible_households_not_of_those_who_voted(world, clock):
    proposal = proposal_in(world, S.VOTING)  # 5 eligible
    roll = [e.household for e in RollEntry.objects.filter(proposal=proposal)]
    vote_all(proposal, roll[:3], [FOR, FOR, FOR])  # all who voted are for: 3/5 < 2/3
    result = _close(clock, proposal).result
    assert (result.voted, result.votes_for, result.passed) == (3, 3, False)
    assert result.turnout_percent == 60.0


def test_threshold_is_exact_whole_numbers():
    assert not rules.threshold_passes(votes_for=200, eligible=300, numerator=2, denominator=3)
    assert rules.threshold_passes(votes_for=201, eligible=300, numerator=2, denominator=3)
    assert not rules.threshold_passes(votes_for=0, eligible=0, numerator=2, denominator=3)
    assert rules.threshold_passes(votes_for=3, eligible=4, numerator=1, denominator=2)
    assert not rules.threshold_passes(votes_for=2, eligible=4, numerator=1, denominator=2)


def test_the_threshold_changes_only_while_a_draft(world, clock):
    actor = world.users["community"]
    proposal = proposal_in(world)
    proposal = services.proposal_update(
        proposal=proposal, actor=actor, threshold_numerator=3, threshold_denominator=4
    )
    assert proposal.threshold_label == "3/4"
    with pytest.raises(ProposalError):
        services.proposal_update(
            proposal=proposal, actor=actor, threshold_numerator=4, threshold_denominator=4
        )
    services.proposal_discussion_open(proposal=proposal, actor=actor)
    with pytest.raises(ProposalError):
        services.proposal_update(proposal=proposal, actor=actor, threshold_numerator=1)
    proposal.refresh_from_db()
    assert proposal.threshold_label == "3/4"
    services.proposal_voting_open(proposal=proposal, actor=actor)
    with pytest.raises(ProposalError):
        services.proposal_update(proposal=proposal, actor=actor, title="改了")


def test_the_database_refuses_a_threshold_of_one_or_more(world):
    proposal = proposal_in(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(threshold_numerator=3)


def test_the_roll_is_frozen_when_voting_opens(world, clock):
    proposal = proposal_in(world, S.DISCUSSION)
    services.proposal_voting_open(proposal=proposal, actor=world.users["community"])
    later = more_households(world.g1, 1)[0]  # moved in after voting opened
    assert RollEntry.objects.filter(proposal=proposal).count() == 5
    assert set(RollEntry.objects.values_list("household_id", flat=True)) == {
        world.households[k].pk for k in ("U1", "U2", "B1", "G1", "U3")
    }
    with pytest.raises(ProposalError):
        services.ballot_cast(proposal=proposal, household=later, choice=FOR)
    # Community B's household is not on community A's roll.
    with pytest.raises(ProposalError):
        services.ballot_cast(proposal=proposal, household=world.households["U4"], choice=FOR)


def test_a_building_proposal_rolls_only_its_households(world, clock):
    proposal = proposal_in(world, S.VOTING, area=world.b1)
    assert set(RollEntry.objects.values_list("household_id", flat=True)) == {
        world.households[k].pk for k in ("U1", "U2", "B1")
    }
    assert proposal.community_id == world.community_a.pk


def test_one_ballot_per_household(world, clock):
    proposal = proposal_in(world, S.VOTING)
    household = world.households["U1"]
    code = services.ballot_cast(proposal=proposal, household=household, choice=FOR)
    assert len(code) == services.RECEIPT_LENGTH
    with pytest.raises(ProposalError):
        services.ballot_cast(proposal=proposal, household=household, choice=AGAINST)
    assert Ballot.objects.filter(proposal=proposal).count() == 1
    entry = RollEntry.objects.get(proposal=proposal, household=household)
    assert (entry.voted, entry.how) == (True, "online")


def test_states_follow_the_table_and_each_step_is_an_event(world, clock):
    actor = world.users["community"]
    proposal = proposal_in(world)
    with pytest.raises(ProposalError):
        services.proposal_voting_open(proposal=proposal, actor=actor)  # draft → voting
    with pytest.raises(ProposalError):
        services.proposal_transition(proposal=proposal, to=S.CLOSED)
    with pytest.raises(ProposalError):
        services.ballot_cast(proposal=proposal, household=world.households["U1"], choice=FOR)
    services.proposal_discussion_open(proposal=proposal, actor=actor)
    services.proposal_voting_open(proposal=proposal, actor=actor)
    with pytest.raises(ProposalError):  # not before the window has ended
        services.proposal_transition(proposal=proposal, to=S.CLOSED)
    _close(clock, proposal)
    kinds = list(
        ProposalEvent.objects.filter(proposal=proposal).values_list(
            "kind", "from_state", "to_state"
        )
    )
    assert kinds == [
        ("create", "", "draft"),
        ("discussion", "draft", "discussion"),
        ("voting", "discussion", "voting"),
        ("closed", "voting", "closed"),
    ]


def test_only_those_who_manage_open_a_proposal(world, clock):
    with pytest.raises(PermissionDenied):  # a grid head records paper ballots, no more
        services.proposal_create(
            area=world.g1,
            title="t",
            text="x",
            voting_closes_at=START + dt.timedelta(days=3),
            actor=world.users["grid_head"],
        )
    with pytest.raises(PermissionDenied):  # community B's secretary, on community A
        services.proposal_create(
            area=world.community_a,
            title="t",
            text="x",
            voting_closes_at=START + dt.timedelta(days=3),
            actor=world.users["outsider"],
        )
    proposal = proposal_in(world)
    with pytest.raises(PermissionDenied):
        services.proposal_discussion_open(proposal=proposal, actor=world.users["county"])


# --- frozen results --------------------------------------------------------------------------


def test_no_vote_after_the_close_counts_and_the_result_is_never_rewritten(world, clock):
    proposal = proposal_in(world, S.VOTING)
    households = [world.households[k] for k in ("U1", "U2", "B1", "G1", "U3")]
    vote_all(proposal, households[:4], [FOR] * 4)
    clock.set(START + dt.timedelta(days=7, seconds=1))  # after the close, before any job
    with pytest.raises(ProposalError):
        services.ballot_cast(proposal=proposal, household=households[4], choice=FOR)
    proposal.refresh_from_db()
    assert proposal.state == S.CLOSED  # the late cast closed it first
    result = ProposalResult.objects.get(proposal=proposal)
    assert (result.votes_for, result.voted, result.passed) == (4, 4, True)
    frozen = (result.frozen_at, result.votes_for)
    assert services.proposals_close_due() == 0
    services.proposal_close_if_due(proposal=proposal)
    result.refresh_from_db()
    assert (result.frozen_at, result.votes_for) == frozen
    assert Ballot.objects.filter(proposal=proposal).count() == 4


def test_a_read_after_the_close_freezes_the_result(world, clock):
    proposal = proposal_in(world, S.VOTING)
    services.ballot_cast(proposal=proposal, household=world.households["U1"], choice=FOR)
    clock.set(START + dt.timedelta(days=7))
    proposal = services.proposal_close_if_due(proposal=proposal)
    assert proposal.state == S.CLOSED
    assert proposal.result.votes_for == 1
    assert proposal.outcome == "failed"


@pytest.mark.postgres
def test_the_close_on_a_read_is_the_portals_act_in_the_history(world, clock, client):
    """A page read that closes the vote writes history rows naming the portal's act, not a
    request's user (a read carries no request context of its own)."""
    from core import audit

    proposal = proposal_in(world, S.VOTING)
    clock.set(START + dt.timedelta(days=7))
    services.proposal_close_if_due(proposal=proposal)
    closed = audit.history_of(proposal).filter(pgh_label=audit.UPDATE).last()
    assert closed.pgh_after["state"] == S.CLOSED
    assert closed.pgh_context["closed_by"] == "portal: the voting window ended"
    (result,) = audit.history_of(proposal.result)
    assert result.pgh_context["closed_by"] == "portal: the voting window ended"


# --- paper ballots ---------------------------------------------------------------------------


def test_a_paper_ballot_counts_only_once_a_second_worker_confirms_it(world, clock):
    proposal = proposal_in(world, S.VOTING)
    u1 = world.households["U1"]
    paper = services.paper_ballot_record(
        proposal=proposal, household=u1, choice=FOR, actor=world.users["community"]
    )
    assert Ballot.objects.filter(proposal=proposal).count() == 0
    with pytest.raises(ProposalError):  # the same worker
        services.paper_ballot_confirm(paper=paper, actor=world.users["community"])
    with pytest.raises(PermissionDenied):  # a second worker without the role over the area
        services.paper_ballot_confirm(paper=paper, actor=world.users["grid_head"])
    with pytest.raises(PermissionDenied):  # nor from another community
        services.paper_ballot_confirm(paper=paper, actor=world.users["outsider"])
    # While it waits it blocks the household's online ballot (one ballot per household).
    with pytest.raises(ProposalError):
        services.ballot_cast(proposal=proposal, household=u1, choice=AGAINST)
    code = services.paper_ballot_confirm(paper=paper, actor=world.users["street"])
    assert services.receipt_check(code=code) == proposal
    paper.refresh_from_db()
    assert (paper.status, paper.choice) == ("confirmed", "")  # the choice erased
    assert list(Ballot.objects.filter(proposal=proposal).values_list("choice", flat=True)) == [FOR]
    entry = RollEntry.objects.get(proposal=proposal, household=u1)
    assert (entry.voted, entry.how) == (True, "paper")
    with pytest.raises(ProposalError):  # and no second paper ballot either
        services.paper_ballot_record(
            proposal=proposal, household=u1, choice=AGAINST, actor=world.users["street"]
        )


def test_the_database_refuses_a_paper_ballot_confirmed_by_its_recorder(world, clock):
    proposal = proposal_in(world, S.VOTING)
    paper = services.paper_ballot_record(
        proposal=proposal,
        household=world.households["U1"],
        choice=FOR,
        actor=world.users["community"],
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperBallot.objects.filter(pk=paper.pk).update(decided_by=world.users["community"])


def test_an_unconfirmed_paper_ballot_is_not_counted_and_a_rejected_one_frees_the_household(
    world, clock
):
    proposal = proposal_in(world, S.VOTING)
    u1, u2 = world.households["U1"], world.households["U2"]
    wrong = services.paper_ballot_record(
        proposal=proposal, household=u1, choice=AGAINST, actor=world.users["community"]
    )
    services.paper_ballot_reject(paper=wrong, actor=world.users["street"])
    services.ballot_cast(proposal=proposal, household=u1, choice=FOR)  # freed
    services.paper_ballot_record(
        proposal=proposal, household=u2, choice=FOR, actor=world.users["community"]
    )
    result = _close(clock, proposal).result
    assert (result.voted, result.votes_for, result.votes_against) == (1, 1, 0)
    assert set(PaperBallot.objects.values_list("status", "choice")) == {
        ("rejected", ""),
        ("lapsed", ""),
    }


# --- receipts --------------------------------------------------------------------------------


def test_the_receipt_is_stored_only_as_its_hash(world, clock):
    proposal = proposal_in(world, S.VOTING)
    code = services.ballot_cast(proposal=proposal, household=world.households["U1"], choice=FOR)
    ballot = Ballot.objects.get(proposal=proposal)
    assert code not in ballot.receipt_hash and ballot.receipt_hash == services.receipt_hash(code)
    assert services.receipt_check(code=services.receipt_format(code).lower()) == proposal
    assert services.receipt_check(code="A" * services.RECEIPT_LENGTH) is None
    assert services.receipt_check(code="") is None


# --- the cost split and progress -------------------------------------------------------------


def _passed(world, clock):
    proposal = proposal_in(world, S.VOTING)
    households = [world.households[k] for k in ("U1", "U2", "B1", "G1", "U3")]
    vote_all(proposal, households, [FOR] * 4 + [ABSTAIN])
    return _close(clock, proposal)


def test_a_cost_split_sums_to_100(world, clock):
    proposal = _passed(world, clock)
    actor = world.users["community"]
    with pytest.raises(ProposalError) as refused:
        services.proposal_cost_split_set(
            proposal=proposal, shares={"public": 40, "enterprise": 30, "residents": 20}, actor=actor
        )
    assert "90%" in refused.value.messages[0]
    yantan = {"public": 40, "enterprise": 30, "residents": 20, "self": 10}
    services.proposal_cost_split_set(proposal=proposal, shares=yantan, actor=actor)
    assert dict(CostShare.objects.values_list("source", "percent")) == yantan
    services.proposal_cost_split_set(
        proposal=proposal, shares={"public": 60, "residents": 40}, actor=actor
    )
    assert dict(CostShare.objects.values_list("source", "percent")) == {
        "public": 60,
        "residents": 40,
    }
    assert ProposalEvent.objects.filter(proposal=proposal, kind="cost_split").count() == 2


def test_only_a_passed_proposal_carries_a_split_and_progress(world, clock):
    proposal = proposal_in(world, S.VOTING)
    proposal = _close(clock, proposal)  # nobody voted: failed
    actor = world.users["community"]
    with pytest.raises(ProposalError):
        services.proposal_cost_split_set(proposal=proposal, shares={"public": 100}, actor=actor)
    with pytest.raises(ProposalError):
        services.proposal_progress_add(
            proposal=proposal, on=dt.date(2026, 3, 9), text="开工", actor=actor
        )


def test_progress_is_noted_with_its_day(world, clock):
    proposal = _passed(world, clock)
    actor = world.users["community"]
    day = dt.date(2026, 3, 9)
    services.proposal_progress_add(proposal=proposal, on=day, text="开工", actor=actor)
    with pytest.raises(ProposalError):
        services.proposal_progress_add(
            proposal=proposal, on=dt.date(2026, 4, 30), text="未来", actor=actor
        )
    assert list(proposal.progress.values_list("text", flat=True)) == ["开工"]
