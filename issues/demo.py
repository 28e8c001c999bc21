"""Demo categories, departments, time limits, holidays, an API key per channel and a few
hundred tickets in every state, built through the services:

* the two communities whose residents are registered: a few hundred problems over the last
  30 days (``_history``);
* every town and every community and village of the county: problems reported on the
  hotline or on a grid patrol, solved at each level -- the unit, building or grid head, the
  community, the town (上提一级) -- some still open, some overdue on the rectification list
  (``_county``);
* the county office's assignment meetings (交办会), as in Guangchang: one a month over the
  last 12 months, the 12 functional departments, each hard problem handed to one to three
  of them, each part with its own instructions (办理要求) and deadline; the departments
  report, the county office accepts the reports and tells the reporter in its own words or
  sends a part back; return visits (回访) after. Guangchang solved 731 hard problems at its
  12 meetings; the demo holds about a tenth of that, in the same shape (``_meetings``,
  ``_hard``).

Ratings come from the reporters (党群评议), never from a handler: the reporter rates on the
resident pages or through the tracking link (``ReporterActor``), or a community worker who
did not work on the problem logs a return call (回访). ``_check_ratings`` asserts it.

The demo resident (``residents.demo_data.DEMO_RESIDENT_PHONE``, named in the README) has a
resident account linked to their register record and a few problems of their own: reported
on the resident pages, one closed and rated by them, one awaiting their rating, one being
worked on with a neighbour's duplicate merged into it, one declined; plus one declined
report of another resident and one hotline report rated on a return call.

The history is backdated, so nobody is told of it: the tracking SMS (a report with a
mobile), the messages to reporters of a declined or merged report and the workers'
notification SMS and e-mails are outbox rows written in the one transaction the tickets are
made in, and deleted before it commits. Their after-commit sends then find nothing to send,
and nothing is left for the sweep. The in-portal notification list keeps its rows.

Idempotent: reference data is upserted; tickets are created only while there are none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core.models import TextMessage
from grids.demo_data import GIVEN_CHARS, SURNAMES
from grids.models import Area, Department, Person
from grids.rules import AreaKind, PostTitle
from grids.selectors import COMMUNITY_KINDS, area_subtree_q
from issues import services
from issues.models import (
    ApiKey,
    Category,
    DepartmentTask,
    Holiday,
    Level,
    Meeting,
    Notification,
    NotificationDelivery,
    ReturnVisit,
    Ticket,
    TicketEvent,
    TicketReporter,
    TicketSettings,
    Tier,
    TierPolicy,
)
from issues.permissions import WORKING_STEPS, has_worked_on
from issues.rules import IN_HAND_STATES, SYSTEM, ReporterActor
from issues.services.reporters import reporters_of_account, tracking_url
from issues.services.rollups import ticket_days_recount
from residents.demo_data import DEMO_RESIDENT_PHONE, default_communities
from residents.models import Resident, ResidentAccount

# Guangchang assigned its hard problems to 12 functional departments.
DEPARTMENTS = (
    ("housing", "县住建局"),
    ("water", "县水务局"),
    ("police", "县公安局"),
    ("market", "县市场监管局"),
    ("urban", "县城管局"),
    ("civil", "县民政局"),
    ("health", "县卫健委"),
    ("land", "县自然资源局"),
    ("transport", "县交通运输局"),
    ("power", "县供电公司"),
    ("education", "县教育体育局"),
    ("environment", "县生态环境局"),
)
# (code, name, parent code, usual department, description samples)
CATEGORIES = (
    ("environment", "环境卫生", "", "urban", ()),
    (
        "garbage",
        "垃圾清运",
        "environment",
        "urban",
        ("楼下垃圾桶满溢三天没人清运", "小区绿化带堆放建筑垃圾"),
    ),
    (
        "sewage",
        "污水排放",
        "environment",
        "environment",
        ("化粪池外溢，臭味很大", "餐馆油污直排雨水井"),
    ),
    ("property", "物业管理", "", "housing", ()),
    (
        "lighting",
        "楼道照明",
        "property",
        "housing",
        ("楼道灯坏了一个多月，老人上下楼不方便", "单元门口路灯不亮"),
    ),
    ("elevator", "电梯故障", "property", "housing", ("电梯经常停运，困过人", "电梯年检过期")),
    ("leak", "房屋漏水", "property", "housing", ("顶楼漏水，墙面发霉", "楼上卫生间渗水到我家")),
    ("safety", "安全隐患", "", "police", ()),
    (
        "ebike",
        "电动车充电",
        "safety",
        "police",
        ("有人在楼道里给电动车充电", "电动车飞线充电很危险"),
    ),
    ("fire", "消防通道", "safety", "police", ("消防通道被车辆长期占用", "消防栓没有水")),
    ("dispute", "邻里纠纷", "", "civil", ()),
    ("noise", "噪音扰民", "dispute", "police", ("楼上装修晚上十点还在施工", "广场舞音响太大")),
    ("parking", "停车纠纷", "dispute", "urban", ("私家车占用楼下通道", "地桩地锁乱装")),
    ("elderly", "养老服务", "", "civil", ()),
    (
        "elderly_care",
        "独居老人照护",
        "elderly",
        "civil",
        ("独居老人行动不便，需要上门送餐", "老人想申请居家养老服务"),
    ),
    ("municipal", "市政设施", "", "urban", ()),
    ("road", "道路破损", "municipal", "transport", ("小区门口路面坑洼积水", "人行道砖松动")),
    ("water_supply", "供水问题", "municipal", "water", ("自来水发黄", "水压太低，高层没水")),
    ("power_supply", "用电问题", "municipal", "power", ("经常跳闸停电", "电线老化裸露")),
)
TIER_DAYS = {Tier.SIMPLE: (3, 2), Tier.COMPLEX: (7, 3), Tier.HARD: (15, 5)}
HOLIDAYS = (
    (dt.date(2026, 1, 1), "元旦", False),
    (dt.date(2026, 10, 1), "国庆节", False),
    (dt.date(2026, 10, 2), "国庆节", False),
    (dt.date(2026, 10, 3), "国庆节", False),
    (dt.date(2026, 10, 4), "国庆节", False),
    (dt.date(2026, 10, 5), "国庆节", False),
    (dt.date(2026, 10, 6), "国庆节", False),
    (dt.date(2026, 10, 7), "国庆节", False),
    (dt.date(2026, 10, 10), "国庆节调休", True),
)
TICKETS = 320
HANDLER_PHONE_BASE = 13900000200

# The county office's assignment meetings: one a month over the last 12 months, as
# Guangchang's 12; each month's hard problems from all over the county (731 in Guangchang,
# a tenth of that here) and those of the two communities' history that reached the county.
MEETINGS = 12
HARD_PER_MEETING = 5
MEETING_DAY = 12  # of the month
# Hard problems (难点重点问题), each with the departments that share it, the lead first.
HARD_PROBLEMS = (
    ("leak", "老旧小区屋面大面积渗漏，住户多次自行修补无效", ("housing", "urban")),
    ("water_supply", "片区供水管网老化，高层住户夏季长期无水", ("water", "housing", "power")),
    ("sewage", "河道沿线生活污水直排，群众反映强烈", ("environment", "water", "urban")),
    ("road", "村组道路塌方，影响学生上学和群众出行", ("transport", "land", "education")),
    ("power_supply", "老旧线路负荷不足，用电高峰频繁停电", ("power", "housing")),
    ("fire", "农贸市场消防通道被占、消防设施缺失", ("police", "market", "urban")),
    ("parking", "学校门口上下学时段车辆乱停、交通拥堵", ("police", "transport", "education")),
    ("elderly_care", "独居老人集中居住点缺少日间照料服务", ("civil", "health")),
    ("garbage", "城乡结合部垃圾中转站长期满溢、臭味扰民", ("urban", "environment")),
    ("elevator", "老旧小区加装电梯意见不一、手续难办", ("housing", "land", "market")),
    ("noise", "夜市油烟和噪音扰民，多次投诉未解决", ("market", "environment", "urban")),
    ("ebike", "小区缺少电动车集中充电设施，飞线充电屡禁不止", ("police", "power", "housing")),
)
# What the meeting asks of each department (办理要求): the lead's part, then a supporter's.
DEPARTMENT_ASKS = {
    "housing": ("督促产权单位和物业制定维修方案，限期完成维修", "核实房屋产权和维修资金"),
    "water": ("排查管网，提出改造方案并组织施工", "配合排查供水、排水管网"),
    "police": ("组织联合执法，清理占道和隐患", "派员维护现场秩序"),
    "market": ("约谈经营户，依法查处违规经营", "核查经营主体证照"),
    "urban": ("组织清理整治，建立长效保洁机制", "配合清运和占道整治"),
    "civil": ("摸清需求，落实助老服务", "核实困难群众救助政策"),
    "health": ("组织家庭医生上门服务", "开展健康随访"),
    "land": ("核查用地和规划手续，限期办结审批", "提供规划、用地意见"),
    "transport": ("制定修复方案，组织抢修", "设置警示标志，疏导交通"),
    "power": ("开展线路改造，消除用电隐患", "配合排查用电线路"),
    "education": ("会同学校制定错峰放学和护学方案", "组织学校做好安全宣传"),
    "environment": ("开展监测，督促整改直排问题", "配合开展环境监测"),
}
# Days each part is given, the lead first: every part its own deadline.
PART_DAYS = (15, 10, 7)
# Problems of the county's other communities and villages: reported on the hotline or on a
# grid patrol, and where each ends (see ``_county``).
SPREAD_FATES = ("first", "first", "community", "street", "open", "overdue", "first", "reported")


def load(write) -> None:
    reference_load()
    write(f"departments: {Department.objects.count()}, categories: {Category.objects.count()}")
    made = _tickets()
    # ``_age`` dated the demo's history back by direct updates: the day rollups the services
    # kept are rebuilt from the problems as they now stand.
    ticket_days_recount(Ticket.objects.all())
    write(f"tickets: {made} new ({Ticket.objects.count()} in all)")
    account = ResidentAccount.objects.filter(phone=DEMO_RESIDENT_PHONE).first()
    if account is not None:
        problems = reporters_of_account(account).values("ticket").distinct().count()
        write(
            f"demo resident: {account.display_name} {DEMO_RESIDENT_PHONE}, {problems} problems "
            "(sign in at /r/; the code is printed as a line 'SMS +86…: …')"
        )
        waiting = (
            reporters_of_account(account)
            .filter(ticket__state=Ticket.State.RESOLVED)
            .order_by("pk")
            .first()
        )
        if waiting is not None:
            write(f"tracking link of their problem awaiting a rating: {tracking_url(waiting)}")


def _h(*parts) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


@transaction.atomic
def reference_load() -> None:
    """Departments, categories, tier time limits and holidays: what any installation of the
    demo (and the synthetic city, portal/city.py) starts from. Idempotent."""
    User = get_user_model()
    for i, (code, name) in enumerate(DEPARTMENTS):
        department, _ = Department.objects.update_or_create(code=code, defaults={"name": name})
        if not department.handlers.exists():
            person, _ = Person.objects.get_or_create(
                phone=str(HANDLER_PHONE_BASE + i), defaults={"name": f"{name[1:-1]}办事员"}
            )
            department.handlers.add(person)
    # The demo login for a department handler: the housing bureau's.
    housing = Department.objects.get(code="housing")
    handler = housing.handlers.order_by("pk").first()
    if handler.user_id is None:
        user, _ = User.objects.get_or_create(username="department")
        user.set_password("demo1234")
        user.save()
        handler.user = user
        handler.save(update_fields=["user"])
    # The second department the browser demo hands hard problems to.
    water = Department.objects.get(code="water")
    water_handler = water.handlers.order_by("pk").first()
    if water_handler.user_id is None:
        user, _ = User.objects.get_or_create(username="department2")
        user.set_password("demo1234")
        user.save()
        water_handler.user = user
        water_handler.save(update_fields=["user"])
    departments = {d.code: d for d in Department.objects.all()}
    for code, name, parent, department, _samples in CATEGORIES:
        if Category.objects.filter(code=code).exists():
            continue
        Category.objects.create(
            code=code,
            name=name,
            parent=Category.objects.get(code=parent) if parent else None,
            default_department=departments[department],
        )
    for tier, (days, rectify) in TIER_DAYS.items():
        TierPolicy.objects.get_or_create(
            tier=tier, defaults={"time_limit_days": days, "rectification_days": rectify}
        )
    TicketSettings.current()
    for date, name, workday in HOLIDAYS:
        Holiday.objects.get_or_create(date=date, defaults={"name": name, "is_workday": workday})
    for channel in (Ticket.Channel.MINI_PROGRAM, Ticket.Channel.HOTLINE):
        if not ApiKey.objects.filter(channel=channel).exists():
            services.api_key_create(name=f"demo {channel}", channel=channel)


def _demo_residents() -> list[Resident]:
    """Up to 2,000 residents of the demo communities' units, who report the problems."""
    in_communities = Q()
    for community in Area.objects.filter(code__in=default_communities()).order_by("code"):
        in_communities |= area_subtree_q(community)
    units = list(Area.objects.filter(in_communities, kind=AreaKind.UNIT).order_by("tree_id", "lft"))
    return list(
        Resident.objects.filter(household__area__in=units)
        .select_related("household")
        .order_by("pk")[:2000]
    )


