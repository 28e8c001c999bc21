"""Demo categories, departments, time limits, holidays, an API key per channel and a few
hundred tickets in every state, spread over the last 30 days, built through the services.

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

import datetime as dt
import hashlib

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core.models import TextMessage
from grids.models import Area, Department, Person
from grids.rules import AreaKind, PostTitle
from grids.selectors import area_subtree_q
from issues import services
from issues.models import (
    ApiKey,
    Category,
    DepartmentTask,
    Holiday,
    Level,
    Notification,
    NotificationDelivery,
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


@transaction.atomic
def _tickets() -> int:
    """The demo's problems, in one transaction: the outbox rows they write (SMS and mail
    about a backdated history) are deleted before it commits, so nothing goes out."""
    if Ticket.objects.exists():
        return 0
    last_sms = TextMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    last_delivery = (
        NotificationDelivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    )
    _history()
    _resident_story()
    services.tickets_escalate_overdue()
    _leave_some_overdue(timezone.now())
    _settle_notifications(timezone.now())
    TextMessage.objects.filter(pk__gt=last_sms).delete()
    NotificationDelivery.objects.filter(pk__gt=last_delivery).delete()
    _check_ratings()
    return Ticket.objects.count()


def _history() -> int:
    User = get_user_model()
    residents = _demo_residents()
    leaves = list(Category.objects.filter(children__isnull=True).order_by("code"))
    samples = {code: s for code, _n, _p, _d, s in CATEGORIES}
    officer = User.objects.filter(
        person__posts__title=PostTitle.COUNTY_OFFICER, person__posts__ended_on__isnull=True
    ).first()
    departments = {d.code: d for d in Department.objects.all()}
    meeting = None
    now = timezone.now()
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
        if fate >= 2 and handlers is not None:
            if tier == Tier.HARD and officer is not None and fate >= 3:
                ticket = _via_meeting(ticket, officer, departments, category, meeting, i)
                meeting = ticket._meeting
            else:
                _work(ticket, handlers, resolve=fate >= 3)
            ticket.refresh_from_db()
            if fate >= 4 and ticket.state == Ticket.State.RESOLVED:
                _rate(ticket, unsatisfied=fate == 5, basic=not h % 4, by_call=h % 3 == 0)
        _age(ticket.pk, days=(h >> 32) % 30, overdue=fate == 6, now=now)
        made += 1
    return made


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


def _via_meeting(ticket, officer, departments, category, meeting, i):
    """Hard problems climb to the county office and go through an assignment meeting."""
    ticket = (
        services.ticket_escalate(ticket=ticket, actor=SYSTEM, as_hard=True)
        if ticket.level != "county"
        else ticket
    )
    ticket.refresh_from_db()
    while ticket.level != "county":
        ticket = services.ticket_escalate(ticket=ticket, actor=SYSTEM)
        ticket.refresh_from_db()
    if meeting is None or i % 40 == 0:
        county = ticket.handler_area
        meeting = services.meeting_open(
            area=county, title=f"第{i // 40 + 1}次群众反映难点问题交办会", actor=officer
        )
    first = category.default_department or departments["housing"]
    second = departments["urban"] if first.code != "urban" else departments["police"]
    now = timezone.now()
    services.meeting_assign(
        meeting=meeting,
        ticket=ticket,
        actor=officer,
        parts=[
            services.Part(
                first, now + dt.timedelta(days=10), f"牵头处理：{category.name}，限期办结并反馈"
            ),
            services.Part(second, now + dt.timedelta(days=7), "配合牵头单位现场核查，提供执法支持"),
        ],
    )
    parts = DepartmentTask.objects.filter(ticket=ticket).select_related("department")
    for task in parts.order_by("pk"):
        handler = task.department.handlers.exclude(user=None).first()
        # A department with no login: the demo reports for it.
        actor = handler.user if handler else SYSTEM
        services.department_report(
            task=task, actor=actor, report=f"{task.department.name}已现场核查并处理"
        )
    ticket.refresh_from_db()
    # The county office's review: most accepted in its own words; some sent back (a part open
    # again, with the reason); some still waiting for the review.
    if i % 11 == 0:
        late = parts.order_by("pk").last()
        services.part_send_back(
            ticket=ticket,
            task=late,
            actor=officer,
            reason="现场复核仍未整改到位，请重新处理",
            deadline=now + dt.timedelta(days=3),
        )
    elif i % 13 != 0:
        services.ticket_review(
            ticket=ticket,
            actor=officer,
            feedback=f"经县交办办核查，{first.name}、{second.name}已处理完毕，问题已解决。",
        )
    ticket.refresh_from_db()
    ticket._meeting = meeting
    return ticket


def _age(pk: int, *, days: int, overdue: bool, now) -> None:
    """Shift one demo ticket's history back by ``days`` so the dashboards have 30 days to show.
    Demo data only: real tickets are never rewritten (``load`` recounts the day rollups
    after)."""
    shift = dt.timedelta(days=days, hours=days % 7)
    tickets = Ticket.objects.filter(pk=pk)
    for field in ("created_at", "updated_at", "assigned_at", "resolved_at", "closed_at"):
        tickets.filter(**{f"{field}__isnull": False}).update(**{field: F(field) - shift})
    TicketEvent.objects.filter(ticket_id=pk).update(at=F("at") - shift)
    Notification.objects.filter(ticket_id=pk).update(created_at=F("created_at") - shift)
    reporters = TicketReporter.objects.filter(reported_as_id=pk)
    reporters.update(created_at=F("created_at") - shift)
    reporters.filter(rated_at__isnull=False).update(rated_at=F("rated_at") - shift)
    if overdue:
        tickets.update(deadline=now - dt.timedelta(hours=1))
