"""纳入改造: a wish put into a renovation plan that is a proposal (议事) of a place covering it —
an existing one not yet closed, or a draft made from the wish; both pages show it, and the
proposal's outcome once it closes."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from deliberation import services as ds
from deliberation.models import Proposal
from wishes import selectors, services
from wishes.models import Outcome, State, Wish

from .conftest import as_resident

pytestmark = pytest.mark.django_db


def _proposal(wt, area=None, *, title="1栋楼道改造方案"):
    return ds.proposal_create(
        area=area or wt.w.g1,
        title=title,
        text="更换全部楼道灯，粉刷墙面",
        voting_closes_at=timezone.now() + dt.timedelta(days=20),
        actor=wt.user("community"),
    )


def test_the_plans_a_wish_may_go_into_are_open_proposals_above_it(wt):
    wish = wt.post(area=wt.w.u1)
    above = _proposal(wt, wt.w.g1)
    on_community = _proposal(wt, wt.w.community_a, title="社区改造")
    _proposal(wt, wt.w.g2, title="别的网格")  # not above the wish
    closed = _proposal(wt, wt.w.b1, title="已结束的")
    Proposal.objects.filter(pk=closed.pk).update(state=Proposal.State.CLOSED)
    found = list(selectors.plan_proposals(wt.user("community"), wish))
    assert set(found) == {above, on_community}
    # The grid head sees the grid's; they may not draft one, the community may.
    assert list(selectors.plan_proposals(wt.user("grid_head"), wish)) == [above]
    assert selectors.draft_areas(wt.user("grid_head"), wish) == []
    kinds = [a.kind for a in selectors.draft_areas(wt.user("community"), wish)]
    assert kinds == ["community", "grid", "building", "unit"]


def test_a_wish_goes_into_an_existing_proposal(wt):
    wish = wt.post(area=wt.w.u1)
    proposal = _proposal(wt)
    done = services.wish_sort(
        wish=wish,
        outcome=Outcome.RENOVATION,
        note="",
        actor=wt.user("grid_head"),
        proposal=proposal,
    )
    assert (done.state, done.outcome, done.proposal) == (
        State.PLANNED,
        Outcome.RENOVATION,
        proposal,
    )
    assert done.told == proposal.title  # the note defaults to the plan's title
    assert list(proposal.wishes.all()) == [done]


def test_a_proposal_elsewhere_closed_or_with_another_outcome_is_refused(wt):
    actor = wt.user("community")
    elsewhere = _proposal(wt, wt.w.g2)
    wish = wt.post(area=wt.w.u1)
    with pytest.raises(ValidationError):
        services.wish_sort(
            wish=wish, outcome=Outcome.RENOVATION, note="x", actor=actor, proposal=elsewhere
        )
    here = _proposal(wt)
    with pytest.raises(ValidationError):
        services.wish_sort(
            wish=wish, outcome=Outcome.EXPLAINED, note="x", actor=actor, proposal=here
        )
    Proposal.objects.filter(pk=here.pk).update(state=Proposal.State.CLOSED)
    with pytest.raises(ValidationError):
        services.wish_sort(
            wish=wish, outcome=Outcome.RENOVATION, note="x", actor=actor, proposal=here
        )
    wish.refresh_from_db()
    assert (wish.state, wish.proposal) == (State.OPEN, None)


def test_a_draft_is_made_from_the_wish(wt):
    wish = wt.post(area=wt.w.u1, title="楼道灯坏了", text="晚上看不见台阶")
    done = services.wish_plan_draft(wish=wish, actor=wt.user("community"), area=wt.w.b1)
    proposal = done.proposal
    assert proposal.state == Proposal.State.DRAFT and proposal.area == wt.w.b1
    assert proposal.title == "楼道灯坏了" and "晚上看不见台阶" in proposal.text
    assert done.state == State.PLANNED


def test_a_draft_where_the_actor_may_not_draft_makes_nothing(wt):
    wish = wt.post(area=wt.w.u1)
    with pytest.raises(ValidationError):
        services.wish_plan_draft(wish=wish, actor=wt.user("grid_head"), area=wt.w.g1)
    with pytest.raises(ValidationError):  # a place not covering the wish
        services.wish_plan_draft(wish=wish, actor=wt.user("community"), area=wt.w.g2)
    assert Proposal.objects.count() == 0


def test_a_wish_that_cannot_be_sorted_leaves_no_draft(wt):
    wish = wt.post(area=wt.w.u1)
    services.wish_sort(
        wish=wish, outcome=Outcome.EXPLAINED, note="不在范围", actor=wt.user("community")
    )
    with pytest.raises(ValidationError):
        services.wish_plan_draft(wish=wish, actor=wt.user("community"), area=wt.w.b1)
    assert Proposal.objects.count() == 0


def test_only_a_planned_wish_holds_a_proposal(wt):
    wish = wt.post(area=wt.w.u1)
    proposal = _proposal(wt)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wish.objects.filter(pk=wish.pk).update(proposal=proposal)


# --- the pages --------------------------------------------------------------------------------


def _close(proposal, *, passed: bool):
    """The proposal closed with its result, as the closing job leaves it."""
    Proposal.objects.filter(pk=proposal.pk).update(
        state=Proposal.State.CLOSED,
        outcome=Proposal.Outcome.PASSED if passed else Proposal.Outcome.FAILED,
    )
    proposal.refresh_from_db()
    return proposal


def test_the_sort_form_offers_the_plans_and_a_new_draft(wt, client):
    wish = wt.post(area=wt.w.u1)
    proposal = _proposal(wt)
    client.force_login(wt.user("community"))
    url = reverse("wishes:detail", args=[wish.pk])
    page = client.get(url).content.decode()
    assert f'value="p{proposal.pk}"' in page and f'value="new{wt.w.b1.pk}"' in page
    client.force_login(wt.user("grid_head"))
    page = client.get(url).content.decode()
    assert f'value="p{proposal.pk}"' in page and f'value="new{wt.w.b1.pk}"' not in page
    response = client.post(
        reverse("wishes:sort", args=[wish.pk]),
        {"outcome": Outcome.EXPLAINED, "plan": f"p{proposal.pk}", "note": "x"},
    )
    assert response.status_code == 400  # a plan for an explanation
    response = client.post(
        reverse("wishes:sort", args=[wish.pk]),
        {"outcome": Outcome.RENOVATION, "plan": f"p{proposal.pk}", "note": ""},
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert 'id="wish-plan"' in page
    assert reverse("deliberation:proposal_detail", args=[proposal.pk]) in page

    # The proposal's page lists the wishes in it.
    client.force_login(wt.user("community"))
    page = client.get(reverse("deliberation:proposal_detail", args=[proposal.pk])).content
    assert f'data-wish="{wish.pk}"'.encode() in page


def test_a_new_draft_from_the_page(wt, client):
    wish = wt.post(area=wt.w.u1)
    client.force_login(wt.user("community"))
    response = client.post(
        reverse("wishes:sort", args=[wish.pk]),
        {"outcome": Outcome.RENOVATION, "plan": f"new{wt.w.g1.pk}", "note": "纳入院落改造"},
    )
    assert response.status_code == 302
    wish.refresh_from_db()
    assert wish.proposal.area == wt.w.g1 and wish.told == "纳入院落改造"


def test_without_a_plan_the_note_is_needed(wt, client):
    wish = wt.post(area=wt.w.u1)
    client.force_login(wt.user("community"))
    response = client.post(
        reverse("wishes:sort", args=[wish.pk]), {"outcome": Outcome.RENOVATION, "note": ""}
    )
    assert response.status_code == 400
    wish.refresh_from_db()
    assert wish.state == State.OPEN


@pytest.mark.parametrize("passed", [True, False])
def test_the_closed_plan_shows_on_both_pages(wt, client, passed):
    wish = wt.post(area=wt.w.u1)
    proposal = _proposal(wt, wt.w.community_a)
    actor = wt.user("community")
    services.wish_sort(
        wish=wish, outcome=Outcome.RENOVATION, note="", actor=actor, proposal=proposal
    )
    as_resident(client, wt.poster)
    own = reverse("citizens:wish", args=[wish.pk])
    assert 'id="wish-plan"' not in client.get(own).content.decode()  # a draft is not shown
    _close(proposal, passed=passed)
    outcome = "passed" if passed else "failed"
    body = client.get(own).content.decode()
    assert 'id="wish-plan"' in body and 'data-proposal-state="closed"' in body
    assert reverse("citizens:proposal", args=[proposal.pk]) in body  # their household's
    client.force_login(wt.user("community"))
    body = client.get(reverse("wishes:detail", args=[wish.pk])).content.decode()
    assert f'data-proposal-outcome="{outcome}"' in body


@pytest.mark.parametrize("more", [1, 8])
def test_the_wish_page_with_its_plans_in_fixed_queries(
    wt, client, django_assert_max_num_queries, more
):
    wish = wt.post(area=wt.w.u1)
    for i in range(more):
        _proposal(wt, wt.w.g1 if i % 2 else wt.w.b1, title=f"方案{i}")
    client.force_login(wt.user("community"))
    with django_assert_max_num_queries(16):
        response = client.get(reverse("wishes:detail", args=[wish.pk]))
    assert len(response.context["sort_form"].proposals) == more


def test_renovation_plan_counts_in_one_query(wt, django_assert_num_queries):
    actor = wt.user("community")
    proposal = _proposal(wt)
    for i in range(3):
        wish = wt.post(area=wt.w.u1, title=f"心愿{i}")
        services.wish_sort(
            wish=wish,
            outcome=Outcome.RENOVATION,
            note="纳入改造",
            actor=actor,
            proposal=proposal if i else None,
        )
    _close(proposal, passed=True)
    with django_assert_num_queries(1):
        counts = selectors.renovation_plan_counts(area=wt.w.community_a)
    assert counts == {"planned": 3, "in_proposal": 2, "passed": 2, "failed": 0}
    assert selectors.renovation_plan_counts(area=wt.w.community_b)["planned"] == 0