@contextlib.contextmanager
def sending_nothing():
    """A demo's writes in one transaction whose outbox rows (SMS and mail about a backdated
    history, texts to residents, notices to workers) are deleted before it commits, so
    nothing goes out. The problems' demo here and the engagement apps' (``load_demo``)."""
    with transaction.atomic():
        last_sms = TextMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        last_delivery = (
            NotificationDelivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        yield
        TextMessage.objects.filter(pk__gt=last_sms).delete()
        NotificationDelivery.objects.filter(pk__gt=last_delivery).delete()


@transaction.atomic
def _tickets() -> int:
    """The demo's problems, sending nothing (``sending_nothing``)."""
    if Ticket.objects.exists():
        return 0
    with sending_nothing():
        meetings = _meetings()
        _history(meetings)
        _resident_story()
        _county(meetings)
        services.tickets_escalate_overdue()
        _leave_some_overdue(timezone.now())
        _settle_notifications(timezone.now())
    _check_ratings()
    return Ticket.objects.count()


def _county_officer():
    return (
        get_user_model()
        .objects.filter(
            person__posts__title=PostTitle.COUNTY_OFFICER, person__posts__ended_on__isnull=True
        )
        .order_by("pk")
        .first()
    )


def _history(meetings: list[Meeting]) -> int:
    """The two registered communities' last 30 days; their hard problems go to the
    meeting of their month."""
    residents = _demo_residents()
    leaves = list(Category.objects.filter(children__isnull=True).order_by("code"))
    samples = {code: s for code, _n, _p, _d, s in CATEGORIES}
    officer = _county_officer()
    departments = {d.code: d for d in Department.objects.all()}
    now = timezone.now()
    today = timezone.localdate(now)
    backdating = _Backdating(now)
    made = 0
    for i in range(TICKETS):
        h = _h("ticket", i)
        resident = residents[h % len(residents)]
        category = leaves[(h >> 8) % len(leaves)]
        text = samples[category.code][(h >> 16) % len(samples[category.code])]
        tier = (Tier.SIMPLE, Tier.SIMPLE, Tier.SIMPLE, Tier.COMPLEX, Tier.COMPLEX, Tier.HARD)[
            (h >> 20) % 6
        ]
        # 0 reported, 1 assigned, 2 in progress, 3 resolved, 4 closed, 5 reopened, 6 overdue
        fate = (h >> 24) % 10
        fate = {0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 4, 6: 4, 7: 4, 8: 5, 9: 6}[fate]
        channel = Ticket.Channel.values[(h >> 28) % 7]
        ticket = services.ticket_report(
            area=resident.household.area,
            category=category,
            channel=channel,
            description=text,
            reporter=resident,
            reporter_phone=resident.phone,
            tier=None if fate == 0 else tier,
        )
        handlers = _handler_user(ticket)
        days, met = (h >> 32) % 30, False
        if fate >= 2 and handlers is not None:
            if tier == Tier.HARD and officer is not None and meetings and fate >= 3:
                # on the meeting of its month, dated with it
                meeting = next(m for m in reversed(meetings) if (today - m.held_on).days >= days)
                days, met = (today - meeting.held_on).days, True
                lead = category.default_department or departments["housing"]
                second = departments["urban" if lead.code != "urban" else "police"]
                ticket = _via_meeting(
                    ticket, officer, meeting, departments=[lead, second][: 1 + h % 2], i=i
                )
            else:
                _work(ticket, handlers, resolve=fate >= 3)
            ticket.refresh_from_db()
            if fate >= 4 and ticket.state == Ticket.State.RESOLVED:
                _rate(ticket, unsatisfied=fate == 5, basic=not h % 4, by_call=h % 3 == 0)
        backdating.add(ticket.pk, days=days, overdue=fate == 6, met=met)
        made += 1
    backdating.apply()
    return made


def _meetings() -> list[Meeting]:
    """The county office's meetings of the last 12 months, oldest first: the 12th of each
    month (this month's today if the 12th has not come yet)."""
    officer = _county_officer()
    if officer is None:
        return []
    county = Area.objects.filter(kind=AreaKind.DISTRICT).order_by("code").first()
    today = timezone.localdate()
    meetings = []
    for n in range(MEETINGS):
        back = MEETINGS - 1 - n
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        held_on = dt.date(year, month + 1, MEETING_DAY)
        held_on = min(held_on, today)
        meeting = services.meeting_open(
            area=county,
            title=f"第{n + 1}次群众反映难点问题交办会（{held_on.year}年{held_on.month}月）",
            actor=officer,
            held_on=held_on,
        )
        meetings.append(meeting)
    # Dated on the day it was held (demo backdating, as ``_age`` does for the problems).
    for meeting in meetings:
        opened = min(
            dt.datetime.combine(
                meeting.held_on, dt.time(9), tzinfo=timezone.get_current_timezone()
            ),
            timezone.now(),
        )
        Meeting.objects.filter(pk=meeting.pk).update(created_at=opened)
    return meetings


def _county_places() -> list[tuple[Area, Area, list[Area]]]:
    """Every community and village of the county in tree order, with its town and the
    places its problems come from: the units of an urban community, the grids (村小组) of a
    village. One query for the communities, one per community for its places."""
    towns = {a.pk: a for a in Area.objects.filter(kind__in=[AreaKind.TOWN, AreaKind.STREET])}
    places = []
    for community in Area.objects.filter(kind__in=COMMUNITY_KINDS).order_by("tree_id", "lft"):
        kind = AreaKind.UNIT if community.kind == AreaKind.COMMUNITY else AreaKind.GRID
        below = list(Area.objects.filter(area_subtree_q(community), kind=kind).order_by("lft")[:40])
        if below and community.parent_id in towns:
            places.append((towns[community.parent_id], community, below))
    return places


def _hotline_reporter(*parts) -> tuple[str, str]:
    """A name and a mobile number for a problem reported on the hotline or a patrol."""
    h = _h("reporter", *parts)
    name = SURNAMES[h % len(SURNAMES)] + GIVEN_CHARS[(h >> 8) % len(GIVEN_CHARS)]
    if h % 3:
        name += GIVEN_CHARS[(h >> 16) % len(GIVEN_CHARS)]
    return name, f"139{(h >> 24) % 100_000_000:08d}"


def _county(meetings: list[Meeting]) -> None:
    """Problems in every community and village of every town: each one's first (or two, in
    an urban community) solved where it was reported, lifted to the community or the town
    and solved there, still open, overdue or not yet triaged (``SPREAD_FATES``); and the
    month's hard problems from all over the county on each meeting (``_hard``)."""
    places = _county_places()
    if not places:
        return
    leaves = list(Category.objects.filter(children__isnull=True).order_by("code"))
    samples = {code: s for code, _n, _p, _d, s in CATEGORIES}
    backdating = _Backdating(timezone.now())
    for n, (_town, community, below) in enumerate(places):
        for k in range(2 if community.kind == AreaKind.COMMUNITY else 1):
            h = _h("county", community.code, k)
            category = leaves[(h >> 4) % len(leaves)]
            fate = SPREAD_FATES[(n + 3 * k) % len(SPREAD_FATES)]
            name, phone = _hotline_reporter(community.code, k)
            ticket = services.ticket_report(
                area=below[(h >> 12) % len(below)],
                category=category,
                channel=(Ticket.Channel.HOTLINE, Ticket.Channel.PATROL)[h % 2],
                description=samples[category.code][(h >> 20) % len(samples[category.code])],
                reporter_name=name,
                reporter_phone=phone,
                tier=None if fate == "reported" else Tier.SIMPLE,
            )
            _spread_work(ticket, fate, h)
            backdating.add(ticket.pk, days=(h >> 28) % 30, overdue=fate == "overdue")
    officer = _county_officer()
    if officer is not None:
        _hard(meetings, places, officer, backdating)
    backdating.apply()


def _spread_work(ticket: Ticket, fate: str, h: int) -> None:
    """Work a problem of ``_county`` to its ``fate``: the heads there have no login, so the
    demo takes the steps (``SYSTEM``); the reporter rates most of what was solved."""
    if fate == "reported":
        return
    if fate in LIFTED_TO:
        _lift_to(ticket, LIFTED_TO[fate])
    services.ticket_progress(ticket=_fresh(ticket), actor=SYSTEM, note="已到现场查看，正在协调")
    if fate in ("open", "overdue"):
        return
    services.ticket_resolve(
        ticket=_fresh(ticket), actor=SYSTEM, feedback="已协调处理完毕，电话告知群众"
    )
    if h % 4:
        ticket = _fresh(ticket)
        rating = Ticket.Rating.BASIC if h % 5 == 0 else Ticket.Rating.SATISFIED
        reporter = ReporterActor(ticket.reporters.order_by("pk").first())
        services.ticket_rate(ticket=ticket, actor=reporter, rating=rating)


# 大事不出社区、难事不出街道: lifted one level at a time to the community or the town.
LIFTED_TO = {"community": Level.COMMUNITY, "street": Level.STREET}


def _lift_to(ticket: Ticket, level: str) -> None:
    """Lift it one level at a time (上提一级) until ``level`` answers for it."""
    order = [lv for lv, _label in Level.choices]
    ticket.refresh_from_db()
    while order.index(ticket.level) < order.index(level):
        services.ticket_escalate(ticket=ticket, actor=SYSTEM, note="本级协调不了，上提一级会商")
        ticket.refresh_from_db()


def _hard(meetings: list[Meeting], places, officer, backdating: _Backdating) -> None:
    """Each meeting's ``HARD_PER_MEETING`` hard problems, from the towns in turn: reported
    on the hotline, lifted to the county office, put on the meeting and handed to one to
    three departments. Those of the earlier months are reported on, accepted and told to
    the reporter (one in five sent back once first), rated and visited again; this month's
    are still with the departments or awaiting the review."""
    departments = {d.code: d for d in Department.objects.all()}
    categories = {c.code: c for c in Category.objects.all()}
    by_town: dict[int, list] = {}
    for town, community, below in places:
        by_town.setdefault(town.pk, []).append((community, below))
    towns = list(by_town.values())
    today = timezone.localdate()
    n = 0
    for meeting in meetings:
        latest = meeting is meetings[-1]
        for _k in range(HARD_PER_MEETING):
            h = _h("hard", n)
            in_town = towns[n % len(towns)]
            community, below = in_town[(n // len(towns)) % len(in_town)]
            code, text, shares = HARD_PROBLEMS[(h >> 4) % len(HARD_PROBLEMS)]
            name, phone = _hotline_reporter("hard", n)
            ticket = services.ticket_report(
                area=below[(h >> 12) % len(below)],
                category=categories[code],
                channel=Ticket.Channel.HOTLINE,
                description=f"{community.name}：{text}",
                reporter_name=name,
                reporter_phone=phone,
                tier=Tier.HARD,
            )
            picked = [departments[c] for c in shares[: 1 + h % len(shares)]]
            stage = ("open", "reported", "partly", "sent_back")[n % 4] if latest else "done"
            ticket = _via_meeting(
                ticket, officer, meeting, departments=picked, i=n, stage=stage, h=h
            )
            days = (today - meeting.held_on).days
            backdating.add(ticket.pk, days=days, met=True)
            n += 1


def _parts(departments: list[Department], category: Category) -> list:
    """One part per department: the lead's instructions and the longest time, each
    supporter its own instructions and a shorter deadline."""
    now = timezone.now()
    parts = []
    for rank, department in enumerate(departments):
        lead, support = DEPARTMENT_ASKS[department.code]
        days = PART_DAYS[min(rank, len(PART_DAYS) - 1)]
        ask = f"牵头办理{category.name}问题：{lead}" if rank == 0 else f"配合：{support}"
        parts.append(
            services.Part(department, now + dt.timedelta(days=days), f"{ask}，{days}日内反馈")
        )
    return parts


def _report_parts(ticket: Ticket, *, only_first: bool = False) -> None:
    """The departments report on their open parts (as themselves where they have a login)."""
    parts = DepartmentTask.objects.filter(ticket=ticket, status=DepartmentTask.Status.OPEN)
    for task in parts.select_related("department").order_by("pk"):
        handler = task.department.handlers.exclude(user=None).order_by("pk").first()
        actor = handler.user if handler else SYSTEM  # a department with no login: the demo
        services.department_report(
            task=task, actor=actor, report=f"{task.department.name}已现场核查，按要求办理完毕"
        )
        if only_first:
            return


def _demo_account() -> ResidentAccount:
    """The demo resident's account, linked to their register record (found by the number,
    as signing in on the resident pages links it)."""
    resident = Resident.objects.select_related("household__area").get(phone=DEMO_RESIDENT_PHONE)
    account, _created = ResidentAccount.objects.get_or_create(
        phone=DEMO_RESIDENT_PHONE,
        defaults={"display_name": resident.name, "resident": resident},
    )
    return account


def _resident_story() -> None:
    """The demo resident's own problems, and the declined and merged examples. The community
    secretary (the ``community`` login) triages; the unit head handles what lands on the
    unit."""
    account = _demo_account()
    resident = account.resident
    unit = resident.household.area
    community = get_user_model().objects.get(username="community")
    neighbour = (
        Resident.objects.filter(household__area=unit)
        .exclude(pk=resident.pk)
        .exclude(phone="")
        .order_by("pk")
        .first()
    )
    lighting, elevator, leak, noise, sewage = (
        Category.objects.get(code=code)
        for code in ("lighting", "elevator", "leak", "noise", "sewage")
    )
    now = timezone.now()

    def own(category, text, channel=Ticket.Channel.MINI_PROGRAM) -> Ticket:
        return services.ticket_report(
            area=unit, category=category, channel=channel, description=text, account=account
        )

    def handle(ticket: Ticket, *, resolve: bool) -> Ticket:
        ticket = services.ticket_assign(ticket=ticket, tier=Tier.SIMPLE, actor=community)
        handler = _handler_user(ticket)
        _work(ticket, handler or SYSTEM, resolve=resolve)
        ticket.refresh_from_db()
        return ticket

    # 1. reported on the resident pages, solved, rated satisfied by the resident: closed
    closed = handle(own(lighting, "单元楼道灯坏了，晚上上下楼看不见"), resolve=True)
    services.ticket_rate(
        ticket=closed,
        actor=ReporterActor(closed.reporters.get()),
        rating=Ticket.Rating.SATISFIED,
        comment="修得很快，谢谢",
    )
    _age(closed.pk, days=12, overdue=False, now=now)
    # 2. solved, awaiting the resident's rating: to try on /r/
    waiting = handle(own(leak, "卫生间顶上渗水，楼上可能漏水"), resolve=True)
    _age(waiting.pk, days=2, overdue=False, now=now)
    # 3. being worked on, with a neighbour's report of the same merged into it (合并)
    working = handle(own(elevator, "电梯这周停了两次，老人出门困难"), resolve=False)
    duplicate = services.ticket_report(
        area=unit,
        category=elevator,
        channel=Ticket.Channel.HOTLINE,
        description="我们单元电梯老是停运",
        actor=community,
        reporter=neighbour,
        reporter_phone=neighbour.phone if neighbour else "13400000000",
    )
    services.ticket_merge(
        ticket=duplicate, into=working, actor=community, note="同一部电梯，并入处理"
    )
    _age(working.pk, days=4, overdue=False, now=now)
    _age(duplicate.pk, days=3, overdue=False, now=now)
    # 4. declined: already solved by the property company (受理/核实)
    solved_already = own(noise, "楼上装修噪音很大")
    services.ticket_decline(
        ticket=solved_already,
        actor=community,
        reason=Ticket.DeclineReason.ALREADY_SOLVED,
        note="经核实，楼上装修已于昨日完工，噪音问题已不存在。",
    )
    _age(solved_already.pk, days=6, overdue=False, now=now)
    # 5. another resident's report declined as not ours: the water company's pipe
    if neighbour is not None:
        not_ours = services.ticket_report(
            area=unit,
            category=sewage,
            channel=Ticket.Channel.HOTLINE,
            description="小区外市政污水管道堵塞",
            actor=community,
            reporter=neighbour,
            reporter_phone=neighbour.phone,
        )
        services.ticket_decline(
            ticket=not_ours,
            actor=community,
            reason=Ticket.DeclineReason.NOT_OURS,
            note="市政污水管道由县水务局负责，已告知您拨打12345转水务局。",
        )
        _age(not_ours.pk, days=8, overdue=False, now=now)
    # 6. reported for them on the hotline, rated on a return call by the street officer
    hotline = services.ticket_report(
        area=unit,
        category=lighting,
        channel=Ticket.Channel.HOTLINE,
        description="单元门口路灯不亮",
        actor=community,
        reporter=resident,
        reporter_phone=resident.phone,
    )
    hotline = handle(hotline, resolve=True)
    caller = get_user_model().objects.get(username="street")
    if has_worked_on(caller, hotline):
        caller = ReporterActor(hotline.reporters.get())
    services.ticket_rate(ticket=hotline, actor=caller, rating=Ticket.Rating.BASIC)
    _age(hotline.pk, days=20, overdue=False, now=now)


def _check_ratings() -> None:
    """No demo rating was given by the system or by anyone who worked on the problem: each
    rating event is a reporter's own or a return call's by someone with no handling step on
    it (the service refuses the handler of record at the time)."""
    rates = TicketEvent.objects.filter(kind=TicketEvent.Kind.RATE)
    assert not rates.filter(actor__isnull=True, reporter__isnull=True).exists(), "system rated"
    worked = TicketEvent.objects.filter(
        ticket=OuterRef("ticket"), actor=OuterRef("actor"), kind__in=WORKING_STEPS
    )
    by_handler = rates.filter(actor__isnull=False).filter(Exists(worked))
    assert not by_handler.exists(), f"rated by someone who worked on it: {list(by_handler)}"
    callers = TicketReporter.objects.filter(rating_caller__isnull=False)
    assert not callers.exclude(rating_source=Ticket.RatingSource.RETURN_CALL).exists()


READ_AFTER = dt.timedelta(hours=2)  # how soon a demo worker opened what they were told
UNREAD_FOR = dt.timedelta(days=2)  # what came in since is left unread


def _settle_notifications(now) -> None:
    """The workers' notifications of the backdated history, as if they had kept up: what is
    no longer on the recipient's desk -- a problem triaged since it came in, one that moved
    on to somebody else, was resolved, closed or declined -- was read a little after it came
    (``_age`` dated each with its problem's events), and so was all that came in before the
    last ``UNREAD_FOR``. Unread stay, of the last days, the reports still to triage, what is
    in the hands of its recipient now and what the overdue lift just sent: the newest of
    each problem.
    Demo data only; one query for the notifications, one per post holding problems."""
    holders: dict[tuple[int, str], set[int]] = {}

    def on_desk(note: Notification) -> bool:
        ticket = note.ticket
        if note.kind == Notification.Kind.TRIAGE:
            return ticket.state == Ticket.State.REPORTED
        if ticket.state not in IN_HAND_STATES:
            return False
        if note.kind in (Notification.Kind.MEETING_TASK, Notification.Kind.SENT_BACK):
            return ticket.level == Level.DEPARTMENT
        if not ticket.handler_area_id or ticket.level == Level.DEPARTMENT:
            return False
        post = (ticket.handler_area_id, ticket.level)
        if post not in holders:
            users = services.holders_of(ticket.handler_area, ticket.level)
            holders[post] = set(users.values_list("pk", flat=True))
        return note.recipient_id in holders[post]

    unread = (
        Notification.objects.filter(
            recipient__isnull=False, ticket__isnull=False, read_at__isnull=True
        )
        .select_related("ticket__handler_area")
        .order_by("-created_at", "-pk")
    )
    done, seen = [], set()
    for note in unread.iterator():
        # Of one problem, only the newest on the recipient's desk is still to read.
        fresh = note.created_at >= now - UNREAD_FOR
        if not fresh or (note.recipient_id, note.ticket_id) in seen or not on_desk(note):
            done.append(note.pk)
        else:
            seen.add((note.recipient_id, note.ticket_id))
    for first in range(0, len(done), 500):
        rows = Notification.objects.filter(pk__in=done[first : first + 500])
        rows.filter(created_at__lt=now - READ_AFTER).update(read_at=F("created_at") + READ_AFTER)
        rows.filter(read_at__isnull=True).update(read_at=now)


def _leave_some_overdue(now) -> None:
    """Leave a few overdue for the inbox and the digests to show (beat would lift them within
    a quarter of an hour; the embedded demo runs no beat)."""
    open_ids = (
        Ticket.objects.filter(state__in=IN_HAND_STATES, on_rectification_list=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Ticket.objects.filter(pk__in=list(open_ids)[::6]).update(deadline=now - dt.timedelta(hours=5))


def _work(ticket: Ticket, handler, *, resolve: bool) -> None:
    services.ticket_progress(ticket=ticket, actor=handler, note="已联系居民，正在处理")
    if resolve:
        services.ticket_resolve(ticket=ticket, actor=handler, feedback="已处理完毕，电话告知居民")


def _rate(ticket: Ticket, *, unsatisfied: bool, basic: bool, by_call: bool) -> None:
    """The reporter rates it (党群评议): on the resident pages or through the tracking link,
    or, for a third of them, on a return call (回访) by a community worker who did not handle
    it. Never the handler."""
    if unsatisfied:
        rating, comment = Ticket.Rating.UNSATISFIED, "问题没有彻底解决"
    else:
        rating, comment = (Ticket.Rating.BASIC if basic else Ticket.Rating.SATISFIED), ""
    caller = _return_caller(ticket) if by_call else None
    actor = caller or ReporterActor(ticket.reporters.order_by("pk").first())
    services.ticket_rate(ticket=ticket, actor=actor, rating=rating, comment=comment)


def _return_caller(ticket: Ticket):
    """A worker of the community over the problem's place who did not work on it."""
    community = (
        ticket.area.get_ancestors(include_self=True)
        .filter(kind__in=(AreaKind.COMMUNITY, AreaKind.VILLAGE))
        .last()
    )
    if community is None:
        return None
    for user in services.holders_of(community, "community").order_by("pk"):
        if not has_worked_on(user, ticket):
            return user
    return None


def _handler_user(ticket: Ticket):
    ticket.refresh_from_db()
    if not ticket.handler_area_id:
        return None
    return services.holders_of(ticket.handler_area, ticket.level).order_by("pk").first()


def _via_meeting(
    ticket: Ticket,
    officer,
    meeting: Meeting,
    *,
    departments: list[Department],
    i: int,
    stage: str = "done",
    h: int = 0,
) -> Ticket:
    """A hard problem climbs to the county office and goes on ``meeting``, to
    ``departments``. ``stage``: how far it got -- "open" (the departments at work),
    "partly" (the lead reported), "reported" (all reported, awaiting the review),
    "sent_back" (one part sent back), "done" (accepted and told to the reporter, one in five
    after sending a part back once; with ``h``, then rated and, one in two, visited again:
    ``_history`` rates its own, with ``h`` 0)."""
    ticket.refresh_from_db()
    if ticket.level not in (Level.COUNTY, Level.DEPARTMENT):
        if ticket.tier != Tier.HARD:
            ticket = services.ticket_escalate(ticket=ticket, actor=SYSTEM, as_hard=True)
        _lift_to(ticket, Level.COUNTY)
    ticket.refresh_from_db()
    category = ticket.category
    services.meeting_assign(
        meeting=meeting, ticket=ticket, actor=officer, parts=_parts(departments, category)
    )
    if stage == "open":
        return _fresh(ticket)
    _report_parts(ticket, only_first=stage == "partly")
    if stage == "partly":
        return _fresh(ticket)
    now = timezone.now()
    late = DepartmentTask.objects.filter(ticket=ticket).order_by("-pk").first()
    if stage == "sent_back" or (stage == "done" and i % 5 == 0):
        services.part_send_back(
            ticket=_fresh(ticket),
            task=late,
            actor=officer,
            reason="现场复核仍未整改到位，请重新处理",
            deadline=now + dt.timedelta(days=5),
        )
        if stage == "sent_back":
            return _fresh(ticket)
        _report_parts(ticket)
    if stage == "reported":
        return _fresh(ticket)
    names = "、".join(d.name for d in departments)
    services.ticket_review(
        ticket=_fresh(ticket),
        actor=officer,
        feedback=f"您反映的{category.name}问题经县交办会交{names}办理，现已解决。"
        "如仍有问题，请联系所在社区（村）。",
    )
    ticket = _fresh(ticket)
    if not h:
        return ticket
    if h % 5:
        rating = Ticket.Rating.BASIC if h % 3 == 0 else Ticket.Rating.SATISFIED
        services.ticket_rate(
            ticket=ticket,
            actor=ReporterActor(ticket.reporters.order_by("pk").first()),
            rating=rating,
        )
    if h % 2:
        visit = services.return_visit_schedule(
            ticket=_fresh(ticket), actor=officer, on=timezone.localdate()
        )
        services.return_visit_log(
            visit=visit, actor=officer, note="电话回访：群众对办理结果表示满意，问题未再出现"
        )
    return _fresh(ticket)


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def _age(pk: int | list[int], *, days: int, overdue: bool, now, met: bool = False) -> None:
    """Shift demo tickets' history (one ticket's, or a list's) back by ``days`` so the
    dashboards have 30 days and the meetings 12 months to show; ``met``: problems put on a
    meeting, whose parts and return visits move with them. Demo data only: real tickets
    are never rewritten (``load`` recounts the day rollups after)."""
    pks = [pk] if isinstance(pk, int) else list(pk)
    shift = dt.timedelta(days=days, hours=days % 7)
    if met:
        # A meeting's problems land on its day, an hour or more after it opened at 09:00
        # (``_meetings``), whatever the hour now: ``days`` back from now alone would put
        # them on the day before when the load runs in the small hours.
        held = timezone.localdate(now) - dt.timedelta(days=days)
        landing = dt.datetime.combine(
            held, dt.time(10 + days % 7), tzinfo=timezone.get_current_timezone()
        )
        shift = max(now - landing, dt.timedelta(0))
    tickets = Ticket.objects.filter(pk__in=pks)
    for field in ("created_at", "updated_at", "assigned_at", "resolved_at", "closed_at"):
        tickets.filter(**{f"{field}__isnull": False}).update(**{field: F(field) - shift})
    TicketEvent.objects.filter(ticket_id__in=pks).update(at=F("at") - shift)
    Notification.objects.filter(ticket_id__in=pks).update(created_at=F("created_at") - shift)
    reporters = TicketReporter.objects.filter(reported_as_id__in=pks)
    reporters.update(created_at=F("created_at") - shift)
    reporters.filter(rated_at__isnull=False).update(rated_at=F("rated_at") - shift)
    if met:
        _age_parts(pks, days=days, shift=shift)
    else:
        _spread_steps(pks, shift=shift)
    if overdue:
        tickets.update(deadline=now - dt.timedelta(hours=1))


def _spread_steps(pks: list[int], *, shift: dt.timedelta) -> None:
    """A demo problem's steps were taken in one moment; after ``_age`` moved them back by
    ``shift`` they are spread over part of the time since (a few hours to most of it, by the
    problem's hash), in their order: the median hours to solve and the timelines read as a
    county's would. The problem's own times follow its steps. Problems on a meeting keep
    theirs (their parts and return visits are dated with the meeting)."""
    if shift <= dt.timedelta(0):
        return
    events: dict[int, list[TicketEvent]] = {}
    for event in TicketEvent.objects.filter(ticket_id__in=pks).order_by("ticket_id", "at", "pk"):
        events.setdefault(event.ticket_id, []).append(event)
    moved, times = [], {}
    for ticket_id, steps in events.items():
        if len(steps) < 2:
            continue
        share = 0.15 + (_h("spread", ticket_id) % 70) / 100  # 15–84 % of the time since
        span = shift * share
        start = steps[0].at
        for k, event in enumerate(steps[1:], start=1):
            event.at = start + span * (k / (len(steps) - 1))
            moved.append(event)
        times[ticket_id] = steps
    TicketEvent.objects.bulk_update(moved, ["at"], batch_size=500)
    E = TicketEvent.Kind
    firsts = {"assigned_at": (E.ASSIGN,), "resolved_at": (E.RESOLVE,), "closed_at": (E.CLOSE,)}
    tickets = list(Ticket.objects.filter(pk__in=list(times)))
    for ticket in tickets:
        steps = times[ticket.pk]
        for field, kinds in firsts.items():
            if getattr(ticket, field) is not None:
                at = [e.at for e in steps if e.kind in kinds]
                if at:
                    setattr(ticket, field, at[-1])
        ticket.updated_at = steps[-1].at
    Ticket.objects.bulk_update(
        tickets, ["assigned_at", "resolved_at", "closed_at", "updated_at"], batch_size=500
    )
    rated = {e.ticket_id: e.at for steps in times.values() for e in steps if e.kind == E.RATE}
    reporters = list(
        TicketReporter.objects.filter(reported_as_id__in=rated, rated_at__isnull=False)
    )
    for reporter in reporters:
        reporter.rated_at = rated[reporter.reported_as_id]
    TicketReporter.objects.bulk_update(reporters, ["rated_at"], batch_size=500)


class _Backdating:
    """The ``_age`` of many problems, gathered while they are made and done together: one
    set of updates per distinct shift, not per problem."""

    def __init__(self, now):
        self.now = now
        self.groups: dict[tuple[int, bool, bool], list[int]] = {}

    def add(self, pk: int, *, days: int, overdue: bool = False, met: bool = False) -> None:
        self.groups.setdefault((days, overdue, met), []).append(pk)

    def apply(self) -> None:
        for (days, overdue, met), pks in sorted(self.groups.items()):
            _age(pks, days=days, overdue=overdue, now=self.now, met=met)
        self.groups.clear()


def _age_parts(pks: list[int], *, days: int, shift: dt.timedelta) -> None:
    """``_age`` for problems put on a meeting: their parts and their return visits."""
    parts = DepartmentTask.objects.filter(ticket_id__in=pks)
    for field in ("deadline", "reported_at", "reviewed_at"):
        parts.filter(**{f"{field}__isnull": False}).update(**{field: F(field) - shift})
    for visit in ReturnVisit.objects.filter(ticket_id__in=pks, done_at__isnull=False):
        visit.scheduled_for -= dt.timedelta(days=days)
        visit.done_at -= shift
        visit.save(update_fields=["scheduled_for", "done_at"])
