"""A meeting's decision carried out as a micro-wish or a draft proposal, once, linked back;
the agenda drawn from the area's open wishes and proposals as well as its problems."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from councils import services
from councils.models import AgendaItem, Decision, MeetingEvent
from deliberation.models import Proposal
from deliberation.services import proposal_create
from wishes.models import State as WishState
from wishes.models import Wish
from wishes.services import wish_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # The refusals are matched by their English words.
    with translation.override("en"):
        yield


def _decision(c, area=None, *, by="community", text="为3号楼独居老人王奶奶每周送一次菜"):
    meeting = c.held(area or c.b1, by=by)
    return services.meeting_decide(meeting=meeting, actor=c.user(by), text=text)


def _proposal(c, area=None, *, title="1栋加装电梯方案"):
    return proposal_create(
        area=area or c.g1,
        title=title,
        text="每户按楼层分摊",
        voting_closes_at=timezone.now() + dt.timedelta(days=30),
        actor=c.user("community"),
    )


# --- a decision becomes a micro-wish ----------------------------------------------------------


def test_a_decision_becomes_a_wish_of_the_meetings_area_once(c):
    decision = _decision(c, by="building_head")
    wish = services.decision_post_wish(
        decision=decision, actor=c.user("building_head"), for_name="王奶奶"
    )
    decision.refresh_from_db()
    assert decision.wish == wish and wish.council_decision == decision
    assert wish.area == c.b1 and wish.state == WishState.OPEN
    assert wish.posted_by == c.users["building_head"] and wish.for_name == "王奶奶"
    assert wish.title.startswith("为3号楼独居老人") and "为3号楼独居老人" in wish.text
    assert list(decision.meeting.events.filter(kind=MeetingEvent.Kind.WISH)) != []
    with pytest.raises(ValidationError, match="micro-wish"):
        services.decision_post_wish(decision=decision, actor=c.user("building_head"))
    with pytest.raises(ValidationError):  # nor a second way once carried out
        services.decision_draft_proposal(decision=decision, actor=c.user("community"))
    with pytest.raises(ValidationError):
        services.decision_report_problem(
            decision=decision, actor=c.user("building_head"), category=c.repair
        )
    assert Wish.objects.count() == 1 and Proposal.objects.count() == 0


def test_a_wish_for_nobody_named_is_the_areas(c):
    wish = services.decision_post_wish(decision=_decision(c), actor=c.user("community"))
    assert c.b1.name in wish.for_name and wish.for_phone == ""


def test_a_wish_for_a_resident_with_a_bad_number_is_refused_and_nothing_is_linked(c):
    decision = _decision(c)
    with pytest.raises(ValidationError):
        services.decision_post_wish(
            decision=decision, actor=c.user("community"), for_name="王奶奶", for_phone="12345"
        )
    decision.refresh_from_db()
    assert decision.wish is None and Wish.objects.count() == 0


def test_a_reported_decision_is_not_posted_as_a_wish(c):
    decision = _decision(c, by="building_head")
    services.decision_report_problem(
        decision=decision, actor=c.user("building_head"), category=c.repair
    )
    with pytest.raises(ValidationError, match="problem"):
        services.decision_post_wish(decision=decision, actor=c.user("building_head"))
    assert Wish.objects.count() == 0


# --- a decision becomes a draft proposal ---------------------------------------------------------


def test_a_decision_becomes_a_draft_proposal_once(c):
    decision = _decision(c, c.g1, text="院内停车位重新划线，按户抽签")
    proposal = services.decision_draft_proposal(
        decision=decision, actor=c.user("community"), kind=Proposal.Kind.PARKING
    )
    decision.refresh_from_db()
    assert decision.proposal == proposal
    assert proposal.state == Proposal.State.DRAFT and proposal.area == c.g1
    assert proposal.kind == Proposal.Kind.PARKING and "按户抽签" in proposal.text
    assert proposal.voting_closes_at > timezone.now() + dt.timedelta(days=29)
    with pytest.raises(ValidationError, match="proposal"):
        services.decision_draft_proposal(decision=decision, actor=c.user("community"))
    with pytest.raises(ValidationError):
        services.decision_post_wish(decision=decision, actor=c.user("community"))
    assert Proposal.objects.count() == 1


def test_a_head_who_may_not_draft_proposals_is_told(c):
    decision = _decision(c, by="building_head")
    with pytest.raises(ValidationError, match="draft proposals"):
        services.decision_draft_proposal(decision=decision, actor=c.user("building_head"))
    decision.refresh_from_db()
    assert decision.proposal is None and Proposal.objects.count() == 0


def test_the_database_refuses_a_decision_carried_out_twice(c):
    decision = _decision(c)
    wish = services.decision_post_wish(decision=decision, actor=c.user("community"))
    proposal = _proposal(c)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(proposal=proposal)
    assert Decision.objects.get(pk=decision.pk).wish == wish


# --- the agenda takes wishes and proposals --------------------------------------------------


def test_the_agenda_takes_the_areas_open_wishes_and_proposals(c):
    wish = wish_post(area=c.u1, title="修理楼道灯", actor=c.user("community"), for_name="张三")
    elsewhere = wish_post(area=c.b2, title="别处", actor=c.user("community"), for_name="李四")
    proposal = _proposal(c)
    meeting = c.plan(c.g1, by="community")
    actor = c.user("community")
    item = services.meeting_agenda_add(meeting=meeting, actor=actor, wish=wish)
    assert item.wish == wish and "修理楼道灯" in item.title
    with pytest.raises(ValidationError):  # once
        services.meeting_agenda_add(meeting=meeting, actor=actor, wish=wish)
    with pytest.raises(ValidationError):  # another grid's wish
        services.meeting_agenda_add(meeting=meeting, actor=actor, wish=elsewhere)
    item = services.meeting_agenda_add(meeting=meeting, actor=actor, proposal=proposal)
    assert item.proposal == proposal and "加装电梯" in item.title
    with pytest.raises(ValidationError):
        services.meeting_agenda_add(meeting=meeting, actor=actor, proposal=proposal)
    with pytest.raises(ValidationError):  # one matter per item
        services.meeting_agenda_add(
            meeting=c.plan(c.g1, by="community"), actor=actor, wish=wish, proposal=proposal
        )
    # Already on the agenda: no longer offered.
    from councils import selectors

    assert selectors.open_wishes(actor, meeting) == []
    assert selectors.open_proposals(actor, meeting) == []


def test_a_closed_proposal_or_an_ended_wish_is_not_taken(c):
    from wishes.models import Outcome
    from wishes.services import wish_sort

    wish = wish_post(area=c.u1, title="修理楼道灯", actor=c.user("community"), for_name="张三")
    wish_sort(wish=wish, outcome=Outcome.EXPLAINED, note="不在改造范围", actor=c.user("community"))
    meeting = c.plan(c.g1, by="community")
    with pytest.raises(ValidationError):
        services.meeting_agenda_add(meeting=meeting, actor=c.user("community"), wish=wish)


# --- through the pages -------------------------------------------------------------------------


def _as(client, c, persona):
    client.force_login(c.users[persona])
    return client


def test_the_agenda_form_takes_wishes_and_proposals(client, c):
    wish = wish_post(area=c.u1, title="修理楼道灯", actor=c.user("community"), for_name="张三")
    proposal = _proposal(c)
    meeting = c.plan(c.g1, by="community")
    _as(client, c, "community")
    page = client.get(reverse("councils:meeting", args=[meeting.pk])).content.decode()
    assert f'name="wishes" value="{wish.pk}"' in page
    assert f'name="proposals" value="{proposal.pk}"' in page
    response = client.post(
        reverse("councils:agenda_add", args=[meeting.pk]),
        {"wishes": [wish.pk], "proposals": [proposal.pk]},
    )
    assert response.status_code == 302
    items = AgendaItem.objects.filter(meeting=meeting).order_by("pk")
    assert [(i.wish_id, i.proposal_id) for i in items] == [(wish.pk, None), (None, proposal.pk)]
    page = client.get(reverse("councils:meeting", args=[meeting.pk])).content.decode()
    assert f'data-agenda-wish="{wish.pk}"' in page
    assert f'data-agenda-proposal="{proposal.pk}"' in page


def test_the_pages_carry_a_decision_out_once(client, c):
    decision = _decision(c)
    meeting = decision.meeting
    _as(client, c, "community")
    page = client.get(reverse("councils:meeting", args=[meeting.pk])).content.decode()
    assert "data-wish-form" in page and "data-proposal-form" in page
    url = reverse("councils:decision_wish", args=[meeting.pk, decision.pk])
    response = client.post(url, {"wish-title": "每周送菜", "wish-for_name": "王奶奶"})
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.wish.title == "每周送菜"
    page = client.get(reverse("councils:meeting", args=[meeting.pk])).content.decode()
    assert reverse("wishes:detail", args=[decision.wish.pk]) in page
    assert "data-wish-form" not in page
    response = client.post(url, {"wish-title": "again"}, follow=True)
    assert "already" in response.content.decode() or "已" in response.content.decode()
    assert Wish.objects.count() == 1

    other = services.meeting_decide(meeting=meeting, actor=c.user("community"), text="议加装电梯")
    response = client.post(
        reverse("councils:decision_proposal", args=[meeting.pk, other.pk]),
        {"proposal-title": "", "proposal-kind": "renovation"},
    )
    other.refresh_from_db()
    assert other.proposal.title == "议加装电梯"
    page = client.get(reverse("councils:meeting", args=[meeting.pk])).content.decode()
    assert reverse("deliberation:proposal_detail", args=[other.proposal.pk]) in page


@pytest.mark.parametrize("name", ["councils:decision_wish", "councils:decision_proposal"])
def test_carrying_out_is_a_post_refused_out_of_scope_and_to_the_wrong_role(client, c, name):
    decision = _decision(c)
    url = reverse(name, args=[decision.meeting_id, decision.pk])
    assert _as(client, c, "community").get(url).status_code == 405
    assert _as(client, c, "outsider").post(url).status_code == 404
    assert _as(client, c, "unit_head").post(url).status_code == 403
    decision.refresh_from_db()
    assert not decision.carried_out


@pytest.mark.parametrize("more", [1, 8])
def test_the_meeting_page_with_wishes_and_proposals_in_fixed_queries(
    client, c, django_assert_max_num_queries, more
):
    actor = c.user("community")
    meeting = c.plan(c.g1, by="community")
    for i in range(more):
        wish = wish_post(area=c.u1, title=f"心愿{i}", actor=actor, for_name="张三")
        proposal = _proposal(c, title=f"方案{i}")
        if i % 2:
            services.meeting_agenda_add(meeting=meeting, actor=actor, wish=wish)
            services.meeting_agenda_add(meeting=meeting, actor=actor, proposal=proposal)
    _as(client, c, "community")
    with django_assert_max_num_queries(20):
        response = client.get(reverse("councils:meeting", args=[meeting.pk]))
    assert (
        len(response.context["wishes"]) + len([i for i in response.context["agenda"] if i.wish_id])
        == more
    )
    held = c.held(c.g1, by="community", people=[c.persons["grid_head"]])
    for i in range(more):
        decision = services.meeting_decide(meeting=held, actor=actor, text=f"决定{i}")
        if i % 2:
            services.decision_post_wish(decision=decision, actor=actor)
        else:
            services.decision_draft_proposal(decision=decision, actor=actor)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("councils:meeting", args=[held.pk]))
    assert all(d.carried_out for d in response.context["decisions"])


@pytest.mark.parametrize("more", [1, 6])
def test_decisions_carried_out_counted_in_one_query(c, django_assert_num_queries, more):
    from councils.selectors import decisions_carried_out_counts

    actor = c.user("community")
    meeting = c.held(c.g1, by="community", people=[c.persons["grid_head"]])
    for i in range(more):
        decision = services.meeting_decide(meeting=meeting, actor=actor, text=f"决定{i}")
        if i % 2:
            services.decision_post_wish(decision=decision, actor=actor)
        else:
            services.decision_draft_proposal(decision=decision, actor=actor)
    services.meeting_decide(meeting=meeting, actor=actor, text="未落实")
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
    from grids.access import scope_for

    scope_for(actor)  # the scope is read once per request, before
    with django_assert_num_queries(1):
        counts = decisions_carried_out_counts(actor, start=start, end=end)
    assert counts == {
        "decisions": more + 1,
        "problems": 0,
        "wishes": more // 2,
        "proposals": more - more // 2,
    }
    assert decisions_carried_out_counts(c.user("outsider"), start=start, end=end)["decisions"] == 0
