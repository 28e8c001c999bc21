"""Deterministic demo data: a fictional county shaped like Guangchang county (Jiangxi).

The figures come from the case study 《广昌县:党建引领城乡"三长"联动机制提升基层治理效能》
(one of the source articles the project was founded on; see fixtures/README.md):

* urban: 10 communities -> 68 grids, 646 buildings, 1,841 units, 2,555 "三长"
  (网格长 + 楼栋长 + 单元长), each grid covering 300-500 households;
* rural: 11 towns (乡镇), 129 villages, 2,221 grids; 11 大区长 (town Party secretaries),
  129 片区长 (village Party secretaries) and 1,657 persons serving as rural 网格长.

Everything else is invented: 抚阳市 / 莲溪县 and all place and person names are fictional,
and the phone numbers are generated (they look valid but must never be dialled).

Shape of the tree
-----------------
city 抚阳市 -> district 莲溪县 -> 11 towns. As in Guangchang, the 10 urban communities sit in the
county-seat town 莲城镇 (kind "town"; it counts among the 11), which also has a few villages.
community -> grid -> building -> unit; village -> grid (a grid is a 村小组). No street (街道)
and no compound (小区) nodes are generated, but the code scheme leaves room for both.

Unified code scheme (统一编号), digits only, each code = parent code + a fixed-width segment
-----------------------------------------------------------------------------------------
=========== ======= ================================================================
kind        digits  segment values
=========== ======= ================================================================
city        4       "3699": province 36 (Jiangxi) + a city number no real city uses
district    2       "21" -> county code 369921 (GB/T 2260 style, 6 digits)
street/town 3       001-099 street (街道), 100-199 town (镇), 200-399 township (乡),
                    as in the national statistical division codes (统计用区划代码)
community   3       001-199 community (居委会), 200-399 village (村委会), same source
compound    3       901-999 (reserved, not generated)
grid        3       001-899
building    3       the building number (栋号), numbered across its community
unit        2       the unit number (单元号)
=========== ======= ================================================================

Example: 36992110000100100502 = 莲城镇 / first community / 第1网格 / 5栋 / 2单元.
A unit code is at most 4+2+3+3+3+3+3+2 = 23 digits (with a compound level), below the
32-character limit. Codes are unique county-wide: within one parent the segments differ, and
a compound segment (9xx) can never equal a grid segment (001-899), so a grid placed directly
under a community and one placed under a compound can never produce the same digits.

Households are estimated only on grids, buildings and units (grid = sum of its buildings,
building = sum of its units); the other levels carry 0 so summing a column never double-counts.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

KINDS = (
    "city",
    "district",
    "street",
    "town",
    "community",
    "village",
    "compound",
    "grid",
    "building",
    "unit",
)
TITLES = (
    "grid_head",
    "grid_worker",
    "building_head",
    "unit_head",
    "zone_head",
    "region_head",
    "community_secretary",
)
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")

# ---------------------------------------------------------------------------------------------
# Figures from the Guangchang article.
URBAN_COMMUNITIES = 10
URBAN_GRIDS = 68
URBAN_BUILDINGS = 646
URBAN_UNITS = 1841
URBAN_THREE_HEADS = 2555
TOWNS = 11
VILLAGES = 129
RURAL_GRIDS = 2221
RURAL_GRID_HEAD_PERSONS = 1657

# ---------------------------------------------------------------------------------------------
# Fictional names.
CITY_CODE, CITY_NAME = "3699", "抚阳市"
COUNTY_SEGMENT, COUNTY_NAME = "21", "莲溪县"

# (segment, name); the first one is the county seat holding the urban communities.
TOWN_SPECS: tuple[tuple[str, str], ...] = (
    ("100", "莲城镇"),
    ("101", "石门镇"),
    ("102", "枫林镇"),
    ("103", "桐口镇"),
    ("104", "杉坪镇"),
    ("105", "洪田镇"),
    ("200", "龙潭乡"),
    ("201", "高岭乡"),
    ("202", "竹溪乡"),
    ("203", "云峰乡"),
    ("204", "水西乡"),
)
SEAT_TOWN_VILLAGES = 5  # suburban villages of the county seat

COMMUNITY_NAMES = (
    "莲心社区",
    "旴江社区",
    "东门社区",
    "西街社区",
    "南苑社区",
    "北湖社区",
    "文昌社区",
    "新华社区",
    "翠园社区",
    "滨江社区",
)
# Grids per community: uneven, as the old town centre is denser than the new districts.
GRID_COUNTS = (9, 8, 8, 7, 7, 7, 6, 6, 5, 5)
# community index -> dedicated grids (专属网格) appended after its basic grids.
DEDICATED_GRIDS: dict[int, tuple[str, ...]] = {
    1: ("学府网格(专属)",),  # county middle school and teachers' housing
    4: ("医院网格(专属)",),  # county people's hospital
    6: ("工业园网格(专属)",),  # industrial park dormitories
    8: ("机关网格(专属)",),  # government compound
}
# Communities piloting the "双三长" pairing: every grid also gets a deputy grid head.
DOUBLE_HEAD_COMMUNITIES = (2, 5)

VILLAGE_FIRST = (
    "上",
    "下",
    "东",
    "西",
    "南",
    "北",
    "大",
    "小",
    "新",
    "高",
    "石",
    "黄",
    "杨",
    "曾",
    "谢",
    "赖",
    "罗",
    "邱",
    "龙",
    "桥",
    "沙",
    "樟",
    "梅",
    "竹",
    "枫",
    "桃",
    "白",
    "青",
    "长",
    "排",
    "坪",
    "塘",
    "湖",
    "甘",
    "古",
    "双",
    "莲",
    "杉",
)
VILLAGE_SECOND = (
    "坑",
    "坪",
    "坊",
    "源",
    "塘",
    "岭",
    "田",
    "溪",
    "口",
    "背",
    "湖",
    "洲",
    "坳",
    "陂",
    "山",
    "岗",
    "湾",
    "头",
    "埠",
    "寨",
    "港",
    "圳",
    "门",
    "村",
)
VILLAGE_MIDDLE = ("家", "竹", "石", "木", "水", "岭", "枫", "桥")

SURNAMES = (
    "刘刘刘刘李李李王王王张张张陈陈陈黄黄黄曾曾谢谢赖赖邱邱罗罗吴吴胡胡周徐钟廖何杨"
    "揭饶朱邓温赵孙郭彭肖傅熊涂万余江叶汪严袁邹宋龚姚方范"
)
GIVEN_CHARS = (
    "伟芳明华建国军平红英强丽文志斌玲辉海峰林春燕俊杰勇敏静秀兰福荣德金生云霞波涛鹏宇"
    "婷慧晨雪琴洁萍亮刚忠祥和东新光成永庆连根发水清珍凤梅桂香莲璐颖欣怡浩然思远"
)
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)


def _h(*parts: object) -> int:
    """Stable hash of the parts (Python's hash() is salted per process, so it cannot be used)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _weight(*parts: object) -> float:
    """A deterministic weight in [0.5, 1.5) to make distributions uneven."""
    return 0.5 + (_h(*parts) % 1000) / 1000


def _apportion(total: int, weights: list[float], lows: list[int], highs: list[int]) -> list[int]:
    """Split `total` into integers proportional to `weights`, each within [low, high].

    Integer arithmetic on counts (not rounding floats) is what keeps the totals exact.
    """
    if not sum(lows) <= total <= sum(highs):
        raise ValueError(f"cannot split {total} within {sum(lows)}..{sum(highs)}")
    counts = list(lows)
    remaining = total - sum(lows)
    while remaining > 0:
        open_idx = [i for i, c in enumerate(counts) if c < highs[i]]
        weight_sum = sum(weights[i] for i in open_idx)
        shares = {i: remaining * weights[i] / weight_sum for i in open_idx}
        granted = 0
        for i in open_idx:
            add = min(int(shares[i]), highs[i] - counts[i])
            counts[i] += add
            granted += add
        remaining -= granted
        if granted == 0:
            # Only fractions are left: one each to the largest fractions (ties by position).
            for i in sorted(open_idx, key=lambda i: (int(shares[i]) - shares[i], i)):
                if remaining == 0:
                    break
                counts[i] += 1
                remaining -= 1
    return counts


# ---------------------------------------------------------------------------------------------
# Persons.


@dataclass(frozen=True)
class _Person:
    name: str
    phone: str


class _People:
    """Hands out distinct persons: distinct names and distinct phones."""

    def __init__(self) -> None:
        self._count = 0
        self._names: set[str] = set()

    def new(self) -> _Person:
        n = self._count
        self._count += 1
        salt = 0
        while True:
            name = self._name(n, salt)
            if name not in self._names:
                break
            salt += 1
        self._names.add(name)
        # An odd multiplier not divisible by 5 is a bijection modulo 10**8, so every person
        # gets a different 8-digit suffix and therefore a different phone.
        suffix = (n * 73_860_213 + 24_681_357) % 10**8
        prefix = MOBILE_PREFIXES[_h("prefix", n) % len(MOBILE_PREFIXES)]
        return _Person(name, f"{prefix}{suffix:08d}")

    @staticmethod
    def _name(n: int, salt: int) -> str:
        h = _h("person", n, salt)
        surname = SURNAMES[h % len(SURNAMES)]
        h //= len(SURNAMES)
        first = GIVEN_CHARS[h % len(GIVEN_CHARS)]
        h //= len(GIVEN_CHARS)
        if h % 10 < 3:  # about 30% single-character given names, as in that generation
            return surname + first
        h //= 10
        return surname + first + GIVEN_CHARS[h % len(GIVEN_CHARS)]


# ---------------------------------------------------------------------------------------------
# Generation.


@dataclass
class _Data:
    areas: list[dict]
    heads: list[dict]
    demo: dict[str, str]  # demo role -> area code


class _Builder:
    def __init__(self) -> None:
        self.areas: list[dict] = []
        self.heads: list[dict] = []
        self.people = _People()
        self.demo: dict[str, str] = {}

    def area(
        self,
        code: str,
        name: str,
        kind: str,
        parent: str,
        grid_type: str = "",
        households: int = 0,
    ) -> str:
        self.areas.append(
            {
                "code": code,
                "name": name,
                "kind": kind,
                "parent_code": parent,
                "grid_type": grid_type,
                "households": households,
            }
        )
        return code

    def head(
        self,
        code: str,
        title: str,
        person: _Person,
        public: bool = True,
        deputy: bool = False,
    ) -> None:
        self.heads.append(
            {
                "area_code": code,
                "title": title,
                "name": person.name,
                "phone": person.phone,
                "public": public,
                "deputy": deputy,
            }
        )

    # -- top ---------------------------------------------------------------------------------
    def build(self) -> _Data:
        city = self.area(CITY_CODE, CITY_NAME, "city", "")
        county = self.area(CITY_CODE + COUNTY_SEGMENT, COUNTY_NAME, "district", city)
        self.demo["county"] = county
        self.demo["admin"] = city

        other_towns = _apportion(
            VILLAGES - SEAT_TOWN_VILLAGES,
            [_weight("villages", seg) for seg, _ in TOWN_SPECS[1:]],
            [9] * (TOWNS - 1),
            [16] * (TOWNS - 1),
        )
        villages_per_town = [SEAT_TOWN_VILLAGES, *other_towns]
        grids_per_village = _apportion(
            RURAL_GRIDS,
            [_weight("rural grids", i) for i in range(VILLAGES)],
            [6] * VILLAGES,
            [32] * VILLAGES,
        )
        # 2,221 rural grid posts but only 1,657 persons: some village-group leaders head two
        # neighbouring groups. Never more than half the grids of a village can be paired.
        shared_per_village = _apportion(
            RURAL_GRIDS - RURAL_GRID_HEAD_PERSONS,
            [_weight("shared", i) for i in range(VILLAGES)],
            [0] * VILLAGES,
            [g // 2 for g in grids_per_village],
        )
        village_names = _village_names(VILLAGES)

        village_index = 0
        for town_index, (segment, town_name) in enumerate(TOWN_SPECS):
            town = self.area(county + segment, town_name, "town", county)
            self.head(town, "region_head", self.people.new())  # the town Party secretary
            if town_index == 0:
                self.demo["street"] = town
                self.build_urban(town)
            for v in range(villages_per_town[town_index]):
                self.build_village(
                    town,
                    v,
                    village_names[village_index],
                    grids_per_village[village_index],
                    shared_per_village[village_index],
                )
                village_index += 1
        return _Data(self.areas, self.heads, self.demo)

    # -- rural -------------------------------------------------------------------------------
    def build_village(self, town: str, v: int, name: str, grids: int, shared: int) -> None:
        village = self.area(town + f"{200 + v:03d}", name, "village", town)
        self.head(village, "zone_head", self.people.new())  # the village Party secretary
        self.demo.setdefault("village", village)
        # Pair grids (0,1), (2,3) ... for the first `shared` pairs under one person.
        leader: _Person | None = None
        for g in range(grids):
            code = self.area(
                village + f"{g + 1:03d}",
                f"第{g + 1}网格",
                "grid",
                village,
                "basic",
                12 + _h("rural households", village, g) % 29,
            )
            if g % 2 == 1 and g // 2 < shared and leader is not None:
                person = leader
            else:
                person = leader = self.people.new()
            self.head(code, "grid_head", person)

    # -- urban -------------------------------------------------------------------------------
    def build_urban(self, town: str) -> None:
        grid_specs: list[tuple[int, str, str]] = []  # (community index, name, grid type)
        for c, basic_count in enumerate(GRID_COUNTS):
            dedicated = DEDICATED_GRIDS.get(c, ())
            basic = basic_count - len(dedicated)
            grid_specs += [(c, f"第{i + 1}网格", "basic") for i in range(basic)]
            grid_specs += [(c, name, "dedicated") for name in dedicated]
        n = len(grid_specs)

        # Dedicated grids have few, large buildings; basic grids vary with the age of the area.
        buildings = _apportion(
            URBAN_BUILDINGS,
            [
                _weight("buildings", i) * (0.5 if t == "dedicated" else 1.0)
                for i, (_, _, t) in enumerate(grid_specs)
            ],
            [3] * n,
            [20] * n,
        )
        # A grid needs 9-62 units for 300-500 households at 8-36 households per unit; the
        # narrower 14-40 leaves room for the unevenness below.
        units = _apportion(
            URBAN_UNITS,
            [b * _weight("units", i) for i, b in enumerate(buildings)],
            [max(b, 14) for b in buildings],
            [min(6 * b, 40) for b in buildings],
        )

        communities: list[str] = []
        for c, name in enumerate(COMMUNITY_NAMES):
            code = self.area(town + f"{c + 1:03d}", name, "community", town)
            communities.append(code)
            self.head(code, "community_secretary", self.people.new())
        self.demo["community"] = communities[0]
        self.demo["outsider"] = communities[1]

        next_building_no = [1] * len(communities)
        grid_no = [0] * len(communities)
        for i, (c, grid_name, grid_type) in enumerate(grid_specs):
            grid_no[c] += 1
            first_no = next_building_no[c]
            next_building_no[c] += buildings[i]
            self.build_grid(
                communities[c],
                grid_no[c],
                grid_name,
                grid_type,
                list(range(first_no, first_no + buildings[i])),
                units[i],
                c in DOUBLE_HEAD_COMMUNITIES,
            )

    def build_grid(
        self,
        community: str,
        grid_no: int,
        name: str,
        grid_type: str,
        building_numbers: list[int],
        unit_total: int,
        with_deputy: bool,
    ) -> None:
        grid = community + f"{grid_no:03d}"
        unit_counts, households, per_unit = _grid_plan(grid, building_numbers, unit_total)
        grid_row_index = len(self.areas)
        self.area(grid, name, "grid", community, grid_type, households)
        grid_head = self.people.new()
        self.head(grid, "grid_head", grid_head)
        if with_deputy:
            self.head(grid, "grid_head", self.people.new(), public=False, deputy=True)
        is_demo_grid = community == self.demo["community"] and grid_no == 1
        if grid_no == 1:
            # One full-time grid worker per community, posted to its first grid.
            self.head(grid, "grid_worker", self.people.new(), public=False)
        # The demo building is the first one with two units or more, so its head has a team.
        demo_building = -1
        if is_demo_grid:
            self.demo["grid_head"] = grid
            demo_building = next((b for b, k in enumerate(unit_counts) if k >= 2), 0)

        unit_iter = iter(per_unit)
        for b, (number, k) in enumerate(zip(building_numbers, unit_counts, strict=True)):
            # A few grid heads also look after the building they live in.
            doubles = b == 0 and not is_demo_grid and _h("grid head doubles", grid) % 10 == 0
            self.build_building(
                grid,
                number,
                [next(unit_iter) for _ in range(k)],
                grid_head if doubles else None,
                is_demo=b == demo_building,
            )
        assert (
            sum(
                r["households"] for r in self.areas[grid_row_index + 1 :] if r["kind"] == "building"
            )
            == households
        )

    def build_building(
        self,
        grid: str,
        number: int,
        unit_households: list[int],
        grid_head: _Person | None,
        is_demo: bool,
    ) -> None:
        """A building, its units and their heads; `grid_head`, if given, heads the building."""
        building = self.area(grid + f"{number:03d}", f"{number}栋", "building", grid)
        building_row = self.areas[-1]
        building_head = self.people.new()
        if grid_head is not None:
            building_head = grid_head
        self.head(building, "building_head", building_head)
        k = len(unit_households)
        # Some building heads of small buildings also act as head of the first unit.
        doubles = k <= 2 and _h("building head doubles", building) % 8 == 0
        if is_demo:
            doubles = False
            self.demo["building_head"] = building
        for u, households in enumerate(unit_households, start=1):
            unit = self.area(
                building + f"{u:02d}", f"{u}单元", "unit", building, households=households
            )
            building_row["households"] += households
            person = building_head if u == 1 and doubles else self.people.new()
            self.head(unit, "unit_head", person)
            if is_demo and (u == 2 or k == 1):
                self.demo["unit_head"] = unit


def _grid_plan(
    grid: str, building_numbers: list[int], unit_total: int
) -> tuple[list[int], int, list[int]]:
    """(units per building, households of the grid, households per unit in building order)."""
    b_count = len(building_numbers)
    unit_counts = _apportion(
        unit_total,
        [_weight("units per building", grid, b) for b in building_numbers],
        [1] * b_count,
        [6] * b_count,
    )
    households = 320 + _h("grid households", grid) % 161
    # Bigger buildings (more floors) weigh more; a small factor per unit adds noise.
    unit_weights = [
        _weight("floors", grid, b) * (0.8 + (_h("unit", grid, b, u) % 400) / 1000)
        for b, k in zip(building_numbers, unit_counts, strict=True)
        for u in range(k)
    ]
    per_unit = _apportion(households, unit_weights, [8] * unit_total, [36] * unit_total)
    return unit_counts, households, per_unit


def _village_names(count: int) -> list[str]:
    """Distinct village names such as 黄坑村 or 石家坪村, spread over the character lists."""
    names: list[str] = []
    seen: set[str] = set()
    n = 0
    while len(names) < count:
        h = _h("village", n)
        n += 1
        first = VILLAGE_FIRST[h % len(VILLAGE_FIRST)]
        second = VILLAGE_SECOND[(h >> 8) % len(VILLAGE_SECOND)]
        if first == second:
            continue
        if (h >> 16) % 5 == 0:  # one in five gets a three-character name
            name = first + VILLAGE_MIDDLE[(h >> 24) % len(VILLAGE_MIDDLE)] + second + "村"
        elif second == "村":
            name = first + second
        else:
            name = first + second + "村"
        if name.count("村") > 1 or name in seen:
            continue
        seen.add(name)
        names.append(name)
    return names


@cache
def _data() -> _Data:
    return _Builder().build()


# ---------------------------------------------------------------------------------------------
# Public API. Every call returns fresh dicts so callers may mutate them freely.


def area_rows() -> list[dict]:
    """One dict per area node, parents before children.

    Keys: code, name, kind, parent_code ("" for the city), grid_type ("basic"/"dedicated" on
    grids, "" otherwise), households (int; estimated on grids, buildings and units, else 0).
    """
    return [dict(row) for row in _data().areas]


def head_rows() -> list[dict]:
    """One dict per post. Keys: area_code, title, name, phone, public, deputy.

    The same person (same name and phone) may hold several posts.
    """
    return [dict(row) for row in _data().heads]


_DEMO_ROLES: tuple[tuple[str, str, str], ...] = (
    # (username, role label, title of the post whose holder logs in; "" = staff account)
    ("unit_head", "单元长", "unit_head"),
    ("building_head", "楼栋长", "building_head"),
    ("grid_head", "网格长", "grid_head"),
    ("community", "社区书记", "community_secretary"),
    ("outsider", "社区书记(其他社区)", "community_secretary"),
    ("village", "片区长(村党组织书记)", "zone_head"),
    ("street", "乡镇(街道)干部", ""),
    ("county", "县城乡“三长”办", ""),
    ("admin", "系统管理员", ""),
)


def demo_logins() -> list[dict]:
    """One demo login per role: username, role, phone, area_code, title.

    The unit, building and grid heads and the community secretary all work in the first urban
    community (the unit inside the building inside the grid); "outsider" is the secretary of
    another community. Street, county and admin accounts are staff accounts, not posts: their
    phone and title are "".
    """
    data = _data()
    logins = []
    for username, role, title in _DEMO_ROLES:
        area_code = data.demo[username]
        phone = ""
        if title:
            phone = next(
                h["phone"]
                for h in data.heads
                if h["area_code"] == area_code and h["title"] == title and not h["deputy"]
            )
        logins.append(
            {
                "username": username,
                "role": role,
                "phone": phone,
                "area_code": area_code,
                "title": title,
            }
        )
    return logins


def _summary() -> dict[str, int]:
    areas = _data().areas
    heads = _data().heads
    kind_of = {row["code"]: row["kind"] for row in areas}
    summary: dict[str, int] = dict.fromkeys(KINDS, 0)
    summary.update(Counter(row["kind"] for row in areas))
    grids = [row for row in areas if row["kind"] == "grid"]
    summary["urban_grids"] = sum(kind_of[g["parent_code"]] == "community" for g in grids)
    summary["rural_grids"] = sum(kind_of[g["parent_code"]] == "village" for g in grids)
    summary["dedicated_grids"] = sum(g["grid_type"] == "dedicated" for g in grids)
    summary["heads"] = len(heads)
    summary["urban_three_heads"] = sum(
        1
        for h in heads
        if not h["deputy"]
        and (
            h["title"] in ("building_head", "unit_head")
            or (h["title"] == "grid_head" and kind_of[_parent(h["area_code"])] == "community")
        )
    )
    summary["rural_grid_head_persons"] = len(
        {
            h["phone"]
            for h in heads
            if h["title"] == "grid_head" and kind_of[_parent(h["area_code"])] == "village"
        }
    )
    summary["persons"] = len({h["phone"] for h in heads})
    summary["households"] = sum(row["households"] for row in areas if row["kind"] == "grid")
    return summary


@cache
def _parents() -> dict[str, str]:
    return {row["code"]: row["parent_code"] for row in _data().areas}


def _parent(code: str) -> str:
    return _parents()[code]


SUMMARY: dict[str, int] = _summary()


def _check() -> None:
    _check_summary(SUMMARY)
    seen = _check_area_rows(area_rows())
    heads = head_rows()
    _check_heads(heads, seen)
    _check_logins(demo_logins(), heads, seen)


def _check_summary(s: dict[str, int]) -> None:
    assert s["community"] == URBAN_COMMUNITIES, s
    assert s["urban_grids"] == URBAN_GRIDS, s
    assert s["building"] == URBAN_BUILDINGS, s
    assert s["unit"] == URBAN_UNITS, s
    assert s["town"] == TOWNS, s
    assert s["village"] == VILLAGES, s
    assert s["rural_grids"] == RURAL_GRIDS, s
    assert s["urban_three_heads"] == URBAN_THREE_HEADS, s
    assert s["rural_grid_head_persons"] == RURAL_GRID_HEAD_PERSONS, s


def _check_area_rows(areas: list[dict]) -> dict[str, dict]:
    """Each row, parents before children, then the tree; the rows by code."""
    seen: dict[str, dict] = {}
    for row in areas:
        assert set(row) == {"code", "name", "kind", "parent_code", "grid_type", "households"}
        code = row["code"]
        assert code.isdigit() and len(code) <= 32, code
        assert code not in seen, f"duplicate code {code}"
        assert row["kind"] in KINDS, row
        assert (row["grid_type"] in ("basic", "dedicated")) == (row["kind"] == "grid"), row
        if row["parent_code"]:
            assert row["parent_code"] in seen, f"parent of {code} missing or after it"
            assert code.startswith(row["parent_code"]), code
        else:
            assert row["kind"] == "city", row
        seen[code] = row
    _check_children(areas, seen)
    return seen


def _check_children(areas: list[dict], seen: dict[str, dict]) -> None:
    """Distinct names among siblings; households of units, buildings and urban grids."""
    children: dict[str, list[dict]] = {}
    for row in areas:
        children.setdefault(row["parent_code"], []).append(row)
    for row in areas:
        kids = children.get(row["code"], [])
        names = [k["name"] for k in kids]
        assert len(names) == len(set(names)), f"duplicate names under {row['code']}"
        if row["kind"] == "unit":
            assert 8 <= row["households"] <= 36, row
        elif row["kind"] == "building":
            assert kids and row["households"] == sum(k["households"] for k in kids), row
        elif row["kind"] == "grid" and seen[row["parent_code"]]["kind"] == "community":
            assert kids and 300 <= row["households"] <= 500, row
            assert row["households"] == sum(k["households"] for k in kids), row


def _check_heads(heads: list[dict], seen: dict[str, dict]) -> None:
    """Known titles and areas, valid phones, one name per phone and one phone per name."""
    name_of_phone: dict[str, str] = {}
    phone_of_name: dict[str, str] = {}
    for h in heads:
        assert h["title"] in TITLES, h
        assert h["area_code"] in seen, h
        assert PHONE_RE.match(h["phone"]), h
        assert name_of_phone.setdefault(h["phone"], h["name"]) == h["name"], h
        assert phone_of_name.setdefault(h["name"], h["phone"]) == h["phone"], h


def _check_logins(logins: list[dict], heads: list[dict], seen: dict[str, dict]) -> None:
    """Each demo head a different person holding the post, the heads' areas nested."""
    assert 7 <= len(logins) <= 9
    post_phones = [lg["phone"] for lg in logins if lg["title"]]
    assert len(post_phones) == len(set(post_phones)), "demo heads must be different persons"
    for lg in logins:
        assert lg["area_code"] in seen, lg
        if lg["title"]:
            assert any(
                h["phone"] == lg["phone"]
                and h["title"] == lg["title"]
                and h["area_code"] == lg["area_code"]
                for h in heads
            ), lg
    by_user = {lg["username"]: lg["area_code"] for lg in logins}
    unit = by_user["unit_head"]
    assert _parent(unit) == by_user["building_head"]
    assert _parent(by_user["building_head"]) == by_user["grid_head"]
    assert _parent(by_user["grid_head"]) == by_user["community"]
    assert by_user["outsider"] != by_user["community"]


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    _check()
    for key, value in SUMMARY.items():
        print(f"{key:>24}: {value:,}")
    titles = Counter(h["title"] + (" (deputy)" if h["deputy"] else "") for h in head_rows())
    for title, count in sorted(titles.items()):
        print(f"{'head ' + title:>24}: {count:,}")
    for login in demo_logins():
        print(login)
    print(f"all checks passed in {time.perf_counter() - started:.2f}s (after import)")
