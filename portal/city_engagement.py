"""Engagement for the synthetic city (``seed_city``, ``seed_city --engagement-only``): the
micro-wishes, the door-knock visits, the regular meetings, the proposals and their secret
votes, and the points ledger with the moral bank, over the city ``portal.city`` built.

At ``scale=1`` (a city of ten districts, each the size of a county):

- **Party members** (双报到): every grid and building head registered at their community; a
  volunteer team per community of five unit heads;
- **door-knock visits** (入户走访): seven households in ten visited by their unit head in the
  last year (about 1,050,000);
- **micro-wishes** (微心愿): 60,000 over two years in every state and outcome of the wish
  list (claimed, handed back, fulfilled, confirmed by the resident or late by a worker, done
  at once, put into the renovation plan, explained); about 24,000 claimed — Guangchang
  counted 1,894 claimed in one county;
- **regular meetings** (三级例会) on the rhythm for a share of the places: one building in
  twenty weekly, one grid in five fortnightly, half the communities monthly, a few missed or
  called off (so some are overdue), with attendance and minutes;
- **proposals** (议事会): 2,000 on communities, grids and buildings, seven in ten closed
  with their roll frozen, their secret ballots (written apart from the roll, in random
  order, with nothing of the household), paper ballots confirmed by a second worker and the
  result frozen; the rest voting, under discussion or drafts;
- **points** (积分): an award for every seeded act the services award (a visit logged, a
  problem solved at the solver's level, a satisfied rating, a wish fulfilled and confirmed,
  a meeting attended), reversals for those struck off a meeting; good deeds saved by some
  twenty households a community (道德银行 储蓄登记), reward items in every community and
  their redemptions; balances that are the ledger's sums.

How: the large tables set-based (``INSERT … SELECT`` from the acts already in the city:
visits from the households, awards from the visits, problems, ratings, wishes and
attendance; the rolls from the households, the ballots and the results from the rolls),
the rest generated here, deterministically from each row's index (``city._h``), and written
with ``COPY``. ``check`` then calls the services themselves on seeded rows.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from grids.models import Area
from grids.rules import AreaKind as K
from grids.rules import PostTitle as T
from portal.city import _copy, _h

WISHES = 60_000
PROPOSALS = 2_000
VISITED_PER_1024 = 717  # seven households in ten
SAVERS_PER_COMMUNITY = 20
TEAM_SIZE = 5
DAYS = 730
COMMUNITY_KINDS = (K.COMMUNITY, K.VILLAGE)


def _sql(statement: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.rowcount


def _one(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.fetchone()[0]


def _ids_after(table: str, before: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id > %s ORDER BY id", [before])
        return [row[0] for row in cursor.fetchall()]


def _max_id(table: str) -> int:
    return _one(f"SELECT coalesce(max(id), 0) FROM {table}")


# --- the places ------------------------------------------------------------------------------


class Places:
    """The city's nodes as the seed needs them, read in two queries: each node's kind,
    parent, children and ancestor keys, and the head (person, login) of each node."""

    ORDER = (K.CITY, K.DISTRICT, K.STREET, K.TOWN, K.COMMUNITY, K.VILLAGE, K.COMPOUND)

    def __init__(self) -> None:
        from grids.models import Post
        from grids.rules import KEY_OF_KIND

        rows = list(
            Area.objects.values_list("pk", "kind", "parent_id", "upper_id", "tree_id", "lft")
        )
        rows.sort(key=lambda r: (r[4], r[5]))
        self.kind: dict[int, str] = {}
        self.parent: dict[int, int | None] = {}
        self.children: dict[int, list[int]] = {}
        self.keys: dict[int, tuple] = {}
        slots = ("district", "street", "community", "grid")
        pending = sorted(rows, key=lambda r: (_depth(r[1]), r[4], r[5]))
        for pk, kind, parent, upper, _tree, _lft in pending:
            above = parent or upper
            self.kind[pk] = kind
            self.parent[pk] = above
            if above is not None:
                self.children.setdefault(above, []).append(pk)
            keys = list(self.keys.get(above, (None, None, None, None)))
            slot = KEY_OF_KIND.get(kind)
            if slot is not None:
                keys[slots.index(slot)] = pk
            self.keys[pk] = tuple(keys)
        self.head: dict[int, tuple[int, int | None]] = {}
        for area, person, user in (
            Post.objects.filter(ended_on__isnull=True, is_deputy=False)
            .order_by("pk")
            .values_list("area_id", "person_id", "person__user_id")
        ):
            self.head.setdefault(area, (person, user))

    def of_kind(self, *kinds: str) -> list[int]:
        return sorted(pk for pk, kind in self.kind.items() if kind in kinds)

    def user(self, area: int | None) -> int | None:
        return self.head.get(area, (None, None))[1] if area else None

    def person(self, area: int | None) -> int | None:
        return self.head.get(area, (None, None))[0] if area else None

    def up_to(self, area: int, kinds) -> int | None:
        node = area
        while node is not None and self.kind.get(node) not in kinds:
            node = self.parent.get(node)
        return node


def _depth(kind: str) -> int:
    from grids.rules import KIND_DEPTH

    return KIND_DEPTH.get(kind, 99)


def _keys_row(places: Places, area: int) -> tuple:
    return places.keys[area]


def _said(text: str, **args) -> str:
    """A note in the portal's language, as a service writes it under a request in it."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(text) % args if args else str(_(text))


# --- the whole of it -------------------------------------------------------------------------


def already_there() -> str:
    """What engagement the city already holds ("" when none)."""
    from councils.models import Meeting
    from deliberation.models import Proposal
    from points.models import PointEntry
    from wishes.models import Wish

    for label, model in (
        ("micro-wishes", Wish),
        ("points entries", PointEntry),
        ("proposals", Proposal),
        ("regular meetings", Meeting),
    ):
        if model.objects.exists():
            return label
    return ""


