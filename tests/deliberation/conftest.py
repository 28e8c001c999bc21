"""The deliberation world: the persona tree of ``tests/conftest.py`` (community A, 莲心社区,
has five registered households: U1, U2, B1, G1, U3; community B one: U4) and helpers that
build proposals and votes through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from deliberation import services
from deliberation.models import Proposal
from grids.models import Area
from residents import services as residents
from tests.clock import Clock

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def clock():
    clock = Clock(START)
    yield clock
    clock.stop()


def proposal_in(world, state=Proposal.State.DRAFT, *, area=None, days=7, **extra) -> Proposal:
    """A proposal on ``area`` (community A) moved to ``state`` by the community worker."""
    actor = world.users["community"]
    proposal = services.proposal_create(
        area=fresh(area or world.community_a),
        title=extra.pop("title", "莲心小区老旧改造方案"),
        text=extra.pop("text", "加装电梯、雨污分流、楼道照明改造。"),
        voting_closes_at=timezone.now() + dt.timedelta(days=days),
        actor=actor,
        **extra,
    )
    if state in (Proposal.State.DISCUSSION, Proposal.State.VOTING):
        proposal = services.proposal_discussion_open(proposal=proposal, actor=actor)
    if state == Proposal.State.VOTING:
        proposal = services.proposal_voting_open(proposal=proposal, actor=actor)
    return proposal


def fresh(area):
    """The area as stored now: the world's instances keep the nested-set numbers they had
    when made, before their later siblings shifted them."""
    return Area.objects.get(pk=area.pk)


def more_households(area, count: int, start: int = 900) -> list:
    return [residents.household_create(area=area, door=f"{start + i}") for i in range(count)]


def vote_all(proposal, households, choices) -> list[str]:
    return [
        services.ballot_cast(proposal=proposal, household=h, choice=c)
        for h, c in zip(households, choices, strict=True)
    ]
