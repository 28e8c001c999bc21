"""The demo's proposals (议事会), shaped like Yantan's (沿滩区): a renovation plan put to the
households of the first demo community's secret vote (不记名投票), passed with 98.5 % of the
votes in favour against a threshold of more than 2/3 of the households, its cost split
财政补助40% + 企业捐助30% + 居民自筹20% + 自我造血10% and its progress; and a parking rule in the
second community still open for voting. Idempotent: a proposal already loaded is left as it
is."""

import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone

from deliberation import services
from deliberation.models import Ballot, Proposal, RollEntry
from grids.models import Area, Post
from grids.rules import PostTitle
from residents import demo_data

RENOVATION = "老旧小区改造方案：雨污分流、楼道照明、拆除违章建筑"
PARKING = "小区停车管理规定（试行）"


def _worker(community: Area) -> User | None:
    post = (
        Post.objects.filter(
            area=community,
            ended_on__isnull=True,
            title__in=[PostTitle.COMMUNITY_SECRETARY, PostTitle.COMMUNITY_WORKER],
            person__user__isnull=False,
        )
        .select_related("person__user")
        .first()
    )
    return post.person.user if post else User.objects.filter(is_superuser=True).first()


def _cast(proposal: Proposal, share_for: float, turnout: float) -> int:
    roll = list(RollEntry.objects.filter(proposal=proposal).select_related("household"))
    voters = roll[: round(len(roll) * turnout)]
    ayes = round(len(voters) * share_for)
    for i, entry in enumerate(voters):
        choice = (
            Ballot.Choice.FOR if i < ayes else (Ballot.Choice.AGAINST, Ballot.Choice.ABSTAIN)[i % 2]
        )
        services.ballot_cast(proposal=proposal, household=entry.household, choice=choice)
    return len(voters)


def load(write) -> None:
    communities = list(
        Area.objects.filter(code__in=demo_data.default_communities()).order_by("code")
    )
    if not communities or Proposal.objects.filter(title__in=[RENOVATION, PARKING]).exists():
        write("proposals: 0 new")
        return
    now = timezone.now()
    first = communities[0]
    actor = _worker(first)
    closed = services.proposal_create(
        area=first,
        title=RENOVATION,
        text=(
            "经院坝会收集民意、全覆盖走访，形成一小区一方案：雨污分流、楼道照明改造、"
            "拆除违章建筑、增设停车位。由片区自管委员会组织居民不记名投票，同意率超过2/3方可实行。"
        ),
        voting_closes_at=now + dt.timedelta(days=1),
        discussion_until=timezone.localdate(),
        actor=actor,
    )
    services.proposal_discussion_open(proposal=closed, actor=actor)
    services.proposal_voting_open(proposal=closed, actor=actor)
    # 98.5 % of those who voted in favour (Yantan's 赞成率), 93 % of the households voting:
    # 91.6 % of the eligible households in favour, well above the 2/3 needed.
    voted = _cast(closed, share_for=0.985, turnout=0.93)
    # The window ended yesterday (the demo's only backdating), then the result is frozen.
    Proposal.objects.filter(pk=closed.pk).update(voting_closes_at=now - dt.timedelta(days=1))
    closed = services.proposal_close_if_due(proposal=Proposal.objects.get(pk=closed.pk))
    if closed.outcome == Proposal.Outcome.PASSED:
        services.proposal_cost_split_set(
            proposal=closed,
            shares={"public": 40, "enterprise": 30, "residents": 20, "self": 10},
            actor=actor,
        )
        today = timezone.localdate()
        for days, text in ((0, "施工队进场，拆除违章建筑3处"), (0, "雨污分流管网开挖完成一期")):
            services.proposal_progress_add(
                proposal=closed, on=today - dt.timedelta(days=days), text=text, actor=actor
            )
    write(f"proposals: closed vote, {voted} households voted, {closed.get_outcome_display()}")
    if len(communities) > 1:
        second = communities[1]
        actor = _worker(second)
        open_vote = services.proposal_create(
            area=second,
            title=PARKING,
            kind=Proposal.Kind.PARKING,
            text="划定固定车位与临时车位，外来车辆限时停放，收入纳入小区管理公益基金。",
            voting_closes_at=now + dt.timedelta(days=10),
            actor=actor,
        )
        services.proposal_discussion_open(proposal=open_vote, actor=actor)
        services.proposal_voting_open(proposal=open_vote, actor=actor)
        write(f"proposals: open vote, {_cast(open_vote, share_for=0.8, turnout=0.4)} voted so far")