def seed(*, scale: float, progress) -> dict[str, int]:
    """Add the engagement to the city in this database (built by ``portal.city.seed``)."""
    if connection.vendor != "postgresql":
        raise RuntimeError("seed_city writes with COPY: it needs PostgreSQL (set DATABASE_URL)")
    from issues.models import Ticket

    if not Area.objects.filter(kind=K.UNIT).exists() or not Ticket.objects.exists():
        raise RuntimeError("there is no city here: run seed_city without --engagement-only first")
    found = already_there()
    if found:
        raise RuntimeError(
            f"the city already holds engagement ({found}): it is added once, to a city without any"
        )
    now = timezone.now().replace(microsecond=0)
    places = Places()
    built: dict[str, int] = {}
    with transaction.atomic():
        built["party members"] = _party_members(places, now)
        progress("party members", built["party members"])
        built["visits"] = _visits(now)
        progress("visits", built["visits"])
        householders = _householders()
        wishes, wish_events = _wishes(scale, places, householders, now)
        built["micro-wishes"], built["wish steps"] = wishes, wish_events
        progress("micro-wishes", wishes)
        meetings, attendance = _councils(scale, places, now)
        built["regular meetings"], built["attendance"] = meetings, attendance
        # Written in bulk, not through the services: each place's rhythm row from them.
        from councils.services import rhythms_rebuild

        built["meeting rhythms"] = rhythms_rebuild()
        progress("regular meetings", meetings)
        proposals, roll, ballots = _proposals(scale, places, now)
        built["proposals"], built["roll entries"], built["ballots"] = proposals, roll, ballots
        progress("proposals", proposals)
        built["points entries"], built["balances"] = _points(places, householders, now, progress)
        progress("points entries", built["points entries"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return built


# --- Party members and volunteers -------------------------------------------------------------


def _party_members(places: Places, now: dt.datetime) -> int:
    """Every grid and building head a Party member registered at their community (双报到);
    a volunteer team of five unit heads in each community."""
    rows = []
    for area in places.of_kind(K.GRID, K.BUILDING):
        person = places.person(area)
        community = places.keys[area][2]
        if person is None or community is None:
            continue
        registered = (now - dt.timedelta(days=400 + _h("registered", area) % 700)).date()
        rows.append(
            (person, True, "市直机关" if area % 3 else "区属国有企业", community, registered)
        )
    count = _copy(
        "residents_partymember",
        ("person_id", "in_service", "work_unit", "registered_area_id", "registered_on"),
        iter(rows),
    )
    teams = []
    for community in places.of_kind(*COMMUNITY_KINDS):
        teams.append((community, f"{_name(community)}志愿服务队", now - dt.timedelta(days=500)))
    before = _max_id("residents_volunteerteam")
    _copy("residents_volunteerteam", ("area_id", "name", "created_at"), iter(teams))
    members = []
    units_of = _units_by_community(places)
    for team, (community, _n, _at) in zip(
        _ids_after("residents_volunteerteam", before), teams, strict=True
    ):
        for unit in units_of.get(community, [])[:TEAM_SIZE]:
            if places.person(unit):
                members.append((team, places.person(unit)))
    _copy("residents_volunteerteam_members", ("volunteerteam_id", "person_id"), iter(members))
    return count


_NAMES: dict[int, str] = {}


def _name(area: int) -> str:
    if not _NAMES:
        _NAMES.update(Area.objects.filter(kind__in=COMMUNITY_KINDS).values_list("pk", "name"))
    return _NAMES.get(area, "")


def _units_by_community(places: Places) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for unit in places.of_kind(K.UNIT):
        out.setdefault(places.keys[unit][2], []).append(unit)
    return out


# --- visits -----------------------------------------------------------------------------------


def _visits(now: dt.datetime) -> int:
    """Seven households in ten visited once in the last year by their unit head (入户走访)."""
    return _sql(
        "INSERT INTO residents_visit (household_id, visitor_id, visited_at, channel, findings,"
        " needs_follow_up, created_at)"
        " SELECT h.id, p.person_id, v.at,"
        "  (ARRAY['door_knock','door_knock','door_knock','wechat','phone','neighbour'])"
        "   [1 + (hashtext('channel:' || h.id) & 1023) %% 6],"
        "  CASE WHEN (hashtext('needs:' || h.id) & 1023) < 40 THEN '独居老人，需定期回访'"
        "   ELSE '' END,"
        "  (hashtext('needs:' || h.id) & 1023) < 40, v.at"
        " FROM residents_household h"
        " JOIN grids_post p ON p.area_id = h.area_id AND p.title = %s"
        "  AND p.ended_on IS NULL AND NOT p.is_deputy"
        " CROSS JOIN LATERAL (SELECT %s::timestamptz - make_interval("
        "  mins => (hashtext('visited:' || h.id) & 2147483647) %% (365 * 1440)) AS at) v"
        " WHERE (hashtext('visit:' || h.id) & 1023) < %s",
        [T.UNIT_HEAD, now, VISITED_PER_1024],
    )


def _householders() -> dict[int, tuple]:
    """Unit pk → its first householder (resident pk, name, phone, household pk): the
    resident who posts the unit's wishes and saves its points."""
    from residents.models import Resident

    found: dict[int, tuple] = {}
    for rid, name, phone, household, unit in (
        Resident.objects.filter(is_householder=True)
        .exclude(phone="")
        .order_by("pk")
        .values_list("pk", "name", "phone", "household_id", "household__area_id")
        .iterator(chunk_size=20_000)
    ):
        found.setdefault(unit, (rid, name, phone, household))
    return found


# --- micro-wishes -----------------------------------------------------------------------------

WISH_TITLES = (
    ("送一袋面粉上门", "腿脚不便，想请人帮忙从超市买一袋面粉送到家"),
    ("修理楼道灯", "单元楼道的声控灯坏了，晚上上下楼看不见"),
    ("陪老人去医院复查", "子女在外地，想请人陪同去县医院复查"),
    ("辅导孩子功课", "孩子上小学四年级，想请志愿者周末辅导数学"),
    ("更换厨房水龙头", "水龙头漏水，自己不会换"),
    ("上门理发", "卧床老人想理个发"),
    ("代买常用药", "高血压药吃完了，想请人代买"),
    ("修补纱窗", "夏天蚊子多，纱窗破了"),
    ("教用智能手机", "想学会用手机视频通话和挂号"),
    ("清理楼前杂物", "楼前堆放的旧家具影响通行"),
)
HAND_BACK = "临时出差，无法按时完成，交回重新认领"
FULFILLED = ("已送到家中", "已修好，试用正常", "已陪同完成复查", "已上门服务完毕")
DONE_NOTE = "社区已当即安排人员处理完毕"
PLAN_NOTE = "已纳入本小区老旧小区改造计划，预计明年实施"
EXPLAIN_NOTE = "经核实属于产权单位维修范围，已联系产权单位并向您说明"

# Of every 100 wishes, what became of them (the wish list's outcomes among them).
WISH_FATES = (
    ("confirmed", 28),
    ("handed_back_confirmed", 4),
    ("confirmed_late", 4),
    ("fulfilled", 3),
    ("claimed", 4),
    ("open", 6),
    ("done_confirmed", 24),
    ("done_waiting", 2),
    ("planned", 13),
    ("explained", 12),
)
RECENT = {"fulfilled", "claimed", "open", "done_waiting"}

WISH_COLUMNS = (
    "area_id",
    "district_id",
    "street_id",
    "community_id",
    "grid_id",
    "account_id",
    "resident_id",
    "for_name",
    "for_phone",
    "posted_by_id",
    "title",
    "text",
    '"where"',
    "wanted_by",
    "state",
    "outcome",
    "claimer_id",
    "fulfiller_id",
    "fulfil_note",
    "told",
    "created_at",
    "updated_at",
    "claimed_at",
    "fulfilled_at",
    "confirmed_at",
    "sorted_at",
)
WISH_EVENT_COLUMNS = (
    "wish_id",
    "kind",
    "old_state",
    "new_state",
    "actor_id",
    "person_id",
    "account_id",
    "at",
    "note",
)


def _fate_of(h: int, fates) -> str:
    roll, total = h % 100, 0
    for fate, share in fates:
        total += share
        if roll < total:
            return fate
    return fates[0][0]


def _accounts(householders: dict, units: list[int], now: dt.datetime) -> dict[int, int]:
    """A resident account (居民端) for each householder who posts a wish. Resident pk →
    account pk."""
    from residents.accounts import PRIVACY_VERSION

    wanted = {householders[u][0]: householders[u] for u in units if u in householders}
    existing = dict(
        _rows("SELECT resident_id, id FROM residents_residentaccount WHERE resident_id IS NOT NULL")
    )
    taken = {phone for (phone,) in _rows("SELECT phone FROM residents_residentaccount")}
    since = now - dt.timedelta(days=DAYS + 30)
    rows = [
        (phone, "", rid, since, PRIVACY_VERSION, since, True)
        for rid, (_r, _name, phone, _hh) in sorted(wanted.items())
        if rid not in existing and phone not in taken
    ]
    _copy(
        "residents_residentaccount",
        (
            "phone",
            "display_name",
            "resident_id",
            "privacy_accepted_at",
            "privacy_version",
            "created_at",
            "active",
        ),
        iter(rows),
    )
    return dict(
        _rows("SELECT resident_id, id FROM residents_residentaccount WHERE resident_id IS NOT NULL")
    )


def _rows(statement: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.fetchall()


def _wish_plan(i: int, units, places: Places, householders, accounts, now):
    h = _h("wish", i)
    unit = units[h % len(units)]
    rid, name, phone, _hh = householders[unit]
    building = places.parent[unit]
    district, street, community, grid = places.keys[unit]
    fate = _fate_of(h >> 8, WISH_FATES)
    if fate in RECENT:
        created = now - dt.timedelta(minutes=60 * 24 * 7 + (h >> 16) % (60 * 24 * 3))
    else:
        created = now - dt.timedelta(days=30, minutes=(h >> 16) % ((DAYS - 30) * 24 * 60))
    title, text = WISH_TITLES[(h >> 40) % len(WISH_TITLES)]
    by_worker = (h >> 44) % 10 < 3  # posted by the unit head for the resident
    account = accounts.get(rid)
    unit_head = places.user(unit)
    claimer, claimer_user = places.person(building), places.user(building)
    second, second_user = places.person(grid), places.user(grid)
    worker = places.user(grid)
    worker_person = places.person(grid)
    row = dict.fromkeys(WISH_COLUMNS, None)
    row.update(
        area_id=unit,
        district_id=district,
        street_id=street,
        community_id=community,
        grid_id=grid,
        account_id=None if by_worker else account,
        resident_id=rid,
        for_name=name if by_worker else "",
        for_phone=phone if by_worker else "",
        posted_by_id=unit_head if by_worker else None,
        title=title,
        text=text,
        wanted_by=(created + dt.timedelta(days=14)).date(),
        state="open",
        outcome="",
        fulfil_note="",
        told="",
        created_at=created,
    )
    row['"where"'] = f"{(h >> 48) % 6 + 1}0{(h >> 52) % 2 + 1}室"
    events = [
        (
            "post",
            "",
            "open",
            unit_head if by_worker else None,
            None,
            None if by_worker else account,
            created,
            "",
        )
    ]
    at = created

    def step(kind, old, new, who=None, person=None, acct=None, note="", hours=24):
        nonlocal at
        at = at + dt.timedelta(hours=hours)
        events.append((kind, old, new, who, person, acct, at, note))
        row.update(state=new, updated_at=at)

    confirmer = account  # the resident's own account sees the wish (own_wishes)
    if fate in ("confirmed", "handed_back_confirmed", "confirmed_late", "fulfilled", "claimed"):
        step("claim", "open", "claimed", claimer_user, claimer, hours=2 + (h >> 20) % 40)
        row.update(claimer_id=claimer, claimed_at=at)
        fulfiller = claimer
        if fate == "handed_back_confirmed":
            step("hand_back", "claimed", "open", claimer_user, claimer, note=HAND_BACK)
            row.update(claimer_id=None)
            step("claim", "open", "claimed", second_user, second, hours=12)
            row.update(claimer_id=second)
            fulfiller, claimer_user = second, second_user
        if fate != "claimed":
            note = FULFILLED[(h >> 24) % len(FULFILLED)]
            step(
                "fulfil",
                "claimed",
                "fulfilled",
                claimer_user,
                fulfiller,
                note=note,
                hours=24 * (1 + (h >> 28) % 4),
            )
            row.update(claimer_id=None, fulfiller_id=fulfiller, fulfil_note=note, fulfilled_at=at)
        if fate in ("confirmed", "handed_back_confirmed"):
            step("confirm", "fulfilled", "confirmed", acct=confirmer, hours=24 + (h >> 32) % 48)
            row.update(confirmed_at=at)
        elif fate == "confirmed_late":
            step("confirm_late", "fulfilled", "confirmed", worker, hours=24 * 8)
            row.update(confirmed_at=at)
    elif fate in ("done_confirmed", "done_waiting"):
        step("done_at_once", "open", "fulfilled", worker, worker_person, note=DONE_NOTE)
        row.update(
            outcome="done_at_once",
            sorted_at=at,
            told=DONE_NOTE,
            fulfiller_id=worker_person,
            fulfil_note=DONE_NOTE,
            fulfilled_at=at,
        )
        if fate == "done_confirmed":
            step("confirm", "fulfilled", "confirmed", acct=confirmer, hours=24 + (h >> 32) % 48)
            row.update(confirmed_at=at)
    elif fate in ("planned", "explained"):
        note = PLAN_NOTE if fate == "planned" else EXPLAIN_NOTE
        kind = "plan" if fate == "planned" else "explain"
        step(kind, "open", fate, worker, worker_person, note=note, hours=24 * (1 + (h >> 28) % 3))
        row.update(
            outcome="renovation" if fate == "planned" else "explained", sorted_at=at, told=note
        )
    row["updated_at"] = at
    return tuple(row[c] for c in WISH_COLUMNS), events


def _wishes(scale, places: Places, householders, now) -> tuple[int, int]:
    units = [u for u in places.of_kind(K.UNIT) if u in householders]
    count = max(1, round(WISHES * scale))
    chosen = sorted({units[_h("wish", i) % len(units)] for i in range(count)})
    accounts = _accounts(householders, chosen, now)
    plans = [_wish_plan(i, units, places, householders, accounts, now) for i in range(count)]
    before = _max_id("wishes_wish")
    _copy("wishes_wish", WISH_COLUMNS, (row for row, _events in plans))
    ids = _ids_after("wishes_wish", before)
    events = _copy(
        "wishes_wishevent",
        WISH_EVENT_COLUMNS,
        ((ids[n], *event) for n, (_row, evs) in enumerate(plans) for event in evs),
    )
    return len(ids), events


# --- regular meetings -------------------------------------------------------------------------

MEETING_COLUMNS = (
    "area_id",
    "district_id",
    "street_id",
    "community_id",
    "grid_id",
    "level",
    "date",
    "room",
    "topic",
    "chair_id",
    "state",
    "minutes",
    "held_at",
    "created_by_id",
    "created_at",
)
# level, the node kinds, share of those nodes per 1,000, days apart (0: monthly), how many.
RHYTHM = (
    ("building", (K.BUILDING,), 50, 7, 8),
    ("compound", (K.GRID,), 200, 14, 8),
    ("committee", COMMUNITY_KINDS, 500, 0, 6),
)
MINUTES = {
    "building": "通报本周楼栋情况，收集居民诉求，落实楼道清理、独居老人走访。",
    "compound": "院落例会：梳理网格内未办结问题，商议停车和绿化管护，分工跟进。",
    "committee": "自管会月例会：听取各网格汇报，审议小区改造和公共收益使用，安排下月工作。",
}
TOPIC = {"building": "楼栋周例会", "compound": "院落双周例会", "committee": "自管会月例会"}
STRUCK_OFF = "误记到会，实际未参加"


def _meeting_dates(level: str, days: int, n: int, area: int, today: dt.date) -> list[dt.date]:
    """The last ``n`` meeting days of the rhythm up to today, and the next one."""
    if days:
        last = today - dt.timedelta(days=_h("weekday", area) % days)
        return [last - dt.timedelta(days=days * k) for k in range(n)][::-1] + [
            last + dt.timedelta(days=days)
        ]
    day = 1 + _h("monthday", area) % 28
    months = []
    year, month = today.year, today.month
    if today.day < day:
        month -= 1
    for k in range(n - 1, -2, -1):
        m = month - k
        y = year + (m - 1) // 12
        m = (m - 1) % 12 + 1
        months.append(dt.date(y, m, day))
    return months


def _attendees(level: str, area: int, places: Places) -> list[int]:
    """The heads who come: a building's head and its unit heads; a grid's head and its
    building heads; a community's secretary and its grid heads (all among the meeting's
    candidates, ``councils.selectors.attendance_candidates``)."""
    below = {"building": 3, "compound": 6, "committee": 8}[level]
    people = [places.person(area)]
    people += [places.person(child) for child in places.children.get(area, [])[:below]]
    return [p for p in dict.fromkeys(people) if p]


def _councils(scale, places: Places, now: dt.datetime) -> tuple[int, int]:
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    rows, plans = [], []
    for level, kinds, share, days, n in RHYTHM:
        nodes = places.of_kind(*kinds)
        for area in nodes:
            h = _h("council", area)
            if h % 1000 >= share and area != nodes[0]:  # the first always meets
                continue
            stopped = (h >> 10) % 100 < 15  # stopped meeting some weeks ago: overdue now
            dates = _meeting_dates(level, days, n, area, today)
            if stopped:
                dates = dates[: max(1, len(dates) - 4)]
            user, person = places.user(area), places.person(area)
            if user is None:
                continue
            for k, date in enumerate(dates):
                gh = _h("meeting", area, k)
                if date > today or (k == len(dates) - 1 and not stopped and date == today):
                    state = "planned"
                elif gh % 100 < 4:
                    state = "cancelled"
                elif gh % 100 < 10:
                    continue  # missed: never planned
                else:
                    state = "held"
                held = dt.datetime.combine(date, dt.time(19, 30), tzinfo=tz)
                planned_at = held - dt.timedelta(days=3)
                if planned_at > now:
                    planned_at = now - dt.timedelta(hours=1)
                rows.append(
                    (
                        area,
                        *places.keys[area],
                        level,
                        date,
                        "党群服务站" if level != "building" else "楼栋议事点",
                        TOPIC[level],
                        person,
                        state,
                        MINUTES[level] if state == "held" else "",
                        held + dt.timedelta(hours=2) if state == "held" else None,
                        user,
                        planned_at,
                    )
                )
                plans.append((level, area, state, user, planned_at, held, gh))
    before = _max_id("councils_meeting")
    _copy("councils_meeting", MEETING_COLUMNS, iter(rows))
    ids = _ids_after("councils_meeting", before)
    events, attendance = [], []
    for pk, (level, area, state, user, planned_at, held, _gh) in zip(ids, plans, strict=True):
        events.append((pk, "plan", user, None, TOPIC[level], planned_at))
        if state == "cancelled":
            events.append((pk, "cancel", user, None, "天气原因，改期召开", planned_at))
        if state != "held":
            continue
        present = _attendees(level, area, places)
        recorded = held + dt.timedelta(hours=2)
        for n, person in enumerate(present):
            struck = n > 0 and _h("struck", pk, person) % 100 == 0
            removed_at = recorded + dt.timedelta(days=1) if struck else None
            attendance.append(
                (
                    pk,
                    person,
                    "head",
                    recorded,
                    user,
                    removed_at,
                    user if struck else None,
                    STRUCK_OFF if struck else "",
                )
            )
            if struck:
                events.append((pk, "attendee_remove", user, person, STRUCK_OFF, removed_at))
        events.append((pk, "hold", user, None, _said("%(n)s present", n=len(present)), recorded))
    _copy(
        "councils_meetingevent",
        ("meeting_id", "kind", "actor_id", "person_id", "note", "at"),
        iter(sorted(events, key=lambda e: (e[0], e[5]))),
    )
    count = _copy(
        "councils_attendance",
        (
            "meeting_id",
            "person_id",
            "capacity",
            "added_at",
            "added_by_id",
            "removed_at",
            "removed_by_id",
            "removed_reason",
        ),
        iter(attendance),
    )
    return len(ids), count


# --- proposals and their vote -----------------------------------------------------------------

PROPOSAL_TEXTS = {
    "renovation": (
        "老旧小区改造方案",
        "拟对小区雨污分流、外墙保温、楼道照明和停车位进行改造。费用按财政补助40%、"
        "企业捐助30%、居民自筹20%、自我造血10%分担，设立不少于5万元的小区基金。",
    ),
    "parking": ("停车管理规定", "划定固定车位，外来车辆限时停放，收益纳入小区基金。"),
    "rule": ("居民公约修订", "增加楼道堆物、高空抛物和犬只管理条款。"),
    "fund": ("小区公共收益使用", "将广告位和停车收益用于更换单元门禁和维修健身器材。"),
}
PROPOSAL_KINDS = ("renovation", "renovation", "parking", "rule", "fund")
PROPOSAL_COLUMNS = (
    "area_id",
    "district_id",
    "street_id",
    "community_id",
    "grid_id",
    "title",
    "text",
    "kind",
    "state",
    "outcome",
    "discussion_until",
    "voting_opens_at",
    "voting_closes_at",
    "threshold_numerator",
    "threshold_denominator",
    "created_by_id",
    "created_at",
)
PROGRESS = ("施工单位进场，完成雨污管网开挖", "外墙保温完成一半", "改造完工，居民代表参与验收")


def _proposals(scale, places: Places, now: dt.datetime) -> tuple[int, int, int]:
    from deliberation.models import Proposal

    PS = Proposal.State  # noqa: N806 (the states' table, as a name)
    count = max(10, round(PROPOSALS * scale))  # one of each state at least
    pools = {
        "community": places.of_kind(*COMMUNITY_KINDS),
        "grid": places.of_kind(K.GRID),
        "building": places.of_kind(K.BUILDING),
    }
    rows, plans = [], []
    for i in range(count):
        h = _h("proposal", i)
        where = ("community",) * 2 + ("grid",) * 5 + ("building",) * 3
        pool = pools[where[(h >> 4) % 10]]
        area = pool[(h >> 8) % len(pool)]
        state = ("closed",) * 7 + ("voting", "discussion", "draft")
        state = state[i % 10]
        kind = PROPOSAL_KINDS[(h >> 16) % len(PROPOSAL_KINDS)]
        title, text = PROPOSAL_TEXTS[kind]
        community = places.keys[area][2]
        secretary, street_officer = places.user(community), places.user(places.keys[area][1])
        if state == "closed":
            created = now - dt.timedelta(days=40 + (h >> 24) % (DAYS - 40))
            opens, closes = created + dt.timedelta(days=10), created + dt.timedelta(days=24)
        elif state == "voting":
            created = now - dt.timedelta(days=12)
            opens, closes = now - dt.timedelta(days=3), now + dt.timedelta(days=7)
        elif state == "discussion":
            created, opens, closes = now - dt.timedelta(days=3), None, now + dt.timedelta(days=20)
        else:
            created, opens, closes = now - dt.timedelta(days=1), None, now + dt.timedelta(days=30)
        discussion = created + dt.timedelta(days=1)
        until = (created + dt.timedelta(days=8)).date() if state != "draft" else None
        rows.append(
            (
                area,
                *places.keys[area],
                f"{_name(community)}{title}（第{i + 1}号）",
                text,
                kind,
                state,
                "",
                until,
                opens,
                closes,
                2,
                3,
                secretary,
                created,
            )
        )
        turnout = 600 + (h >> 32) % 400 if state == "closed" else 200 + (h >> 32) % 300
        favour = 600 + (h >> 42) % 400
        plans.append(
            (
                state,
                kind,
                secretary,
                street_officer,
                created,
                discussion,
                opens,
                closes,
                turnout,
                favour,
            )
        )
    before = _max_id("deliberation_proposal")
    _copy("deliberation_proposal", PROPOSAL_COLUMNS, iter(rows))
    ids = _ids_after("deliberation_proposal", before)
    events, votes = [], []
    for pk, (
        state,
        _kind,
        sec,
        officer,
        created,
        discussion,
        opens,
        closes,
        turnout,
        favour,
    ) in zip(ids, plans, strict=True):
        # A proposal's steps are named by the state they reach (deliberation's events).
        draft, talk, vote, closed = PS.DRAFT, PS.DISCUSSION, PS.VOTING, PS.CLOSED
        events.append((pk, "create", "", draft, sec, created, ""))
        if state != draft:
            events.append((pk, talk, draft, talk, sec, discussion, ""))
        if state in (vote, closed):
            events.append((pk, vote, talk, vote, sec, opens, ""))
            votes.append((pk, turnout, 200, favour, sec, officer, opens, closes, state))
        if state == closed:
            events.append((pk, closed, vote, closed, None, closes, ""))
    _copy(
        "deliberation_proposalevent",
        ("proposal_id", "kind", "from_state", "to_state", "actor_id", "at", "note"),
        iter(events),
    )
    roll, ballots = _votes(votes, now)
    return len(ids), roll, ballots


def _votes(votes: list[tuple], now: dt.datetime) -> tuple[int, int]:
    """The rolls frozen when voting opened (the households under each proposal's area, as
    ``deliberation.services.eligible_households`` finds them), who voted and how, the
    secret ballots, the paper ballots confirmed by a second worker, and the results of the
    closed proposals frozen from them."""
    _sql(
        "CREATE TEMP TABLE seed_vote (proposal_id int PRIMARY KEY, turnout int, paper int,"
        " favour int, recorder int, decider int, opens timestamptz, closes timestamptz,"
        " state text) ON COMMIT DROP"
    )
    _copy(
        "seed_vote",
        (
            "proposal_id",
            "turnout",
            "paper",
            "favour",
            "recorder",
            "decider",
            "opens",
            "closes",
            "state",
        ),
        iter(votes),
    )
    vote = "(hashtext('vote:' || s.proposal_id || ':' || h.id) & 1023)"
    how = "(hashtext('how:' || s.proposal_id || ':' || h.id) & 1023)"
    select = (
        "INSERT INTO deliberation_rollentry (proposal_id, household_id, voted, how)"
        f" SELECT s.proposal_id, h.id, {vote} < s.turnout * 1024 / 1000,"
        f" CASE WHEN {vote} >= s.turnout * 1024 / 1000 THEN ''"
        f" WHEN {how} < s.paper * 1024 / 1000 AND s.state = 'closed' THEN 'paper'"
        " ELSE 'online' END FROM seed_vote s JOIN deliberation_proposal p ON p.id = s.proposal_id"
    )
    roll = _sql(
        select + " JOIN grids_area a ON a.id = p.area_id AND a.kind IN ('community', 'village')"
        " JOIN residents_household h ON h.community_id = p.area_id"
    )
    roll += _sql(
        select + " JOIN grids_area a ON a.id = p.area_id AND a.kind = 'grid'"
        " JOIN residents_household h ON h.grid_id = p.area_id"
    )
    roll += _sql(
        select + " JOIN grids_area a ON a.id = p.area_id AND a.kind = 'building'"
        " JOIN grids_area u ON u.parent_id = a.id"
        " JOIN residents_household h ON h.area_id = u.id"
    )
    # The ballots: each voted household's choice, written without it, in random order.
    choice = "(hashtext('choice:' || r.proposal_id || ':' || r.household_id) & 1023)"
    ballots = _sql(
        "INSERT INTO deliberation_ballot (id, proposal_id, choice, receipt_hash)"
        " SELECT gen_random_uuid(), c.proposal_id, c.choice,"
        "  encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex') FROM ("
        "  SELECT r.proposal_id,"
        f"   CASE WHEN {choice} < s.favour * 1024 / 1000 THEN 'for'"
        f"   WHEN {choice} % 3 = 0 THEN 'abstain' ELSE 'against' END AS choice"
        "  FROM deliberation_rollentry r JOIN seed_vote s ON s.proposal_id = r.proposal_id"
        "  WHERE r.voted) c ORDER BY random()"
    )
    # Paper ballots handed in at a meeting: recorded by the community, confirmed by the
    # street (a second worker), their choice erased once counted.
    _sql(
        "INSERT INTO deliberation_paperballot (proposal_id, household_id, choice, status,"
        " recorded_by_id, recorded_at, decided_by_id, decided_at)"
        " SELECT r.proposal_id, r.household_id, '', 'confirmed', s.recorder,"
        "  s.opens + interval '2 days', s.decider, s.opens + interval '3 days'"
        " FROM deliberation_rollentry r JOIN seed_vote s ON s.proposal_id = r.proposal_id"
        " WHERE r.how = 'paper' AND s.recorder IS NOT NULL AND s.decider IS NOT NULL"
        "  AND s.recorder <> s.decider"
    )
    # ... and on the open ones, a few still waiting for the second worker.
    _sql(
        "INSERT INTO deliberation_paperballot (proposal_id, household_id, choice, status,"
        " recorded_by_id, recorded_at)"
        " SELECT r.proposal_id, r.household_id, 'for', 'pending', s.recorder, %s"
        " FROM deliberation_rollentry r JOIN seed_vote s ON s.proposal_id = r.proposal_id"
        " WHERE s.state = 'voting' AND NOT r.voted AND s.recorder IS NOT NULL"
        "  AND (hashtext('pending:' || r.household_id) & 1023) < 20",
        [now - dt.timedelta(hours=6)],
    )
    _sql(
        "INSERT INTO deliberation_proposalresult (proposal_id, eligible, voted, votes_for,"
        " votes_against, votes_abstain, threshold_numerator, threshold_denominator, passed,"
        " frozen_at)"
        " SELECT p.id, r.eligible, r.voted, coalesce(b.f, 0), coalesce(b.a, 0),"
        "  coalesce(b.x, 0), p.threshold_numerator, p.threshold_denominator,"
        "  r.eligible > 0 AND coalesce(b.f, 0) * p.threshold_denominator"
        "   > p.threshold_numerator * r.eligible, p.voting_closes_at"
        " FROM deliberation_proposal p JOIN seed_vote s ON s.proposal_id = p.id"
        " JOIN (SELECT proposal_id, count(*) eligible, count(*) FILTER (WHERE voted) voted"
        "  FROM deliberation_rollentry GROUP BY proposal_id) r ON r.proposal_id = p.id"
        " LEFT JOIN (SELECT proposal_id, count(*) FILTER (WHERE choice = 'for') f,"
        "  count(*) FILTER (WHERE choice = 'against') a,"
        "  count(*) FILTER (WHERE choice = 'abstain') x"
        "  FROM deliberation_ballot GROUP BY proposal_id) b ON b.proposal_id = p.id"
        " WHERE s.state = 'closed'"
    )
    _sql(
        "UPDATE deliberation_proposal p SET outcome = CASE WHEN r.passed THEN 'passed'"
        " ELSE 'failed' END FROM deliberation_proposalresult r WHERE r.proposal_id = p.id"
        " AND p.outcome = ''"
    )
    # A passed renovation carries the Yantan cost split and its progress.
    passed = _rows(
        "SELECT p.id, s.recorder, s.closes FROM deliberation_proposal p"
        " JOIN seed_vote s ON s.proposal_id = p.id"
        " WHERE p.outcome = 'passed' AND p.kind = 'renovation' ORDER BY p.id"
    )
    shares = (("public", 40), ("enterprise", 30), ("residents", 20), ("self", 10))
    _copy(
        "deliberation_costshare",
        ("proposal_id", "source", "percent"),
        ((pk, source, percent) for pk, _u, _c in passed for source, percent in shares),
    )
    split = " + ".join(
        f"{label} {percent}%"
        for label, percent in zip(_share_labels(), (40, 30, 20, 10), strict=True)
    )
    progress, events = [], []
    for pk, user, closes in passed:
        events.append((pk, "cost_split", user, split, closes + dt.timedelta(days=2), "", ""))
        for n, text in enumerate(PROGRESS):
            on = closes + dt.timedelta(days=30 * (n + 1))
            if on < now:
                progress.append((pk, on.date(), text, "", "", user, on))
                events.append((pk, "progress", user, text, on, "", ""))
    _copy(
        "deliberation_progressnote",
        ("proposal_id", '"on"', "text", "photo", "photo_kind", "author_id", "created_at"),
        iter(progress),
    )
    _copy(
        "deliberation_proposalevent",
        ("proposal_id", "kind", "actor_id", "note", "at", "from_state", "to_state"),
        iter(events),
    )
    return roll, ballots


def _share_labels() -> list[str]:
    from deliberation.models import CostShare

    with translation.override(settings.LANGUAGE_CODE):
        return [
            str(CostShare.Source(s).label) for s in ("public", "enterprise", "residents", "self")
        ]


# --- points -----------------------------------------------------------------------------------

ENTRY_COLUMNS = (
    "person_id, amount, kind, rule_id, act_key, quantity, reverses_id, item_id, reason,"
    " actor_id, area_id, district_id, street_id, community_id, grid_id, at"
)
REWARDS = (
    ("大米一袋（5公斤）", "超市兑换券", 10, 40),
    ("食用油一桶", "", 15, 30),
    ("上门理发一次", "志愿服务队提供", 5, 60),
    ("家电维修一次", "社区便民服务站", 20, 20),
)
DEEDS = ("帮助独居老人买菜", "参加楼道卫生清理", "劝导文明养犬", "调解邻里纠纷", "参与疫苗接种引导")


def _rule_ids() -> dict[str, tuple[int, int]]:
    return {
        code: (pk, points)
        for pk, code, points in _rows("SELECT id, code, points FROM points_pointrule WHERE active")
    }


def _points(places: Places, householders: dict, now: dt.datetime, progress=None) -> tuple[int, int]:
    """Every award the services make for the acts seeded (each once, by its act key), the
    moral bank's savings and redemptions, and the balances summed from the ledger."""
    rules = _rule_ids()

    def award(rule: str, select: str, params=None) -> int:
        if rule not in rules:
            return 0  # a rule switched off awards nothing
        pk, points = rules[rule]
        count = _sql(
            f"INSERT INTO points_pointentry ({ENTRY_COLUMNS}) {select}",
            [points, pk, *(params or [])],
        )
        if progress is not None:
            progress(f"points for {rule}", count)
        return count

    entries = award(
        "visit_logged",
        "SELECT v.visitor_id, %s::int, 'award', %s, 'visit:' || v.visitor_id || ':'"
        " || v.household_id || ':' || to_char(v.visited_at AT TIME ZONE %s, 'YYYY-MM-DD'),"
        " NULL, NULL, NULL,"
        " '', NULL, h.area_id, h.district_id, h.street_id, h.community_id, h.grid_id,"
        " v.visited_at FROM residents_visit v JOIN residents_household h ON h.id = v.household_id",
        [settings.TIME_ZONE],
    )
    problem = _said("problem #%(id)s", id="{id}")
    head, tail = problem.split("{id}")
    # The one resolve of each seeded problem, by the head at the level that held it (the
    # departments' problems are resolved by the county office's review, with no person).
    entries += award(
        "problem_solved_own_level",
        "SELECT per.id, %s::int, 'award', %s, 'ticket:' || t.id || ':solved:' || t.reopen_count,"
        " NULL, NULL, NULL, %s || t.id || %s, e.actor_id, t.area_id, t.district_id,"
        " t.street_id, t.community_id, t.grid_id, e.at FROM issues_ticketevent e"
        " JOIN issues_ticket t ON t.id = e.ticket_id JOIN grids_person per ON per.user_id ="
        " e.actor_id WHERE e.kind = 'resolve' AND e.level = t.level",
        [head, tail],
    )
    entries += award(
        "rated_satisfied",
        "SELECT per.id, %s::int, 'award', %s,"
        " 'ticket:' || t.id || ':rated:' || r.id || ':' || t.reopen_count, NULL, NULL, NULL,"
        " %s || t.id || %s, NULL, t.area_id, t.district_id, t.street_id, t.community_id,"
        " t.grid_id, r.rated_at FROM issues_ticketreporter r"
        " JOIN issues_ticket t ON t.id = r.ticket_id"
        " JOIN issues_ticketevent e ON e.ticket_id = t.id AND e.kind = 'resolve'"
        "  AND e.actor_id IS NOT NULL"
        " JOIN grids_person per ON per.user_id = e.actor_id WHERE r.rating = 'satisfied'",
        [head, tail],
    )
    # Wishes confirmed: the fulfiller earns wish_fulfilled, the resident wish_confirmed
    # (through the person ``residents.services.resident_person_ensure`` links them to).
    _resident_persons(places, householders, now)
    confirm = (
        " FROM wishes_wish w JOIN wishes_wishevent c ON c.wish_id = w.id"
        " AND c.kind IN ('confirm', 'confirm_late')"
    )
    keys = "w.area_id, w.district_id, w.street_id, w.community_id, w.grid_id, w.confirmed_at"
    entries += award(
        "wish_fulfilled",
        "SELECT w.fulfiller_id, %s::int, 'award', %s, 'wish:' || w.id, NULL, NULL, NULL, '',"
        f" c.actor_id, {keys}{confirm} WHERE w.fulfiller_id IS NOT NULL",
    )
    entries += award(
        "wish_confirmed",
        "SELECT res.person_id, %s::int, 'award', %s, 'wish:' || w.id, NULL, NULL, NULL, '',"
        f" c.actor_id, {keys}{confirm}"
        " JOIN residents_resident res ON res.id = w.resident_id AND res.person_id IS NOT NULL",
    )
    labels = _meeting_labels()
    entries += award(
        "meeting_attended",
        "SELECT a.person_id, %s::int, 'award', %s,"
        " 'meeting:' || m.id || ':person:' || a.person_id, NULL, NULL, NULL,"
        " (%s::jsonb ->> m.level) || ' ' || m.date, a.added_by_id, m.area_id, m.district_id,"
        " m.street_id, m.community_id, m.grid_id, a.added_at"
        " FROM councils_attendance a JOIN councils_meeting m ON m.id = a.meeting_id",
        [labels],
    )
    # Struck off a meeting afterwards: the award reversed (meeting_attendee_remove).
    entries += _sql(
        f"INSERT INTO points_pointentry ({ENTRY_COLUMNS})"
        " SELECT e.person_id, -e.amount, 'reversal', e.rule_id, e.act_key, NULL, e.id, NULL,"
        " a.removed_reason, a.removed_by_id, e.area_id, e.district_id, e.street_id,"
        " e.community_id, e.grid_id, a.removed_at FROM councils_attendance a"
        " JOIN points_pointentry e ON e.act_key = 'meeting:' || a.meeting_id || ':person:'"
        " || a.person_id AND e.kind = 'award' WHERE a.removed_at IS NOT NULL"
    )
    entries += _bank(places, householders, rules, now)
    if progress is not None:
        progress("points saved and redeemed (道德银行)", entries)
    balances = _sql(
        "INSERT INTO points_pointbalance (person_id, balance, earned, area_id, district_id,"
        " street_id, community_id, grid_id, updated_at)"
        " SELECT s.person_id, s.balance, s.earned, home.area_id, home.district_id,"
        "  home.street_id, home.community_id, home.grid_id, s.last"
        " FROM (SELECT person_id, sum(amount) balance,"
        "  sum(amount) FILTER (WHERE kind <> 'redemption') earned, max(at) last"
        "  FROM points_pointentry GROUP BY person_id) s"
        " JOIN LATERAL ("
        "  SELECT h.area_id, h.district_id, h.street_id, h.community_id, h.grid_id"
        "  FROM residents_resident r JOIN residents_household h ON h.id = r.household_id"
        "  WHERE r.person_id = s.person_id"
        "  UNION ALL (SELECT e.area_id, e.district_id, e.street_id, e.community_id, e.grid_id"
        "  FROM points_pointentry e WHERE e.person_id = s.person_id ORDER BY e.at, e.id"
        "  LIMIT 1) LIMIT 1) home ON true"
    )
    return entries, balances


def _meeting_labels() -> str:
    import json

    from councils.rules import Level

    with translation.override(settings.LANGUAGE_CODE):
        return json.dumps({level.value: str(level.label) for level in Level}, ensure_ascii=False)


def _resident_persons(places: Places, householders: dict, now: dt.datetime) -> int:
    """A person for each resident who confirmed a wish or saves points, as
    ``resident_person_ensure`` makes one (the resident's name and mobile), linked to them."""
    savers = _savers(places, householders)
    wanted = {rid for rid, *_rest in savers}
    wanted |= {
        rid
        for (rid,) in _rows(
            "SELECT DISTINCT resident_id FROM wishes_wish WHERE state = 'confirmed'"
            " AND resident_id IS NOT NULL"
        )
    }
    residents = _rows(
        "SELECT id, name, phone FROM residents_resident WHERE person_id IS NULL"
        " AND id = ANY(%s) ORDER BY id",
        [sorted(wanted)],
    )
    taken = {p for (p,) in _rows("SELECT phone FROM grids_person WHERE phone <> ''")}
    before = _max_id("grids_person")
    _copy(
        "grids_person",
        ("name", "phone", "created_at", "password_change_required"),
        ((name, "" if phone in taken else phone, now, False) for _rid, name, phone in residents),
    )
    ids = _ids_after("grids_person", before)
    _sql(
        "UPDATE residents_resident r SET person_id = x.person, updated_at = %s"
        " FROM unnest(%s::int[], %s::int[]) AS x(resident, person) WHERE r.id = x.resident",
        [now, [rid for rid, _n, _p in residents], ids],
    )
    return len(ids)


def _savers(places: Places, householders: dict) -> list[tuple]:
    """Some twenty households a community that save points (道德银行: Yantan's 600 households
    saving 1,300 points): their first householder, with the community and the unit."""
    found = []
    for community, units in sorted(_units_by_community(places).items()):
        picked = sorted(units, key=lambda u: _h("saver", u))[:SAVERS_PER_COMMUNITY]
        for unit in sorted(picked):
            if unit in householders:
                found.append((householders[unit][0], community, unit))
    return found


def _bank(places: Places, householders: dict, rules: dict, now: dt.datetime) -> int:
    """The moral bank: each community's reward items; good deeds registered by its
    secretary for its savers (a good deed, or volunteer hours), their saving entries; and
    each saver who has enough redeeming one item (the stock taken with it)."""
    savers = _savers(places, householders)
    person_of = dict(
        _rows(
            "SELECT id, person_id FROM residents_resident WHERE id = ANY(%s)",
            [[rid for rid, *_r in savers]],
        )
    )
    communities = places.of_kind(*COMMUNITY_KINDS)
    before = _max_id("points_rewarditem")
    _copy(
        "points_rewarditem",
        ("community_id", "name", "description", "cost", "stock", "active", "created_at"),
        (
            (c, name, about, cost, stock, True, now - dt.timedelta(days=DAYS))
            for c in communities
            for name, about, cost, stock in REWARDS
        ),
    )
    item_ids = _ids_after("points_rewarditem", before)
    items = {}
    for n, pk in enumerate(item_ids):
        community = communities[n // len(REWARDS)]
        name, _about, cost, _stock = REWARDS[n % len(REWARDS)]
        items.setdefault(community, []).append((pk, name, cost))
    deeds, plans = [], []
    today = timezone.localdate(now)
    for rid, community, unit in savers:
        person = person_of.get(rid)
        if person is None:
            continue
        secretary = places.user(community)
        for k in range(1 + _h("deeds", rid) % 5):
            h = _h("deed", rid, k)
            done = today - dt.timedelta(days=3 + h % 360)
            hours = (1 + (h >> 12) % 4) if (h >> 10) & 1 else None
            what = DEEDS[(h >> 16) % len(DEEDS)]
            at = timezone.make_aware(dt.datetime.combine(done, dt.time(18)))
            deeds.append((person, unit, *places.keys[unit], what, done, hours, secretary, at))
            plans.append((person, unit, hours, what, secretary, at))
    before = _max_id("points_gooddeed")
    _copy(
        "points_gooddeed",
        (
            "person_id",
            "area_id",
            "district_id",
            "street_id",
            "community_id",
            "grid_id",
            "what",
            "done_on",
            "hours",
            "registered_by_id",
            "created_at",
        ),
        iter(deeds),
    )
    deed_ids = _ids_after("points_gooddeed", before)
    rows, saved, last = [], {}, {}
    for pk, (person, unit, hours, what, secretary, at) in zip(deed_ids, plans, strict=True):
        code = "volunteer_hours" if hours is not None else "good_deed"
        if code not in rules:
            continue
        rule, points = rules[code]
        amount = points * (hours or 1)
        rows.append(
            (
                person,
                amount,
                "saving",
                rule,
                f"deed:{pk}",
                hours,
                None,
                None,
                what[:200],
                secretary,
                unit,
                *places.keys[unit],
                at,
            )
        )
        saved[person] = saved.get(person, 0) + amount
        last[person] = max(last.get(person, at), at)
    redeemed: dict[int, int] = {}
    home = {
        person_of[rid]: (community, unit) for rid, community, unit in savers if rid in person_of
    }
    for person, total in sorted(saved.items()):
        community, unit = home[person]
        affordable = [item for item in items.get(community, []) if item[2] <= total]
        if not affordable or _h("redeem", person) % 3 == 0:
            continue
        pk, name, cost = max(affordable, key=lambda item: item[2])
        at = min(last[person] + dt.timedelta(days=2), now - dt.timedelta(hours=1))
        rows.append(
            (
                person,
                -cost,
                "redemption",
                None,
                "",
                1,
                None,
                pk,
                name,
                places.user(community),
                unit,
                *places.keys[unit],
                at,
            )
        )
        redeemed[pk] = redeemed.get(pk, 0) + 1
    count = _copy("points_pointentry", tuple(ENTRY_COLUMNS.split(", ")), iter(rows))
    _sql(
        "UPDATE points_rewarditem i SET stock = i.stock - x.n"
        " FROM unnest(%s::int[], %s::int[]) AS x(item, n) WHERE i.id = x.item",
        [list(redeemed), list(redeemed.values())],
    )
    return count


# --- checked through the services ---------------------------------------------------------------


class _Rollback(Exception):
    pass


def check(*, sample: int = 20) -> list[str]:
    """Call the services on seeded rows and compare: the same act never awarded twice, the
    ledger summing to every balance, a seeded open wish claimed by a seeded claimer, a
    ballot cast on a seeded open proposal (its receipt checked, a second one refused), a
    closed result the same as a recount, a planned meeting held with seeded attendees,
    every wish step a legal one, every award for a solved problem one the workflow makes.
    Everything the services write here is rolled back. Returns the differences."""
    problems: list[str] = []
    try:
        with transaction.atomic():
            _check_points(problems, sample)
            _check_wishes(problems, sample)
            _check_votes(problems, sample)
            _check_councils(problems, sample)
            raise _Rollback
    except _Rollback:
        pass
    return problems


def ledger_mismatches() -> int:
    """Balances that differ from the sum of their person's ledger, or people with entries
    and no balance: one query (none when the city is right)."""
    return _one(
        "SELECT count(*) FROM (SELECT person_id, sum(amount) s,"
        " sum(amount) FILTER (WHERE kind <> 'redemption') e FROM points_pointentry"
        " GROUP BY person_id) l FULL JOIN points_pointbalance b ON b.person_id = l.person_id"
        " WHERE b.person_id IS NULL OR l.person_id IS NULL OR b.balance <> l.s"
        " OR b.earned <> coalesce(l.e, 0) OR b.balance < 0"
    )


def _check_points(problems: list[str], sample: int) -> None:
    from issues.models import Ticket
    from issues.services.workflow import _solved_at_own_level
    from points.models import PointEntry
    from points.services import points_award

    if ledger_mismatches():
        problems.append(f"{ledger_mismatches()} balances differ from their ledger")
    for entry in (
        PointEntry.objects.filter(kind="award")
        .select_related("rule", "person")
        .order_by("rule_id", "pk")
        .distinct("rule_id")[:sample]
    ):
        again = points_award(
            person=entry.person, rule=entry.rule.code, act_key=entry.act_key, area=entry.area
        )
        if again is not None:
            problems.append(f"{entry.rule.code} {entry.act_key}: awarded twice")
    solved = PointEntry.objects.filter(rule__code="problem_solved_own_level").order_by("pk")
    for entry in solved.select_related("actor")[:sample]:
        ticket = Ticket.objects.select_related("handler_area").get(
            pk=int(entry.act_key.split(":")[1])
        )
        if not _solved_at_own_level(ticket, entry.actor):
            problems.append(f"{entry.act_key}: not solved at the solver's own level")


def _check_wishes(problems: list[str], sample: int) -> None:
    from grids.models import Person
    from wishes import rules as wish_rules
    from wishes.models import Wish, WishEvent
    from wishes.selectors import person_may_claim, wish_counts
    from wishes.services import AlreadyClaimed, wish_claim

    for event in WishEvent.objects.order_by("pk")[: sample * 5]:
        if wish_rules.STEP_TO[event.kind] != event.new_state or (
            event.old_state and event.new_state not in wish_rules.TRANSITIONS[event.old_state]
        ):
            problems.append(
                f"wish step {event.pk}: {event.kind} {event.old_state}→{event.new_state}"
            )
    for wish in Wish.objects.filter(state="claimed").select_related("area", "claimer")[:sample]:
        if not person_may_claim(wish.claimer, wish):
            problems.append(f"wish #{wish.pk}: claimed by someone not near it")
    wish = Wish.objects.filter(state="open").select_related("area").order_by("pk").first()
    if wish is not None:
        building = Area.objects.get(pk=wish.area.parent_id)
        claimer = Person.objects.get(posts__area=building, posts__ended_on__isnull=True)
        claimed = wish_claim(wish=wish, person=claimer, actor=claimer.user)
        if claimed.state != "claimed" or claimed.claimer_id != claimer.pk:
            problems.append(f"wish #{wish.pk}: wish_claim left it {claimed.state}")
        try:
            wish_claim(wish=wish, person=claimer, actor=claimer.user)
            problems.append(f"wish #{wish.pk}: claimed twice")
        except AlreadyClaimed:
            pass
    community = Wish.objects.order_by("pk").values_list("community_id", flat=True).first()
    if community is not None:
        counts = wish_counts(area=Area.objects.get(pk=community))
        if counts.total.get("posted") != Wish.objects.filter(community_id=community).count():
            problems.append(f"community {community}: wish_counts differ from the wishes")


def _check_votes(problems: list[str], sample: int) -> None:
    from deliberation import rules as vote_rules
    from deliberation.models import Ballot, PaperBallot, Proposal, ProposalResult, RollEntry
    from deliberation.services import ProposalError, ballot_cast, eligible_households, receipt_check

    for result in ProposalResult.objects.select_related("proposal")[:sample]:
        proposal = result.proposal
        ballots = Ballot.objects.filter(proposal=proposal)
        roll = RollEntry.objects.filter(proposal=proposal)
        recount = (
            roll.count(),
            roll.filter(voted=True).count(),
            ballots.filter(choice="for").count(),
        )
        if recount != (result.eligible, result.voted, result.votes_for):
            problems.append(f"proposal {proposal.pk}: result {result}, recount {recount}")
        if result.passed != vote_rules.threshold_passes(
            votes_for=result.votes_for, eligible=result.eligible, numerator=2, denominator=3
        ) or proposal.outcome != ("passed" if result.passed else "failed"):
            problems.append(f"proposal {proposal.pk}: outcome {proposal.outcome}")
        if result.eligible != eligible_households(proposal.area).count():
            problems.append(f"proposal {proposal.pk}: roll is not the area's households")
    proposal = Proposal.objects.filter(state="voting").select_related("area").order_by("pk").first()
    if proposal is not None:
        pending = PaperBallot.objects.filter(proposal=proposal, status="pending")
        entry = (
            RollEntry.objects.filter(proposal=proposal, voted=False)
            .exclude(household_id__in=pending.values("household_id"))
            .select_related("household")
            .first()
        )
        if entry is not None:
            code = ballot_cast(proposal=proposal, household=entry.household, choice="for")
            if receipt_check(code=code) != proposal:
                problems.append(f"proposal {proposal.pk}: the receipt does not find its ballot")
            try:
                ballot_cast(proposal=proposal, household=entry.household, choice="against")
                problems.append(f"proposal {proposal.pk}: a household voted twice")
            except ProposalError:
                pass


def _check_councils(problems: list[str], sample: int) -> None:
    from councils.models import Attendance, Meeting
    from councils.selectors import attendance_candidates
    from councils.services import meeting_hold
    from grids.models import Person

    for meeting in (
        Meeting.objects.filter(state="held").select_related("area").order_by("pk")[:sample]
    ):
        allowed = {c.person.pk for c in attendance_candidates(meeting)}
        present = set(
            Attendance.objects.filter(meeting=meeting).values_list("person_id", flat=True)
        )
        if not present or present - allowed:
            problems.append(f"meeting {meeting.pk}: attendees outside its candidates")
    # A planned meeting held on its day (a meeting is held on or after it): one due today,
    # else the next one brought forward to today (the check's transaction is rolled back).
    today = timezone.localdate()
    planned = (
        Meeting.objects.filter(state="planned")
        .select_related("area", "chair")
        .order_by("date", "pk")
        .first()
    )
    if planned is not None and planned.date > today:
        busy = Meeting.objects.filter(area=planned.area, date=today).exclude(state="cancelled")
        if busy.exists():
            planned = None
        else:
            Meeting.objects.filter(pk=planned.pk).update(date=today)
            planned.date = today
    if planned is not None and planned.chair is not None:
        held = Meeting.objects.filter(area=planned.area, state="held").first()
        people = (
            Person.objects.filter(
                pk__in=Attendance.objects.filter(meeting=held).values("person_id")
            )
            if held
            else [planned.chair]
        )
        done = meeting_hold(
            meeting=planned, actor=planned.chair.user, attendees=list(people), minutes="例会纪要"
        )
        from points.models import PointEntry

        earned = PointEntry.objects.filter(act_key__startswith=f"meeting:{done.pk}:").count()
        if done.state != "held" or earned != len(list(people)):
            problems.append(f"meeting {planned.pk}: held with {earned} awards")
