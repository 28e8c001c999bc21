"""The demo county's points and moral bank (道德银行), loaded after the residents', problems',
wishes' and meetings' demos: reward items in every community and village, the points of the
demo's door-knock visits (its visits are written in bulk, so they are awarded here, through
``points_award`` with the visit's own act key: the same key ``visit_log`` would have used),
and, in the demo communities with residents, Yantan-like savings: some 600 households save
(a third of them, as in the article), about 1,300 points in all, a few redeem. Everything
through the points services; idempotent (a second run adds nothing).

It lives here, not in ``points``, because it reads visits, residents and households, which
sit above the points app (``points`` is below ``residents`` so that their services can
award points)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from grids.models import Area, Post
from grids.rules import AreaKind, PostTitle
from points import services
from points.models import GoodDeed, PointEntry, RewardItem
from residents import demo_data
from residents.models import Household, Resident, Visit
from residents.services import resident_person_ensure, visit_act_key

# (name, points, stock, description): small items and services, as a moral bank offers.
REWARDS = (
    ("肥皂", 2, 40, "爱心超市兑换"),
    ("理发服务", 3, 20, "志愿者理发，每月第一个周六"),
    ("洗衣液", 4, 30, "爱心超市兑换"),
    ("家电小修", 5, 10, "志愿服务队上门"),
    ("食用油", 8, 15, "爱心超市兑换"),
)
DEEDS = (
    "帮助独居老人买菜",
    "清扫楼道",
    "调解邻里纠纷",
    "参加小区环境整治",
    "捡到钱包交还失主",
    "为社区议事会出主意",
)
COMMUNITY_TITLES = (PostTitle.COMMUNITY_SECRETARY, PostTitle.COMMUNITY_WORKER)
SAVERS_PER_COMMUNITY = 300


def load(write, *, community_codes: list[str] | None = None) -> None:
    """``community_codes``: where residents save (default: the demo's communities with
    residents on the register)."""
    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    if admin is None:
        write("points: no administrator login to list reward items with; skipped")
        return
    write(f"reward items: {_rewards(admin)} new")
    write(f"points for visits: {_visits()} new")
    codes = demo_data.default_communities() if community_codes is None else community_codes
    saved, redeemed = _moral_bank(admin, codes)
    write(f"moral bank: {saved} good deeds saved, {redeemed} redemptions")
    entries = PointEntry.objects.count()
    write(f"points ledger: {entries} entries")


def _workers() -> dict[int, object]:
    """Community pk → a login of its secretary or workers (the moral bank's hands)."""
    rows = (
        Post.objects.filter(
            title__in=COMMUNITY_TITLES, ended_on__isnull=True, person__user__isnull=False
        )
        .select_related("person__user")
        .order_by("area_id", "title", "pk")
    )
    workers: dict[int, object] = {}
    for post in rows:
        workers.setdefault(post.area_id, post.person.user)
    return workers


@transaction.atomic
def _rewards(admin) -> int:
    have = set(RewardItem.objects.values_list("community_id", "name"))
    workers = _workers()
    created = 0
    communities = Area.objects.filter(kind__in=[AreaKind.COMMUNITY, AreaKind.VILLAGE])
    for community in communities.order_by("tree_id", "lft"):
        for name, cost, stock, description in REWARDS:
            if (community.pk, name) in have:
                continue
            services.reward_item_create(
                community=community,
                name=name,
                cost=cost,
                stock=stock,
                description=description,
                actor=workers.get(community.pk, admin),
            )
            created += 1
    return created


@transaction.atomic
def _visits() -> int:
    """Each demo visit earns its visitor visit_logged, dated when the visit was made (the
    demo's backdating, as the problems' is)."""
    visits = Visit.objects.select_related("household__area", "visitor").order_by("pk")
    awarded = []
    for visit in visits.iterator(chunk_size=500):
        entry = services.points_award(
            person=visit.visitor,
            rule="visit_logged",
            act_key=visit_act_key(visit),
            area=visit.household.area,
        )
        if entry is not None:
            entry.at = visit.visited_at
            awarded.append(entry)
    PointEntry.objects.bulk_update(awarded, ["at"], batch_size=500)
    return len(awarded)


@transaction.atomic
def _moral_bank(admin, codes: list[str]) -> tuple[int, int]:
    """Every third household of the demo communities saves, up to ``SAVERS_PER_COMMUNITY``
    each (Yantan: 600 of its households, a third): their householder's good deed over the
    last two months, one in ten a second one, now and then counted as two hours of volunteer
    service (about 1,300 points in all, as the article's); one saver in eight redeems the
    cheapest item. Once: a second run finds the deeds."""
    if GoodDeed.objects.exists():
        return 0, 0
    communities = list(Area.objects.filter(code__in=codes).order_by("tree_id", "lft"))
    workers = _workers()
    today = timezone.localdate()
    saved = redeemed = 0
    for community in communities:
        actor = workers.get(community.pk, admin)
        cheapest = RewardItem.objects.filter(community=community).order_by("cost").first()
        households = Household.objects.filter(community_id=community.pk).order_by("pk")
        savers = 0
        for i, household in enumerate(households):
            if i % 3 or savers >= SAVERS_PER_COMMUNITY:
                continue
            resident = (
                Resident.objects.filter(household=household)
                .order_by("-is_householder", "pk")
                .first()
            )
            if resident is None:
                continue
            person = resident_person_ensure(resident=resident)
            for n in range(1 + (savers % 10 == 0)):
                deed, entry = services.good_deed_register(
                    person=person,
                    area=household.area,
                    what=DEEDS[(i + n) % len(DEEDS)],
                    done_on=today - dt.timedelta(days=(i * 3 + n * 11) % 60),
                    hours=2 if (i + n) % 5 == 0 else None,
                    actor=actor,
                )
                if entry is not None:  # dated on the day of the deed (demo backdating)
                    PointEntry.objects.filter(pk=entry.pk).update(
                        at=timezone.make_aware(dt.datetime.combine(deed.done_on, dt.time(16)))
                    )
                saved += 1
            if cheapest is not None and savers % 8 == 0:
                try:
                    services.reward_redeem(item=cheapest, person=person, actor=actor)
                    redeemed += 1
                except services.PointsError:
                    pass
            savers += 1
    return saved, redeemed
