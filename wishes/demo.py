"""Demo micro-wishes: in each community with Party members registered there (双报到), the
residents' small wishes of the last twelve months in every state, claimed and fulfilled by
those members, sorted on the wish list the way Yantan sorted its 2,000+ wishes (most done,
some done at once, ~6 % into the renovation plan, a few explained). Guangchang counted
1,894 wishes claimed; the demo holds about a tenth of that, in the same shape.

Built through the services (so every step has its event and the points their entries),
then dated back. The texts the services queue to residents are deleted before the
transaction commits: nobody is told of a history. Idempotent: nothing is made while any
wish exists."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction
from django.utils import timezone

from core.models import TextMessage
from grids.models import Area, Post
from grids.rules import PostTitle
from grids.selectors import COMMUNITY_KINDS
from residents.models import PartyMember, Resident
from wishes import services
from wishes.models import Outcome, Wish, WishEvent

PER_COMMUNITY = 95
WISHES = (
    ("帮忙买一袋面粉送到家", "腿脚不便，下楼困难"),
    ("楼道灯坏了，想请人修一下", "晚上上下楼看不见"),
    ("想学用智能手机视频通话", "想和外地的孙子视频"),
    ("帮忙修理漏水的水龙头", "厨房水龙头一直滴水"),
    ("想给孩子找个暑期辅导", "孩子上初二，数学跟不上"),
    ("轮椅需要修理", "刹车松了，不敢出门"),
    ("想请人帮忙代缴水电费", "不会用手机缴费"),
    ("希望有人陪同去医院复查", "子女在外地工作"),
    ("想要几本大字版图书", "眼睛不好，普通书看不清"),
    ("帮忙换一个燃气灶开关", "打不着火"),
)
PLANS = ("纳入本小区老旧小区改造方案（一小区一方案）", "纳入楼道照明改造计划")
EXPLANATIONS = ("该处属市政道路，已转交城管部门，社区将跟进答复", "涉及房屋产权，需由产权单位处理")
# Out of every 50 wishes: where each ends (the rest are confirmed).
SHAPE = (
    ("open", 5),
    ("claimed", 4),
    ("fulfilled", 4),
    (Outcome.DONE_AT_ONCE, 2),
    (Outcome.RENOVATION, 3),
    (Outcome.EXPLAINED, 2),
    ("handed_back", 1),
)


def _h(*parts) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def _ending(i: int) -> str:
    slot = i % 50
    for name, count in SHAPE:
        if slot < count:
            return name
        slot -= count
    return "confirmed"


def load(write) -> None:
    if Wish.objects.exists():
        write(f"wishes: 0 new ({Wish.objects.count()} in all)")
        return
    made = _wishes()
    claimed = Wish.objects.filter(claimed_at__isnull=False).count()
    write(f"wishes: {made} new, {claimed} claimed by Party members and volunteers")


def _worker_of(community: Area):
    post = (
        Post.objects.filter(
            area=community,
            ended_on__isnull=True,
            title__in=[PostTitle.COMMUNITY_WORKER, PostTitle.COMMUNITY_SECRETARY],
            person__user__isnull=False,
        )
        .select_related("person__user")
        .order_by("pk")
        .first()
    )
    return post.person.user if post is not None else None


@transaction.atomic
def _wishes() -> int:
    first_text = TextMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    now = timezone.now()
    made = 0
    members = PartyMember.objects.filter(registered_area__kind__in=COMMUNITY_KINDS)
    by_community: dict[int, list] = {}
    for member in members.select_related("person"):
        by_community.setdefault(member.registered_area_id, []).append(member.person)
    for community in Area.objects.filter(pk__in=list(by_community)).order_by("code"):
        worker = _worker_of(community)
        if worker is None:
            continue
        claimers = by_community[community.pk]
        residents = list(
            Resident.objects.filter(household__community_id=community.pk)
            .select_related("household__area")
            .order_by("pk")[: PER_COMMUNITY * 2]
        )
        if not residents:
            continue
        for i in range(PER_COMMUNITY):
            resident = residents[_h(community.pk, i) % len(residents)]
            title, text = WISHES[_h("w", community.pk, i) % len(WISHES)]
            others = [p for p in claimers if p.pk != resident.person_id] or claimers
            claimer = others[_h("c", community.pk, i) % len(others)]
            if claimer.pk == resident.person_id:
                continue  # a lone member does not claim their own wish
            wish = services.wish_post(
                area=resident.household.area,
                title=title,
                text=text,
                actor=worker,
                resident=resident,
            )
            _finish(wish, _ending(i), claimer=claimer, other=claimers, worker=worker, i=i)
            _date_back(wish, now - dt.timedelta(days=3 + _h("d", wish.pk) % 360))
            made += 1
    # History tells nobody: the residents' texts written above never leave.
    TextMessage.objects.filter(pk__gt=first_text, purpose=TextMessage.Purpose.REPORTER).delete()
    return made


def _finish(wish: Wish, ending: str, *, claimer, other, worker, i: int) -> None:
    if ending == "open":
        return
    if ending in Outcome.values:
        note = {
            Outcome.DONE_AT_ONCE: "社区当场协调，已办好",
            Outcome.RENOVATION: PLANS[i % len(PLANS)],
            Outcome.EXPLAINED: EXPLANATIONS[i % len(EXPLANATIONS)],
        }[ending]
        wish = services.wish_sort(wish=wish, outcome=ending, note=note, actor=worker)
        if ending == Outcome.DONE_AT_ONCE:
            _confirm(wish)
        return
    wish = services.wish_claim(wish=wish, person=claimer)
    if ending == "handed_back":
        services.wish_hand_back(wish=wish, person=claimer, reason="临时出差，交还给其他党员")
        return
    if ending == "claimed":
        return
    wish = services.wish_fulfil(wish=wish, person=claimer, note="已上门办好")
    if ending == "fulfilled":
        return
    _confirm(wish)


def _confirm(wish: Wish) -> None:
    """The resident's confirmation (given in person: the demo's residents have no account),
    through the one write path, with its points."""
    done = services.wish_step(
        wish=wish, step=WishEvent.Kind.CONFIRM, fields={"confirmed_at": timezone.now()}
    )
    services._award(done)


def _date_back(wish: Wish, posted: dt.datetime) -> None:
    """The wish and its steps moved back to ``posted``, the steps a day apart."""
    wish.refresh_from_db()
    shift = posted - wish.created_at
    fields = {"created_at": posted, "updated_at": wish.updated_at + shift}
    for name in ("claimed_at", "fulfilled_at", "confirmed_at", "sorted_at"):
        value = getattr(wish, name)
        if value is not None:
            fields[name] = value + shift
    Wish.objects.filter(pk=wish.pk).update(**fields)
    for n, event in enumerate(WishEvent.objects.filter(wish=wish).order_by("at", "pk")):
        WishEvent.objects.filter(pk=event.pk).update(at=posted + dt.timedelta(days=n, hours=n))
