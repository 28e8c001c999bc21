"""Ballots cannot be joined back to households: by id order, by time, by any column, or (on
PostgreSQL, after the close) by the transaction that wrote them. And one ballot per
household even when two members of it vote at the same moment."""

import threading

import pytest
from django.db import connection

from deliberation import services
from deliberation.models import Ballot, PaperBallot, Proposal, RollEntry

from .conftest import START, more_households, proposal_in

S = Proposal.State
FOR, AGAINST, ABSTAIN = Ballot.Choice.FOR, Ballot.Choice.AGAINST, Ballot.Choice.ABSTAIN


def _vote_in_household_order(world, proposal):
    """Each household casts a different pattern, in the order of their ids: were ballots
    joinable by order, the choices would read back in this order."""
    roll = list(
        RollEntry.objects.filter(proposal=proposal).select_related("household").order_by("pk")
    )
    cast = []
    for i, entry in enumerate(roll):
        choice = (FOR, AGAINST, ABSTAIN)[i % 3]
        services.ballot_cast(proposal=proposal, household=entry.household, choice=choice)
        cast.append((entry.household_id, choice))
    return cast


@pytest.mark.django_db
def test_a_ballot_has_no_column_that_leads_to_a_household(world):
    fields = {f.name for f in Ballot._meta.get_fields()}
    assert fields == {"id", "proposal", "choice", "receipt_hash"}
    assert Ballot._meta.pk.get_internal_type() == "UUIDField"  # no sequence to line up
    assert not any(
        f.get_internal_type() in ("DateTimeField", "DateField", "TimeField")
        for f in Ballot._meta.concrete_fields
    )
    related = {f.related_model for f in Ballot._meta.concrete_fields if f.is_relation}
    assert related == {Proposal}
    # Nor does the roll keep a time or anything of the ballot.
    roll_fields = {f.name for f in RollEntry._meta.concrete_fields}
    assert roll_fields == {"id", "proposal", "household", "voted", "how"}


@pytest.mark.django_db
def test_joining_ballots_to_households_by_order_or_column_fails(world, clock):
    more_households(world.g1, 13)  # 18 households in community A
    proposal = proposal_in(world, S.VOTING)
    cast = _vote_in_household_order(world, proposal)
    services.proposal_close_if_due(proposal=proposal)  # not due: still open
    clock.set(START.replace(day=20))
    proposal = services.proposal_close_if_due(proposal=proposal)
    assert proposal.state == S.CLOSED
    in_cast_order = [choice for _household, choice in cast]
    # Every column a reader could sort the ballots by; the choices in that order must not be
    # the choices in the order households voted (with 18 ballots of three choices a chance
    # match is 1 in 17 million per ordering).
    for order in ("id", "-id", "receipt_hash", "-receipt_hash"):
        read = list(
            Ballot.objects.filter(proposal=proposal)
            .order_by(order)
            .values_list("choice", flat=True)
        )
        assert sorted(read) == sorted(in_cast_order)
        assert read != in_cast_order, order
        assert read != in_cast_order[::-1], order
    # Nothing in a ballot's row equals anything in a roll entry's or a household's.
    ballot_values = {
        str(v)
        for row in Ballot.objects.filter(proposal=proposal).values_list("id", "receipt_hash")
        for v in row
    }
    roll_values = {
        str(v)
        for row in RollEntry.objects.filter(proposal=proposal).values_list("id", "household_id")
        for v in row
    }
    assert not ballot_values & roll_values
    # Confirmed paper ballots keep no choice.
    assert not PaperBallot.objects.exclude(choice="").filter(status="confirmed").exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_after_the_close_ballots_share_one_transaction_and_are_rewritten_in_random_order(
    world, clock
):
    more_households(world.g1, 13)
    proposal = proposal_in(world, S.VOTING)
    cast = _vote_in_household_order(world, proposal)
    table = Ballot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT xmin::text) FROM {table}")
        assert cursor.fetchone()[0] == len(cast)  # one transaction per cast, while open
    clock.set(START.replace(day=20))
    services.proposals_close_due()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT xmin::text) FROM {table}")
        assert cursor.fetchone()[0] == 1  # the close rewrote them all, in one transaction
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchone()[0] == len(cast)


class Racer(threading.Thread):
    def __init__(self, act, barrier):
        super().__init__(daemon=True)
        self.act, self.barrier = act, barrier
        self.result = self.error = None

    def run(self):
        try:
            self.barrier.wait(10)
            self.result = self.act()
        except Exception as exc:  # kept for the test to judge
            self.error = exc
        finally:
            connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_members_of_one_household_voting_at_once_cast_one_ballot(world):
    proposal = proposal_in(world, S.VOTING)
    household = world.households["U1"]
    barrier = threading.Barrier(4)
    racers = [
        Racer(
            lambda c=choice: services.ballot_cast(proposal=proposal, household=household, choice=c),
            barrier,
        )
        for choice in (FOR, AGAINST, ABSTAIN, FOR)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
        assert not racer.is_alive(), "a thread hung on the lock"
    won = [r for r in racers if r.error is None]
    assert len(won) == 1
    assert all(isinstance(r.error, services.ProposalError) for r in racers if r.error)
    assert Ballot.objects.filter(proposal=proposal).count() == 1
    assert RollEntry.objects.filter(proposal=proposal, voted=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_online_vote_and_a_paper_confirmation_at_once_make_one_ballot(world):
    proposal = proposal_in(world, S.VOTING)
    household = world.households["U1"]
    paper = services.paper_ballot_record(
        proposal=proposal, household=household, choice=AGAINST, actor=world.users["community"]
    )
    services.paper_ballot_reject(paper=paper, actor=world.users["street"])
    paper = services.paper_ballot_record(
        proposal=proposal, household=household, choice=AGAINST, actor=world.users["community"]
    )
    barrier = threading.Barrier(2)
    racers = [
        Racer(
            lambda: services.ballot_cast(proposal=proposal, household=household, choice=FOR),
            barrier,
        ),
        Racer(
            lambda: services.paper_ballot_confirm(paper=paper, actor=world.users["street"]), barrier
        ),
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    assert Ballot.objects.filter(proposal=proposal).count() == 1
    assert sum(r.error is None for r in racers) == 1
