"""Load the demo residents (residents/demo_data.py) with visits, Party members and volunteer
teams for the first two urban communities. Idempotent, like the rest of the demo."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.spreadsheets import Table
from grids.models import Area, PartyOrg, Post
from grids.rules import PostTitle
from grids.selectors import area_subtree_q
from residents import demo_data
from residents.imports import RESIDENT_COLUMNS, residents_import
from residents.models import Household, PartyMember, Visit, VolunteerTeam

DEMO_WORK_UNITS = (
    "县人民医院",
    "县第一中学",
    "县供电公司",
    "县自然资源局",
    "县税务局",
    "县人民法院",
)


def load(write) -> None:
    rows = demo_data.resident_rows()
    keys = [c.key for c in RESIDENT_COLUMNS]
    table = Table(
        headers=[c.label for c in RESIDENT_COLUMNS],
        rows=[(i + 2, [row[k] for k in keys]) for i, row in enumerate(rows)],
    )
    report = residents_import(table=table, source="demo residents")
    write(f"residents: {report.summary()} ({report.seconds:.1f}s)")
    write(f"visits: {_visits()} new")
    write(f"Party members: {_party_members()} new")
    write(f"volunteer teams: {_volunteer_teams()} new")


@transaction.atomic
def _visits() -> int:
    """Two of every three households of the demo communities had a door-knock visit from the
    head of their unit in the last five weeks; one in eight needs follow-up."""
    if Visit.objects.exists():
        return 0
    heads = dict(
        Post.objects.filter(title=PostTitle.UNIT_HEAD, ended_on__isnull=True).values_list(
            "area_id", "person_id"
        )
    )
    now = timezone.now().replace(hour=19, minute=30, second=0, microsecond=0)
    visits = []
    households = Household.objects.order_by("pk").values_list("pk", "area_id")
    for i, (household_id, area_id) in enumerate(households):
        if i % 3 == 2 or area_id not in heads:
            continue
        visits.append(
            Visit(
                household_id=household_id,
                visitor_id=heads[area_id],
                visited_at=now - dt.timedelta(days=(i * 7) % 36),
                channel=Visit.Channel.DOOR_KNOCK,
                findings="" if i % 8 else "反映楼道灯不亮，已记录",
                needs_follow_up=i % 8 == 0,
            )
        )
    Visit.objects.bulk_create(visits, batch_size=2000)
    return len(visits)


@transaction.atomic
def _party_members() -> int:
    """The grid and building heads of the demo communities are in-service Party members who
    registered there (双报到), members of their grid's Party branch."""
    communities = Area.objects.filter(code__in=demo_data.default_communities())
    have = set(PartyMember.objects.values_list("person_id", flat=True))
    branches = {org.area_id: org for org in PartyOrg.objects.filter(kind="grid_branch")}
    created = []
    for community in communities:
        posts = (
            Post.objects.filter(
                area_subtree_q(community, "area__"),
                ended_on__isnull=True,
                title__in=[PostTitle.GRID_HEAD, PostTitle.BUILDING_HEAD],
            )
            .select_related("area")
            .order_by("area__lft")
        )
        for i, post in enumerate(posts):
            if post.person_id in have:
                continue
            grid_id = post.area_id if post.title == PostTitle.GRID_HEAD else post.area.parent_id
            created.append(
                PartyMember(
                    person_id=post.person_id,
                    party_org=branches.get(grid_id),
                    joined_on=dt.date(1990 + i % 30, 7, 1),
                    in_service=True,
                    work_unit=DEMO_WORK_UNITS[i % len(DEMO_WORK_UNITS)],
                    registered_area=community,
                    registered_on=dt.date(2022, 9, 1 + i % 28),
                )
            )
            have.add(post.person_id)
    PartyMember.objects.bulk_create(created)
    return len(created)


@transaction.atomic
def _volunteer_teams() -> int:
    created = 0
    for community in Area.objects.filter(code__in=demo_data.default_communities()):
        team, new = VolunteerTeam.objects.get_or_create(
            name=f"{community.name}党员志愿服务队", area=community
        )
        if new:
            members = PartyMember.objects.filter(registered_area=community).values_list(
                "person_id", flat=True
            )[:12]
            team.members.set(list(members))
            created += 1
    return created
