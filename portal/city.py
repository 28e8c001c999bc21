"""A synthetic prefecture city for ``manage.py seed_city`` (and, later, the bench): the size
the portal is designed for (../shared/DOMAIN.md §6), built deterministically.

At ``scale=1``: 10 districts, 100 streets and towns, 1,000 communities and villages, 20,000
grids, 150,000 buildings and 400,000 units; a head on every grid, building and unit (and a
secretary, a street officer and a county officer above them), each with a login; 1.5 million
households and 3 million residents. Every count is multiplied by the scale (at least one of
each).

How each part is written:

- **the tree and the heads** go through the project's own import paths
  (``grids.imports.areas_import`` and ``heads_import``), as an administrator's spreadsheets
  would: the tree is checked and numbered by the same code;
- **logins** for every head: one bulk insert sharing one password hash (hashing 600,000
  passwords would take hours and prove nothing);
- **households and residents**: PostgreSQL ``COPY``, with valid ID numbers (check digit,
  real birth date) and mobile numbers from their own ranges.

- **problems** (1 million over two years at scale 1), each with its first reporter (a
  householder of the unit), its events and, once closed, its rating (by the resident, or on
  a return call by the community secretary): ``COPY`` as well, in the shapes
  ``issues.services`` writes them (states, tiers, levels, handlers at the tier's rung,
  deadlines, the version counted per step); half of the problems lifted to a county office
  go to its monthly assignment meeting (交办会), which hands them to one or two of the
  departments (``issues_departmenttask``), who report back and resolve them.

- **engagement** last (``portal.city_engagement``): Party members and volunteers, visits,
  micro-wishes, regular meetings, proposals with their rolls, ballots and results, and the
  points ledger with its balances; ``seed_city --engagement-only`` adds it alone to a city
  built before it.

Nothing here is random at run time: a name, a number, a size comes from the index of the
row through ``_h``, so two runs at one scale build the same city.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.spreadsheets import Table
from grids.imports import areas_import, heads_import
from grids.imports.columns import AREA_COLUMNS, HEAD_COLUMNS, KIND_NAMES, TITLE_NAMES
from grids.models import Area, Person
from grids.rules import AreaKind as K
from grids.rules import PostTitle as T
from issues import rules
from issues.notes import Note, department_note, split
from residents.identity import id_check_digit

FULL = {
    K.DISTRICT: 10,
    K.STREET: 100,  # one in four a town
    K.COMMUNITY: 1_000,  # villages under towns
    K.GRID: 20_000,
    K.BUILDING: 150_000,
    K.UNIT: 400_000,
}
HOUSEHOLDS = 1_500_000
TICKETS = 1_000_000
DAYS = 730  # two years of problems
RESIDENTS_PER_HOUSEHOLD = 2
# Phones: heads from 130…, residents from 150… and 180… (11 digits, valid mobiles).
HEAD_PHONES, RESIDENT_PHONES = 130_0000_0000, 150_0000_0000
PASSWORD = "city-demo-2026"  # every seeded login's password (a synthetic city only)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文斌辉鹏宇浩然"

Progress = Callable[[str, int], None]


def _h(*parts) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def name_of(i: int, salt: str = "") -> str:
    h = _h("name", salt, i)
    given = GIVEN[h % len(GIVEN)] + (GIVEN[(h >> 8) % len(GIVEN)] if h >> 16 & 1 else "")
    return SURNAMES[(h >> 20) % len(SURNAMES)] + given


def sizes(scale: float) -> dict[str, int]:
    """How many nodes of each kind (a street's count includes the towns)."""
    if scale <= 0:
        raise ValueError("the scale must be positive")
    return {kind: max(1, round(count * scale)) for kind, count in FULL.items()}


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    kind: str
    parent: str  # parent code, "" for the city


def _owners(children: int, parents: int) -> list[int]:
    """Parent index of each child, in contiguous blocks of uneven size (0.5–1.5 × the mean),
    every parent getting at least one child when there are enough."""
    weights = [0.5 + (_h("w", children, p) % 1000) / 1000 for p in range(parents)]
    total = sum(weights)
    counts = [max(1, int(children * w / total)) for w in weights]
    while sum(counts) > children:
        counts[counts.index(max(counts))] -= 1
    for i in range(children - sum(counts)):
        counts[i % parents] += 1
    return [p for p, count in enumerate(counts) for _ in range(count)]


def tree(scale: float) -> list[Node]:
    """The city's nodes in tree order (parents first)."""
    n = sizes(scale)
    nodes = [Node("C0000001", "滨海市", K.CITY, "")]
    previous = nodes
    for kind in (K.DISTRICT, K.STREET, K.COMMUNITY, K.GRID, K.BUILDING, K.UNIT):
        level, sibling, last = [], 0, None
        for i, owner in enumerate(_owners(n[kind], len(previous))):
            parent = previous[owner]
            sibling = sibling + 1 if owner == last else 1
            last = owner
            actual = kind
            if kind == K.STREET and i % 4 == 3:
                actual = K.TOWN
            if kind == K.COMMUNITY and parent.kind == K.TOWN:
                actual = K.VILLAGE
            level.append(
                Node(
                    f"{actual[:2].upper()}{i + 1:07d}", _name(actual, sibling), actual, parent.code
                )
            )
        nodes += level
        previous = level
    return nodes


def _name(kind: str, n: int) -> str:
    return {
        K.DISTRICT: f"第{n}区",
        K.STREET: f"第{n}街道",
        K.TOWN: f"第{n}镇",
        K.COMMUNITY: f"第{n}社区",
        K.VILLAGE: f"第{n}村",
        K.GRID: f"第{n}网格",
        K.BUILDING: f"{n}栋",
        K.UNIT: f"{n}单元",
    }[kind]


# The head each kind of node gets (one principal each).
HEAD_TITLE = {
    K.DISTRICT: T.COUNTY_OFFICER,
    K.STREET: T.STREET_OFFICER,
    K.TOWN: T.STREET_OFFICER,
    K.COMMUNITY: T.COMMUNITY_SECRETARY,
    K.VILLAGE: T.COMMUNITY_SECRETARY,
    K.GRID: T.GRID_HEAD,
    K.BUILDING: T.BUILDING_HEAD,
    K.UNIT: T.UNIT_HEAD,
}


def _table(columns, rows: list[list[str]]) -> Table:
    return Table(
        headers=[c.label for c in columns],
        rows=[(line, cells) for line, cells in enumerate(rows, start=2)],
        encoding="utf-8",
    )


def area_table(nodes: list[Node]) -> Table:
    label = {kind: names[0] for kind, names in KIND_NAMES.items()}
    rows = [
        [
            node.code,
            node.name,
            label[node.kind],
            node.parent,
            "基础网格" if node.kind == K.GRID else "",
            str(12 + _h("hh", node.code) % 24) if node.kind == K.UNIT else "",
        ]
        for node in nodes
    ]
    assert len(AREA_COLUMNS) == len(rows[0])
    return _table(AREA_COLUMNS, rows)


def head_phone(i: int) -> str:
    return str(HEAD_PHONES + i)


def heads_table(nodes: list[Node]) -> Table:
    label = {title: names[0] for title, names in TITLE_NAMES.items()}
    rows = [
        [
            node.code,
            node.name,
            label[HEAD_TITLE[node.kind]],
            name_of(i, "head"),
            head_phone(i),
            "是",
            "否",
            "2025-01-01",
        ]
        for i, node in enumerate(n for n in nodes if n.kind in HEAD_TITLE)
    ]
    assert len(HEAD_COLUMNS) == len(rows[0])
    return _table(HEAD_COLUMNS, rows)


def id_number(i: int, region: str) -> str:
    """A valid 18-character ID number, unique per ``i`` below 29 million: a birth date from
    1940 on (one day per thousand residents) and the sequence number from ``i``."""
    born = dt.date(1940, 1, 1) + dt.timedelta(days=(i // 1000) % 29_000)
    first17 = f"{region[:6]:0>6}{born:%Y%m%d}{i % 1000:03d}"
    return first17 + id_check_digit(first17)


def _copy(table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> int:
    """``COPY table (columns) FROM STDIN`` in text format, in chunks. Returns the count."""
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def seed(*, scale: float = 1.0, progress: Progress = lambda stage, n: None) -> dict[str, int]:
    """Build the city into an empty database (see the module's docstring). PostgreSQL only."""
    if connection.vendor != "postgresql":
        raise RuntimeError("seed_city writes with COPY: it needs PostgreSQL (set DATABASE_URL)")
    if Area.objects.exists():
        raise RuntimeError("the database already holds areas: seed_city builds into an empty one")
    nodes = tree(scale)
    areas_import(table=area_table(nodes), source="seed_city")
    progress("areas", len(nodes))
    heads = heads_table(nodes)
    heads_import(table=heads, source="seed_city")
    progress("heads", len(heads.rows))
    logins = _logins()
    progress("logins", logins)
    households, residents = _residents(scale)
    progress("households", households)
    progress("residents", residents)
    from issues.demo import reference_load

    reference_load()
    tickets, events = _tickets(scale)
    progress("tickets", tickets)
    progress("events", events)
    from issues.models import DepartmentTask, Meeting
    from portal import city_engagement

    engaged = city_engagement.seed(scale=scale, progress=progress)
    return {
        "tickets": tickets,
        "events": events,
        "meetings": Meeting.objects.count(),
        "departments' parts": DepartmentTask.objects.count(),
        "areas": len(nodes),
        "heads": len(heads.rows),
        "logins": logins,
        "households": households,
        "residents": residents,
        **engaged,
    }


@transaction.atomic
def _logins() -> int:
    """A login for every person holding a post (username = phone), sharing one hash."""
    password = make_password(PASSWORD)
    now = timezone.now()
    people = list(Person.objects.filter(user__isnull=True).values_list("pk", "phone", "name"))
    rows = (
        (password, False, phone, name[:1], name[1:], "", False, True, now)
        for _pk, phone, name in people
    )
    _copy(
        "auth_user",
        (
            "password",
            "is_superuser",
            "username",
            "last_name",
            "first_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ),
        rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE grids_person p SET user_id = u.id FROM auth_user u "
            "WHERE u.username = p.phone AND p.user_id IS NULL"
        )
    return len(people)


@transaction.atomic
def _residents(scale: float) -> tuple[int, int]:
    """Households spread over the units by their estimated size; two residents each, the
    first the householder with a mobile."""
    units = list(Area.objects.filter(kind=K.UNIT).order_by("pk").values_list("pk", "households"))
    target = max(len(units), round(HOUSEHOLDS * scale))
    weight = sum(h for _pk, h in units) or 1
    now = timezone.now()
    plan: list[tuple[int, int]] = []  # (unit pk, households in it)
    left = target
    for i, (pk, estimated) in enumerate(units):
        count = max(1, round(target * estimated / weight)) if i < len(units) - 1 else max(1, left)
        count = min(count, max(1, left - (len(units) - i - 1)))
        plan.append((pk, count))
        left -= count
    chains = _chains()
    keys = ("district", "street", "community", "grid")
    doors = (
        (unit, *(chains[unit][k] for k in keys), f"{1 + d // 2}0{1 + d % 2}", "", False, now, now)
        for unit, count in plan
        for d in range(count)
    )
    households = _copy(
        "residents_household",
        (
            "area_id",
            *(f"{k}_id" for k in keys),
            "door",
            "address",
            "in_online_group",
            "created_at",
            "updated_at",
        ),
        doors,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM residents_household ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]

    def people():
        for k in range(households):
            for member in range(RESIDENTS_PER_HOUSEHOLD):
                i = k * RESIDENTS_PER_HOUSEHOLD + member
                number = id_number(i, "370700")
                phone = str(RESIDENT_PHONES + i) if member == 0 else ""
                yield (
                    ids[k],
                    name_of(i, "resident"),
                    "MF"[i % 2],
                    dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                    number,
                    phone,
                    member == 0,
                    now,
                    now,
                )

    residents = _copy(
        "residents_resident",
        (
            "household_id",
            "name",
            "gender",
            "birth_date",
            "id_number",
            "phone",
            "is_householder",
            "created_at",
            "updated_at",
        ),
        people(),
    )
    return households, residents


# --- problems ------------------------------------------------------------------------------

# Of every 100 problems: 50 simple, 35 complex, 15 hard; and what became of them.
TIERS = ("simple",) * 50 + ("complex",) * 35 + ("hard",) * 15
FATES = (
    ("closed", 84),
    ("declined", 3),
    ("resolved", 4),
    ("in_progress", 5),
    ("assigned", 2),
    ("reported", 2),
)
TIER_DAYS = {"simple": 3, "complex": 7, "hard": 15}
TICKET_COLUMNS = (
    "area_id",
    "district_id",
    "street_id",
    "community_id",
    "grid_id",
    "category_id",
    "channel",
    "description",
    "reporter_id",
    "reporter_name",
    "reporter_phone",
    "state",
    "tier",
    "level",
    "handler_area_id",
    "deadline",
    "on_rectification_list",
    "escalation_count",
    "reopen_count",
    "resolved_level",
    "feedback",
    "rating",
    "rating_comment",
    "rating_source",
    "decline_reason",
    "decline_note",
    "created_at",
    "updated_at",
    "assigned_at",
    "resolved_at",
    "closed_at",
    "version",
)
EVENT_COLUMNS = (
    "ticket_id",
    "kind",
    "old_state",
    "new_state",
    "actor_id",
    "at",
    "note",
    "level",
    "handler_area_id",
    "system_note",
)


def _event_row(ticket_id: int, event: tuple) -> tuple:
    """An event as COPY writes it: a note of the portal's (``issues.notes.Note``) stored as
    its code and arguments, as ``issues.services.workflow`` stores it."""
    kind, old, new, who, at, note, level, area = event
    text, system_note = split(note)
    return (ticket_id, kind, old, new, who, at, text, level, area, json.dumps(system_note))


CHUNK = 50_000
REPORTER_COLUMNS = (
    "ticket_id",
    "reported_as_id",
    "resident_id",
    "name",
    "phone",
    "token",
    "rating",
    "rating_comment",
    "rating_source",
    "rated_at",
    "rating_caller_id",
    "created_at",
)
CHANNELS = ("wechat", "mini_program", "visit", "patrol", "hotline", "walk_in")


def _fate(h: int) -> str:
    roll, total = h % 100, 0
    for fate, share in FATES:
        total += share
        if roll < total:
            return fate
    return "closed"


def _chains() -> dict[int, dict[str, int]]:
    """Unit pk → the pks of its building, grid, community, street and district (from the
    nested sets, one query: every unit's ancestors by range within its street's tree, and
    the street's district through its ``upper`` link)."""
    rows = list(
        Area.objects.exclude(kind__in=(K.CITY, K.DISTRICT)).values_list(
            "pk", "kind", "tree_id", "lft", "upper_id"
        )
    )
    rows.sort(key=lambda r: (r[2], r[3]))
    rung = {
        K.COMMUNITY: "community",
        K.VILLAGE: "community",
        K.GRID: "grid",
        K.BUILDING: "building",
    }
    order = ("district", "street", "community", "grid", "building")
    chains, current = {}, {}
    for pk, kind, _tree, _lft, upper in rows:  # tree order: each node after its ancestors
        if kind == K.UNIT:
            chains[pk] = {**current, "unit": pk}
        elif kind in (K.STREET, K.TOWN):  # the root of its own tree
            current = {"district": upper, "street": pk}
        else:
            level = rung[kind]
            current = {k: v for k, v in current.items() if order.index(k) < order.index(level)}
            current[level] = pk
    return chains


def _holders() -> dict[int, int]:
    """Area pk → the user id of its head (the one principal each node got)."""
    from grids.models import Post

    return dict(
        Post.objects.filter(
            ended_on__isnull=True, is_deputy=False, person__user__isnull=False
        ).values_list("area_id", "person__user_id")
    )


@transaction.atomic
def _tickets(scale: float) -> tuple[int, int]:
    from issues.models import Category, Ticket
    from issues.services.rollups import ticket_days_recount
    from residents.models import Resident

    chains = _chains()
    units = sorted(chains)
    holders = _holders()
    reporters = {}
    for rid, name, phone, unit in (
        Resident.objects.filter(is_householder=True)
        .order_by("pk")
        .values_list("pk", "name", "phone", "household__area_id")
        .iterator(chunk_size=20_000)
    ):
        reporters.setdefault(unit, (rid, name, phone))
    categories = list(
        Category.objects.filter(children__isnull=True)
        .order_by("code")
        .values_list("pk", "name", "default_department_id")
    )
    count = max(1, round(TICKETS * scale))
    now = timezone.now().replace(microsecond=0)
    meetings = _meetings(now, holders)
    events = reporter_rows = 0
    # In chunks, so memory stays flat however big the city: a chunk's problems are written,
    # their ids read back (in the order COPY inserted them), then their events and reporters.
    for first in range(0, count, CHUNK):
        plans = [
            _plan(i, units, chains, holders, reporters, categories, now, meetings)
            for i in range(first, min(count, first + CHUNK))
        ]
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM issues_ticket")
            before = cursor.fetchone()[0]
        _copy("issues_ticket", TICKET_COLUMNS, (p["row"] for p in plans))
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM issues_ticket WHERE id > %s ORDER BY id", [before])
            ids = [row[0] for row in cursor.fetchall()]
        events += _copy(
            "issues_ticketevent",
            EVENT_COLUMNS,
            (_event_row(ids[i], event) for i, p in enumerate(plans) for event in p["events"]),
        )
        reporter_rows += _copy(
            "issues_ticketreporter",
            REPORTER_COLUMNS,
            ((ids[i], ids[i], *p["reporter"]) for i, p in enumerate(plans)),
        )
        _copy(
            "issues_departmenttask",
            TASK_COLUMNS,
            ((ids[i], *task) for i, p in enumerate(plans) for task in p["tasks"]),
        )
    assert reporter_rows == count
    with connection.cursor() as cursor:  # a resident's own rating names their reporter row
        cursor.execute(
            "UPDATE issues_ticketevent e SET reporter_id = r.id FROM issues_ticketreporter r "
            "WHERE e.ticket_id = r.ticket_id AND e.kind = 'rate' AND e.actor_id IS NULL"
        )
    # The day rollups, as the services keep them (one INSERT … SELECT over the problems).
    ticket_days_recount(Ticket.objects.all())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return count, events


TASK_COLUMNS = (
    "ticket_id",
    "meeting_id",
    "department_id",
    "instructions",
    "deadline",
    "status",
    "report",
    "reported_at",
    "reviewed_at",
    "sent_back_count",
    "sent_back_reason",
    "overdue_count",
)


def _meetings(now: dt.datetime, holders: dict[int, int]) -> dict[int, list[CityMeeting]]:
    """Each district's monthly assignment meeting (交办会) over the two years, on the 5th at
    9:00, opened by its county officer, with the departments it assigns to (Guangchang: 12
    departments). District pk → its meetings in date order."""
    from grids.models import Area, Department
    from issues.models import Meeting

    departments = tuple(Department.objects.order_by("code").values_list("pk", "name"))
    if not departments:
        return {}
    first = (now - dt.timedelta(days=DAYS)).date().replace(day=1)
    months = []
    while first <= now.date():
        months.append(first)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    rows = []
    for district in (
        Area.objects.filter(kind=K.DISTRICT).order_by("pk").values_list("pk", flat=True)
    ):
        for month in months:
            at = dt.datetime.combine(month.replace(day=5), dt.time(9), tzinfo=tz)
            if at < now and holders.get(district):
                rows.append(
                    Meeting(
                        title=f"{month:%Y年%-m月}交办会",
                        held_on=at.date(),
                        area_id=district,
                        created_by_id=holders[district],
                        created_at=at,
                    )
                )
    made = Meeting.objects.bulk_create(rows, batch_size=2000)
    meetings: dict[int, list[CityMeeting]] = {}
    for meeting in made:
        at = dt.datetime.combine(meeting.held_on, dt.time(9), tzinfo=tz)
        meetings.setdefault(meeting.area_id, []).append(
            CityMeeting(meeting.pk, meeting.title, at, departments)
        )
    return meetings


def check(*, sample: int = 20) -> list[str]:
    """Compare generated problems with what the services would have written: the route of
    each tier from its place (``issues.services.route``), and every event a legal step
    (``issues.rules.MOVES``). Returns the differences (none when the city is right)."""
    from issues import rules, services
    from issues.models import Ticket, TicketEvent

    problems = []
    assigned = Ticket.objects.exclude(tier="").filter(escalation_count=0).order_by("pk")
    for ticket in assigned.select_related("area")[:sample]:
        found = services.route(ticket.area, rules.start_level(ticket.tier, hard_via_street=True))
        if (found.level, found.area.pk) != (ticket.level, ticket.handler_area_id):
            problems.append(
                f"#{ticket.pk}: routed to {found.level} {found.area.pk}, "
                f"generated {ticket.level} {ticket.handler_area_id}"
            )
    for event in TicketEvent.objects.exclude(kind="report").order_by("pk")[: sample * 8]:
        if rules.next_state(event.old_state, event.kind) != event.new_state:
            problems.append(f"event {event.pk}: {event.kind} {event.old_state}→{event.new_state}")
    # The ancestor keys are what a report would have set, and one street's day rows what
    # a recount of its problems says.
    from grids.selectors import area_keys
    from issues.services.rollups import ticket_days_counted, ticket_days_kept

    for ticket in Ticket.objects.select_related("area").order_by("pk")[:sample]:
        keys = {name: getattr(ticket, name) for name in area_keys(ticket.area)}
        if keys != area_keys(ticket.area):
            problems.append(f"#{ticket.pk}: keys {keys}, its place's {area_keys(ticket.area)}")
    street = Ticket.objects.exclude(street=None).order_by("pk").values("street_id").first()
    if street is not None:
        node = street["street_id"]
        counted = ticket_days_counted(Ticket.objects.filter(street_id=node))
        counted = {k: v for k, v in counted.items() if k[0] == node}
        kept = ticket_days_kept([node])
        if counted != kept:
            problems.append(f"street {node}: day rows differ from a recount")
    # Problems at a meeting: as meeting_assign and department_report leave them, a part for
    # each department named, open parts only while in hand, every step in order.
    from issues.models import DepartmentTask

    assigned = DepartmentTask.objects.filter(ticket=OuterRef("pk"))
    at_meetings = Ticket.objects.filter(Exists(assigned))
    for ticket in at_meetings.prefetch_related("tasks", "events").order_by("pk")[:sample]:
        parts = list(ticket.tasks.all())
        open_parts = [p for p in parts if p.status == DepartmentTask.Status.OPEN]
        steps = [e.kind for e in sorted(ticket.events.all(), key=lambda e: (e.at, e.pk))]
        reports = steps.count("department_report")
        if not parts or "meeting" not in steps:
            problems.append(f"#{ticket.pk}: at the departments without a meeting's parts")
        elif ticket.state in rules.SOLVED_STATES and open_parts:
            problems.append(f"#{ticket.pk}: solved with {len(open_parts)} part(s) open")
        elif ticket.state in rules.SOLVED_STATES and "review" not in steps:
            problems.append(f"#{ticket.pk}: solved with no review of the reports")
        elif reports != len(parts) - len(open_parts):
            problems.append(f"#{ticket.pk}: {reports} reports for {len(parts)} parts")
        elif ticket.version != len(steps):
            problems.append(f"#{ticket.pk}: version {ticket.version}, {len(steps)} steps")
    return problems


def _plan(i, units, chains, holders, reporters, categories, now, meetings=None) -> dict:
    """One problem: its row, its events and its reporter, as the services would write them."""
    h = _h("ticket", i)
    unit = units[h % len(units)]
    chain = chains[unit]
    rid, name, phone = reporters.get(unit, (None, name_of(i, "caller"), str(180_0000_0000 + i)))
    category, category_name, department = categories[(h >> 8) % len(categories)]
    tier = TIERS[(h >> 16) % 100]
    fate = _fate(h >> 24)
    created = now - dt.timedelta(minutes=(h >> 32) % (DAYS * 24 * 60))
    if fate in rules.OPEN_STATES | rules.AWAITING_RATING_STATES:
        created = now - dt.timedelta(minutes=(h >> 32) % (10 * 24 * 60))  # open ones are recent
    level, handler = {
        "simple": ("unit", chain["unit"]),
        "complex": ("grid", chain["grid"]),
        "hard": ("street", chain["street"]),  # hard problems go through the street first
    }[tier]
    lifted = tier == "hard" and bool(h >> 40 & 1)  # half of them lifted to the county office
    actor = holders.get(handler)
    triager = holders.get(chain["grid"])
    events = []
    at = created

    def step(kind, old, new, *, who=None, note="", minutes=60, lvl="", area=None):
        nonlocal at
        at = at + dt.timedelta(minutes=minutes)
        events.append((kind, old, new, who, at, note, lvl, area))

    channel = CHANNELS[(h >> 44) % len(CHANNELS)]
    via = Note("via", {"channel": channel})
    events.append(("report", "", "reported", None, created, via, "", None))
    row = dict.fromkeys(TICKET_COLUMNS, None)
    row.update(
        area_id=unit,
        district_id=chain["district"],
        street_id=chain["street"],
        community_id=chain["community"],
        grid_id=chain["grid"],
        category_id=category,
        channel=CHANNELS[(h >> 44) % len(CHANNELS)],
        description=f"{category_name}：第{i}号反映",
        reporter_id=rid,
        reporter_name=name,
        reporter_phone=phone,
        state=fate,
        tier="",
        level="",
        on_rectification_list=False,
        escalation_count=0,
        reopen_count=0,
        resolved_level="",
        feedback="",
        rating="",
        rating_comment="",
        rating_source="",
        decline_reason="",
        decline_note="",
        created_at=created,
        version=1,
    )
    rating = ("", "", "", None, None)
    if fate == "declined":
        step("decline", "reported", "declined", who=triager, note="不属于本级处理：已告知反映人")
        row.update(decline_reason="not_ours", decline_note="已告知反映人", closed_at=at)
    elif fate != "reported":
        step("assign", "reported", "assigned", who=triager, lvl=level, area=handler)
        if lifted:
            step(
                "escalate",
                "assigned",
                "assigned",
                who=holders.get(chain["street"]),
                note="上提一级",
                minutes=24 * 60,
                lvl="county",
                area=chain["district"],
            )
            level, handler = "county", chain["district"]
            actor = holders.get(handler)
            row.update(escalation_count=1)
        row.update(
            tier=tier,
            level=level,
            handler_area_id=handler,
            assigned_at=at,
            deadline=at + dt.timedelta(days=TIER_DAYS[tier]),
        )
        # Half of the lifted problems go to the county's next monthly assignment meeting
        # (交办会), which hands them to one or two departments.
        meeting = _meeting_for(meetings, chain["district"], at) if lifted and h >> 41 & 1 else None
        # Only when the parts it leads to lie in the past (the generated city ends now).
        room = dt.timedelta(days=25 if fate in rules.SOLVED_STATES else 8)
        if meeting is not None and meeting.at + room < now:
            caller = holders.get(chain["community"])
            return _plan_at_meeting(i, h, row, events, fate, meeting, department, caller)
        if fate != "assigned":
            step(
                "accept", "assigned", "in_progress", who=actor, minutes=120, lvl=level, area=handler
            )
            step(
                "progress",
                "in_progress",
                "in_progress",
                who=actor,
                note="已联系居民，正在处理",
                minutes=24 * 60,
                lvl=level,
                area=handler,
            )
        if fate in rules.SOLVED_STATES:
            step(
                "resolve",
                "in_progress",
                "resolved",
                who=actor,
                note="已处理完毕，已告知居民",
                minutes=24 * 60 * (1 + (h >> 48) % 4),
                lvl=level,
                area=handler,
            )
            row.update(resolved_at=at, resolved_level=level, feedback="已处理完毕，已告知居民")
        if fate == "closed":
            by_call = (h >> 52) % 10 < 3
            value = "basic" if (h >> 56) % 6 == 0 else "satisfied"
            source = "return_call" if by_call else "resident"
            caller = holders.get(chain["community"]) if by_call else None
            note = {"satisfied": "满意", "basic": "基本满意"}[value]
            step(
                "rate",
                "resolved",
                "resolved",
                who=caller,
                note=note,
                minutes=24 * 60,
                lvl=level,
                area=handler,
            )
            step("close", "resolved", "closed", minutes=0, lvl=level, area=handler)
            row.update(rating=value, rating_source=source, closed_at=at)
            rating = (value, "", source, at, caller)
    return _finished(i, row, events, (rid, name, phone), rating, created, at)


def _finished(i, row, events, reporter, rating, created, at, tasks=()) -> dict:
    row.update(updated_at=at, version=len(events))
    token = hashlib.blake2b(f"city-token-{i}".encode(), digest_size=16).hexdigest()
    return {
        "row": tuple(row[c] for c in TICKET_COLUMNS),
        "events": events,
        "reporter": (*reporter, token, *rating, created),
        "tasks": list(tasks),
    }


@dataclass(frozen=True)
class CityMeeting:
    pk: int
    title: str
    at: dt.datetime
    departments: tuple[tuple[int, str], ...]


def _meeting_for(meetings, district: int, after: dt.datetime) -> CityMeeting | None:
    """The district's first monthly meeting on or after ``after`` (None past the last)."""
    held = (meetings or {}).get(district, [])
    return next((m for m in held if m.at >= after), None)


INSTRUCTIONS = "按交办会要求限期办结"
REPORTED = "已按交办要求处理完毕"
FEEDBACK = "经县交办办审核，相关部门已按要求处理完毕，问题已解决。"


def _plan_at_meeting(i, h, row, events, fate, meeting, department, caller) -> dict:
    """A lifted problem assigned at ``meeting`` to one or two departments, as
    ``issues.services.meeting_assign`` and ``department_report`` write it: the meeting step
    (level ``department``, the deadline the parts'), then the departments' reports, the last
    one resolving it; open parts while it is in hand."""
    at = meeting.at
    chosen = [d for d in meeting.departments if d[0] == department] or [meeting.departments[0]]
    if h >> 42 & 1:
        other = meeting.departments[(h >> 12) % len(meeting.departments)]
        if other not in chosen:
            chosen.append(other)
    deadline = at + dt.timedelta(days=15)
    county = row["handler_area_id"]

    def step(kind, old, new, when, note="", who=None, level="department"):
        events.append((kind, old, new, who, when, note, level, county))

    step(
        "meeting",
        "assigned",
        "assigned",
        at,
        Note("meeting", {"meeting": meeting.title, "departments": [n for _pk, n in chosen]}),
    )
    row.update(level="department", tier="hard", deadline=deadline, assigned_at=at)
    solved = fate in rules.SOLVED_STATES
    reports = len(chosen) if solved else (1 if fate != "assigned" and len(chosen) > 1 else 0)
    tasks = []
    if fate != "assigned":
        at += dt.timedelta(days=1)
        step("accept", "assigned", "in_progress", at)
    for n, (pk, name) in enumerate(chosen):
        done = n < reports
        if done:
            at += dt.timedelta(days=2 + (h >> (50 + n)) % 5)
            step(
                "department_report",
                "in_progress",
                "in_progress",
                at,
                department_note(name, REPORTED),
            )
        # reported parts wait for the county office's review; accepted, they are done
        status, report = (("done" if solved else "reported"), REPORTED) if done else ("open", "")
        tasks.append([meeting.pk, pk, INSTRUCTIONS, deadline, status, report, at if done else None])
    reviewed = at + dt.timedelta(days=1) if solved else None
    tasks = [(*task, reviewed if task[4] == "done" else None, 0, "", 0) for task in tasks]
    rating = ("", "", "", None, None)
    if solved:
        # Every part reported: back with the county office, which accepts the reports and
        # tells the reporter in its own words (issues.services.ticket_review).
        at += dt.timedelta(days=1)
        accepted = Note("reports_accepted", {"departments": [n for _pk, n in chosen]})
        step("review", "in_progress", "in_progress", at, accepted, level="county")
        row.update(level="county")
        step("resolve", "in_progress", "resolved", at, FEEDBACK, level="county")
        row.update(resolved_at=at, resolved_level="department", feedback=FEEDBACK)
    if fate == "closed":
        at += dt.timedelta(days=1)
        step("rate", "resolved", "resolved", at, "满意", who=caller)
        step("close", "resolved", "closed", at)
        row.update(rating="satisfied", rating_source="return_call", closed_at=at)
        rating = ("satisfied", "", "return_call", at, caller)
    return _finished(
        i,
        row,
        events,
        (row["reporter_id"], row["reporter_name"], row["reporter_phone"]),
        rating,
        row["created_at"],
        at,
        tasks,
    )
