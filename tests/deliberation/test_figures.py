"""The figures for the dashboard and the digests: per community, open / closed / passed
proposals and the turnout of the closed ones, in one query at any size."""

import datetime as dt

import pytest

from deliberation import services
from deliberation.models import Proposal
from deliberation.selectors import proposal_figures_by_community

from .conftest import START, proposal_in

pytestmark = pytest.mark.django_db
S = Proposal.State


@pytest.mark.parametrize("extra", [0, 5])
def test_figures_per_community_in_one_query(world, clock, django_assert_num_queries, extra):
    passed = proposal_in(world, S.VOTING, days=1)
    for key in ("U1", "U2", "B1", "G1"):
        services.ballot_cast(proposal=passed, household=world.households[key], choice="for")
    proposal_in(world, S.VOTING, days=1)  # nobody votes: fails
    for i in range(extra):
        proposal_in(world, S.DISCUSSION, title=f"讨论{i}")
    proposal_in(world)  # a draft is not counted
    clock.set(START + dt.timedelta(days=2))
    services.proposals_close_due()
    user = world.users["county"]
    user._portal_scope = None
    from grids.access import scope_for

    scope_for(user)
    with django_assert_num_queries(1):
        figures = proposal_figures_by_community(user)
    assert figures == [
        {
            "community_id": world.community_a.pk,
            "community": "莲心社区",
            "open": extra,
            "closed": 2,
            "passed": 1,
            "eligible": 10,
            "voted": 4,
            "turnout_percent": 40.0,
        }
    ]
    assert proposal_figures_by_community(world.users["outsider"]) == []
