"""Demo regular meetings (三级例会) for the first demo community: its self-management
committee monthly over the last four months, its first grids fortnightly and their first
buildings weekly over the last eight weeks — with a few weeks missed, so that the rhythm
shows places on time, overdue and never met — attendance (points for each attendee),
minutes, one correction, decisions, one of them reported as a problem. Through the
services, as the administrator. Idempotent: a second run finds meetings and adds none."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from councils import services
from councils.models import Decision, Meeting, MeetingEvent
from councils.rules import Level, State
from councils.selectors import attendance_candidates
from grids.models import Area, Post
from grids.rules import AreaKind
from grids.selectors import area_subtree_q
from issues.models import Category
from wishes import services as wish_services
from wishes.models import Outcome, Wish
from wishes.models import State as WishState

GRIDS = 2
BUILDINGS_PER_GRID = 3
ROOMS = {
    AreaKind.BUILDING: "楼栋议事角",
    AreaKind.GRID: "院坝",
    AreaKind.COMMUNITY: "社区议事厅",
}
MINUTES = {
    AreaKind.BUILDING: [
        "民情收集：2单元反映楼道灯不亮；3楼住户反映楼顶漏水。核实后楼道灯由楼栋长报修。",
        "通报上周问题办理情况：楼道灯已修复。讨论楼道堆放杂物清理，约定周六集中清理。",
        "收集加装电梯意愿：12户中9户有意愿，提交院落例会讨论。",
    ],
    AreaKind.GRID: [
        "院落例会：汇总各楼栋反映问题6件，已解决4件；停车秩序问题提交自管会讨论。",
        "讨论垃圾箱放置位置，按居民意见调整到院落东侧；心愿墙新收微心愿3条。",
    ],
    AreaKind.COMMUNITY: [
        "自管会月例会：五长提议小区改造方案，按“五步工作法”收集意见；拟提交议事会不记名投票。",
        "审议小区管理公益基金使用情况；道德银行本月新增储户12户。",
    ],
}
DECISIONS = {
    AreaKind.BUILDING: "楼道杂物本周六集中清理，由楼栋长组织",
    AreaKind.GRID: "院落东侧增设分类垃圾箱两组",
    AreaKind.COMMUNITY: "小区北门路面破损，报请维修",
}


# Carried out from the meetings (the 五步工作法's 实施): the latest building meeting's
# decision posted as a micro-wish for the Party members to claim, and a committee decision
# drafted as the renovation plan the households vote on, with the community's open wishes
# about the stairwells' lights sorted into it (纳入改造).
WISH_TITLE = "楼道杂物集中清理，需要志愿者搭把手"
PLAN_DECISION = "楼道照明改造纳入小区改造方案，提交居民不记名投票，同意率超过2/3方可实行"
PLAN_TITLE = "楼道照明改造方案"
PLAN_WISHES = 3


def load(write) -> None:
    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    community = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("tree_id", "lft").first()
    if admin is None or community is None:
        write("regular meetings: skipped (no administrator or no community)")
        return
    if Meeting.objects.exists():
        write(f"regular meetings: 0 new ({Meeting.objects.count()} in all)")
    else:
        made = _meetings(admin, community)
        write(f"regular meetings: {made} new, in {community.name}")
    write(_carry_out(admin, community))


@transaction.atomic
def _carry_out(admin, community: Area) -> str:
    """The decisions carried out as a micro-wish and as a draft proposal, once: a demo
    whose decisions already were says so and adds nothing."""
    ours = Decision.objects.filter(meeting__community_id=community.pk)
    if ours.filter(Q(wish__isnull=False) | Q(proposal__isnull=False)).exists():
        return "meeting decisions carried out: 0 new"
    said = []
    building = (
        ours.filter(
            meeting__level=Level.BUILDING,
            ticket__isnull=True,
            wish__isnull=True,
            proposal__isnull=True,
        )
        .select_related("meeting__area")
        .order_by("-meeting__date", "-pk")
        .first()
    )
    if building is not None:
        wish = services.decision_post_wish(decision=building, actor=admin, title=WISH_TITLE)
        said.append(f"a micro-wish at {wish.area.name}")
    committee = (
        Meeting.objects.filter(area=community, state=State.HELD).order_by("-date", "-pk").first()
    )
    if committee is not None:
        decision = services.meeting_decide(meeting=committee, actor=admin, text=PLAN_DECISION)
        plan = services.decision_draft_proposal(decision=decision, actor=admin, title=PLAN_TITLE)
        # The residents' own wishes: not the one just posted for the volunteers.
        wishes = Wish.objects.filter(
            community_id=community.pk, state=WishState.OPEN, council_decision__isnull=True
        ).order_by("pk")[:PLAN_WISHES]
        for wish in wishes:
            wish_services.wish_sort(
                wish=wish, outcome=Outcome.RENOVATION, note="", proposal=plan, actor=admin
            )
        said.append(f"a draft proposal with {len(wishes)} micro-wishes in it")
    return "meeting decisions carried out: " + (", ".join(said) or "none")


def _chair(area: Area):
    post = (
        Post.objects.filter(area=area, ended_on__isnull=True, is_deputy=False)
        .select_related("person")
        .order_by("title")
        .first()
    )
    return post.person if post else None


@transaction.atomic
def _meetings(admin, community: Area) -> int:
    today = timezone.localdate()
    grids = list(
        Area.objects.filter(area_subtree_q(community), kind=AreaKind.GRID).order_by("lft")[:GRIDS]
    )
    places: list[tuple[Area, list[dt.date]]] = []
    # The committee monthly, on the 10th of the last four months (this month's if past).
    months = []
    for back in range(4, -1, -1):
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        day = dt.date(year, month + 1, 10)
        if day < today:
            months.append(day)
    places.append((community, months[-4:]))
    for g, grid in enumerate(grids):
        # Fortnightly on Wednesdays; the second grid missed the last one (overdue).
        last = today - dt.timedelta(days=(today.weekday() - 2) % 7 or 7)
        dates = [last - dt.timedelta(days=14 * i) for i in range(4)][::-1]
        places.append((grid, dates if g == 0 else dates[:-2]))
        buildings = Area.objects.filter(parent=grid, kind=AreaKind.BUILDING).order_by("lft")
        for b, building in enumerate(buildings[:BUILDINGS_PER_GRID]):
            # Weekly on Mondays over eight weeks; some buildings skipped the last weeks.
            last = today - dt.timedelta(days=today.weekday() or 7)
            dates = [last - dt.timedelta(days=7 * i) for i in range(8)][::-1]
            places.append((building, dates[: len(dates) - (b + g) % 3]))
    category = Category.objects.filter(active=True).order_by("code").first()
    made = 0
    for area, dates in places:
        chair = _chair(area)
        people = [c.person for c in attendance_candidates_for(area)][:8]
        for i, date in enumerate(dates):
            meeting = services.meeting_plan(
                area=area, date=date, actor=admin, room=ROOMS[area.kind], chair=chair
            )
            if not people:
                continue
            texts = MINUTES[area.kind]
            meeting = services.meeting_hold(
                meeting=meeting,
                actor=admin,
                attendees=people[: max(2, len(people) - i % 3)],
                minutes=texts[i % len(texts)],
            )
            if i == len(dates) - 1:
                decision = services.meeting_decide(
                    meeting=meeting, actor=admin, text=DECISIONS[area.kind]
                )
                if area.kind == AreaKind.COMMUNITY and category is not None and chair:
                    services.decision_report_problem(
                        decision=decision, actor=admin, category=category
                    )
            if i == 0 and area.kind == AreaKind.COMMUNITY:
                services.meeting_minutes_correct(
                    meeting=meeting, actor=admin, text="补记：到会居民代表2人未签到，会后补签。"
                )
            held_at = timezone.make_aware(dt.datetime.combine(date, dt.time(19, 30)))
            Meeting.objects.filter(pk=meeting.pk).update(held_at=held_at, created_at=held_at)
            MeetingEvent.objects.filter(meeting=meeting).update(at=held_at)
            made += 1
        # The next one planned for the first places.
        if area.kind != AreaKind.BUILDING and dates:
            services.meeting_plan(
                area=area,
                date=today + dt.timedelta(days=3),
                actor=admin,
                room=ROOMS[area.kind],
                chair=chair,
                topic="五长提议事项",
            )
            made += 1
    return made


def attendance_candidates_for(area: Area):
    """Who may attend a meeting at ``area`` (``selectors.attendance_candidates``), for a
    meeting not yet made."""
    return attendance_candidates(Meeting(area=area))
