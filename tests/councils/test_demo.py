import datetime as dt

import pytest

from councils import demo, selectors
from councils.models import Decision, Meeting
from councils.rules import State
from points.models import PointEntry
from tests.clock import Clock

pytestmark = pytest.mark.django_db


def test_the_demo_meets_on_the_rhythm_and_loads_once(c):
    clock = Clock(dt.datetime(2025, 3, 20, 10, tzinfo=dt.UTC))
    try:
        lines = []
        demo.load(lines.append)
        held = Meeting.objects.filter(state=State.HELD)
        # The 10th of December, January, February and March.
        assert held.filter(level="committee").count() == 4
        assert held.filter(level="compound").exists() and held.filter(level="building").exists()
        assert Meeting.objects.filter(state=State.PLANNED).exists()
        assert PointEntry.objects.filter(rule__code="meeting_attended").exists()
        assert Decision.objects.filter(ticket__isnull=False).count() == 1
        counts = selectors.rhythm_counts(c.user("community"))
        assert counts["overdue"] >= 1
        before = Meeting.objects.count()
        demo.load(lines.append)
        assert Meeting.objects.count() == before
    finally:
        clock.stop()


def test_the_demo_carries_decisions_out_as_a_wish_and_a_plan_once(c):
    from deliberation.models import Proposal
    from wishes import services as wish_services
    from wishes.models import Outcome, Wish

    clock = Clock(dt.datetime(2025, 3, 20, 10, tzinfo=dt.UTC))
    try:
        open_wish = wish_services.wish_post(
            area=c.u1,
            title="楼道灯坏了，想请人修一下",
            text="晚上上下楼看不见",
            actor=c.user("community"),
            resident=c.residents["U1"],
        )
        lines = []
        demo.load(lines.append)
        posted = Decision.objects.get(wish__isnull=False)
        assert posted.meeting.level == "building" and posted.wish.area == posted.meeting.area
        drafted = Decision.objects.get(proposal__isnull=False)
        plan = drafted.proposal
        assert (plan.area, plan.state, plan.kind) == (
            c.community_a,
            Proposal.State.DRAFT,
            Proposal.Kind.RENOVATION,
        )
        open_wish.refresh_from_db()
        assert (open_wish.outcome, open_wish.proposal) == (Outcome.RENOVATION, plan)
        assert posted.wish.state == "open"  # left for the volunteers to claim
        assert "a draft proposal with 1 micro-wishes in it" in lines[-1]
        wishes, proposals = Wish.objects.count(), Proposal.objects.count()
        demo.load(lines.append)
        assert lines[-1] == "meeting decisions carried out: 0 new"
        assert (Wish.objects.count(), Proposal.objects.count()) == (wishes, proposals)
    finally:
        clock.stop()
