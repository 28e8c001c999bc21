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

Problems, their events, meetings and ratings are not generated yet (left for the next
step of the city-scale work); ``seed_city`` says so when it ends.

Nothing here is random at run time: a name, a number, a size comes from the index of the
row through ``_h``, so two runs at one scale build the same city.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from core.spreadsheets import Table
from grids.imports import areas_import, heads_import
from grids.imports.columns import AREA_COLUMNS, HEAD_COLUMNS, KIND_NAMES, TITLE_NAMES
from grids.models import Area, Person
from grids.rules import AreaKind as K
from grids.rules import PostTitle as T
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
    return {
        "areas": len(nodes),
        "heads": len(heads.rows),
        "logins": logins,
        "households": households,
        "residents": residents,
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
    doors = (
        (unit, f"{1 + d // 2}0{1 + d % 2}", "", False, now, now)
        for unit, count in plan
        for d in range(count)
    )
    households = _copy(
        "residents_household",
        ("area_id", "door", "address", "in_online_group", "created_at", "updated_at"),
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
