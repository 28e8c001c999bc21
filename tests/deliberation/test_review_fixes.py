"""A proposal follows its grid when the grid moves to another community; the admin shows no
ballot of a vote still open (its counts beside the roll would link them)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from deliberation.models import Ballot, Proposal
from deliberation.selectors import proposals_visible_to
from grids import services as g

from .conftest import fresh, proposal_in, vote_all

pytestmark = pytest.mark.django_db


def test_a_proposal_follows_its_grid_to_another_community(world):
    proposal = proposal_in(world, Proposal.State.VOTING, area=world.g1)
    assert proposals_visible_to(world.users["community"]).filter(pk=proposal.pk).exists()
    g.area_move(area=fresh(world.g1), parent=fresh(world.community_b))
    proposal.refresh_from_db()
    assert proposal.community_id == world.community_b.pk
    assert not proposals_visible_to(world.users["community"]).filter(pk=proposal.pk).exists()
    assert proposals_visible_to(world.users["outsider"]).filter(pk=proposal.pk).exists()


def test_the_admin_lists_no_ballot_of_an_open_vote(world):
    proposal = proposal_in(world, Proposal.State.VOTING)
    households = [e.household for e in proposal.roll.select_related("household")[:2]]
    vote_all(proposal, households, ["for", "against"])
    assert Ballot.objects.filter(proposal=proposal).count() == 2
    client = Client()
    client.force_login(world.users["admin"])
    page = client.get(reverse("admin:deliberation_ballot_changelist")).content.decode()
    assert str(Ballot.objects.filter(proposal=proposal).first().pk) not in page
    Proposal.objects.filter(pk=proposal.pk).update(state=Proposal.State.CLOSED)
    page = client.get(reverse("admin:deliberation_ballot_changelist")).content.decode()
    assert str(Ballot.objects.filter(proposal=proposal).first().pk) in page
