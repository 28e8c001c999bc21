"""Deterministic demo households and residents for the fictional county of grids/demo_data.py.

Stdlib only (no Django at import time), like grids/demo_data.py, whose area tree it fills:
every unit (单元) of the chosen urban communities gets as many households as the unit's
``households`` estimate, and every household 1-5 residents. ``resident_rows()`` returns them
in the spreadsheet import format of residents/imports/ (RESIDENT_COLUMNS), one dict a
resident, every value a string, so the rows can be written to CSV/XLSX and imported as is.

Everything is invented. In particular:

* ID numbers (公民身份号码, GB 11643) start with 369921, the code of the fictional county (no
  real county has it), then the birth date, a 3-digit sequence (odd for men, even for women)
  and a correct check digit. The sequence's first digit is the community's position among
  the county's communities, so the numbers of two communities never collide and a
  community's rows do not depend on which other communities are generated with it.
* Mobile numbers look valid (``^1[3-9]\\d{9}$``) but use prefixes (134, 147, 173, ...) that
  grids/demo_data.py never hands out, so they cannot collide with the phones of the posts.
  They must never be dialled.

Ages and care tags are as of ``AS_OF`` (a fixed date, so the output never changes).
Run ``python3 residents/demo_data.py`` to print the counts and check the rows.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from functools import cache
from pathlib import Path

if not __package__:
    # Run as a script: import from the project root, and not from residents/ itself (its
    # selectors.py would shadow the standard library module Django's imports need).
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

from grids.demo_data import MOBILE_PREFIXES, SURNAMES, _h, area_rows  # noqa: E402

AS_OF = dt.date(2026, 1, 1)
FIRST_YEAR, LAST_YEAR = 1935, 2022
REGION = "369921"  # city 3699 + county 21, see grids/demo_data.py
DEFAULT_COMMUNITIES = 2

KEYS = (
    "area_code",
    "door",
    "address",
    "in_online_group",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "is_householder",
    "care_tags",
)

# Care tag names, as created by residents/migrations/0002_care_tags.py.
ELDERLY_ALONE = "独居老人"
EMPTY_NEST = "空巢老人"
DISABLED = "残疾人"
LOW_INCOME = "低保户"
EXTREME_HARDSHIP = "特困人员"
VETERAN = "退役军人"
LEFT_BEHIND_CHILD = "留守儿童"
SERIOUS_ILLNESS = "大病患者"
CARE_TAG_NAMES = (
    ELDERLY_ALONE,
    EMPTY_NEST,
    DISABLED,
    LOW_INCOME,
    EXTREME_HARDSHIP,
    VETERAN,
    LEFT_BEHIND_CHILD,
    SERIOUS_ILLNESS,
)

# Household sizes 1-5 in percent; mean 2.63 (urban Jiangxi is about 2.6 persons a household).
SIZE_PERCENT = ((1, 20), (2, 30), (3, 24), (4, 16), (5, 10))
ONLINE_GROUP_PERCENT = 85

# Mobile prefixes for residents: real-looking, but none of them is in MOBILE_PREFIXES.
RESIDENT_PREFIXES = ("134", "147", "173", "175", "178", "183", "184", "195")
assert not set(RESIDENT_PREFIXES) & set(MOBILE_PREFIXES)

# Given-name characters leaning male / female (a few are used for both, as in real life).
MALE_CHARS = (
    "伟明建国军平强文志斌辉海峰林俊杰勇德金生波涛鹏宇晨亮刚忠祥和东新光成永庆根发清浩然远华"
)
FEMALE_CHARS = "芳红英丽玲春燕敏静秀兰荣云霞婷慧雪琴洁萍珍凤梅桂香莲璐颖欣怡思华晨文"

MALE, FEMALE = "男", "女"


class _Rand:
    """A deterministic stream of numbers for one key (one household)."""

    def __init__(self, *key: object) -> None:
        self.key = key
        self.n = 0

    def below(self, n: int) -> int:
        self.n += 1
        return _h(*self.key, self.n) % n

    def between(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1)

    def percent(self, p: float) -> bool:
        return self.below(10_000) < p * 100

    def pick(self, seq):
        return seq[self.below(len(seq))]


def _year(age: int) -> int:
    """Birth year of someone about `age` years old at AS_OF, kept within 1935-2022."""
    return min(max(AS_OF.year - 1 - age, FIRST_YEAR), LAST_YEAR)


class _Member:
    __slots__ = ("gender", "year", "surname", "householder", "left_behind")

    def __init__(self, gender: str, year: int, surname: str) -> None:
        self.gender = gender
        self.year = year
        self.surname = surname
        self.householder = False
        self.left_behind = False


class _Household:
    """The draws that make up one household's members: one random stream, one family name
    (the husband's line: he, his children and his father carry it)."""

    def __init__(self, r: _Rand, size: int) -> None:
        self.r = r
        self.size = size
        self.family = r.pick(SURNAMES)

    def other(self) -> str:
        return self.r.pick(SURNAMES)

    def couple(self, low: int, high: int) -> tuple[_Member, _Member]:
        age = self.r.between(low, high)
        husband = _Member(MALE, _year(age), self.family)
        wife = _Member(FEMALE, _year(age - self.r.between(-1, 5)), self.other())
        return husband, wife

    def headed_couple(self, low: int, high: int) -> tuple[_Member, _Member]:
        """A couple, one of them (more often the husband) the householder."""
        husband, wife = self.couple(low, high)
        (wife if self.r.percent(20) else husband).householder = True
        return husband, wife

    def children(self, mother: _Member, count: int, max_age: int = 99) -> list[_Member]:
        r = self.r
        year = min(mother.year + r.between(22, 34), LAST_YEAR)
        year = max(year, _year(max_age))
        kids = []
        for _ in range(count):
            surname = mother.surname if r.percent(6) else self.family
            kids.append(_Member(r.pick((MALE, FEMALE)), min(year, LAST_YEAR), surname))
            year += r.between(1, 6)
        return kids

    def grandparents(self, parent: _Member, both: bool) -> list[_Member]:
        """The husband's parents (or one of them): grandfather keeps the family surname."""
        r = self.r
        year = max(parent.year - r.between(23, 33), FIRST_YEAR)
        grandfather = _Member(MALE, year, self.family)
        grandmother = _Member(FEMALE, min(year + r.between(0, 4), LAST_YEAR), self.other())
        if both:
            return [grandfather, grandmother]
        return [grandmother if r.percent(60) else grandfather]  # widows outlive widowers

    def left_behind(self, count: int) -> list[_Member]:
        """Grandparents raising grandchildren under 16 whose parents work elsewhere."""
        r = self.r
        old = self.grandparents(_Member(MALE, _year(r.between(33, 45)), self.family), count > 1)
        kids = [
            _Member(r.pick((MALE, FEMALE)), _year(r.between(3, 15)), self.family)
            for _ in range(max(1, self.size - len(old)))
        ]
        for kid in kids:
            kid.left_behind = True
        old[0].householder = True
        return old + kids


def _plan(r: _Rand, size: int) -> list[_Member]:
    """Who lives in a household of `size` persons; exactly one of them is the householder."""
    h = _Household(r, size)
    roll = r.below(100)
    if size == 1:
        members = _one(h)
    elif size == 2:
        members = _two(h, roll)
    elif size == 3:
        members = _three(h, roll)
    elif size == 4:
        members = _four(h, roll)
    else:
        members = _five(h, roll)
    assert len(members) == size and sum(m.householder for m in members) == 1
    return members


def _one(h: _Household) -> list[_Member]:
    r = h.r
    elderly = r.percent(35)
    age = r.between(70, 90) if elderly else r.between(22, 69)
    gender = FEMALE if r.percent(65 if elderly else 45) else MALE
    member = _Member(gender, _year(age), h.family if gender == MALE else h.other())
    member.householder = True
    return [member]


def _two(h: _Household, roll: int) -> list[_Member]:
    if roll < 30:  # an elderly couple
        return list(h.headed_couple(62, 88))
    if roll < 65:  # a young or middle-aged couple
        return list(h.headed_couple(24, 59))
    if roll < 97:
        return _single_parent(h)
    return h.left_behind(1)


def _single_parent(h: _Household) -> list[_Member]:
    """A parent and a child, more often the mother."""
    r = h.r
    parent = _Member(FEMALE, _year(r.between(30, 62)), h.other())
    if r.percent(40):
        parent = _Member(MALE, parent.year - r.between(0, 3), h.family)
        kid = h.children(_Member(FEMALE, parent.year + 2, h.other()), 1)[0]
    else:
        kid = h.children(parent, 1)[0]
    parent.householder = True
    return [parent, kid]


def _three(h: _Household, roll: int) -> list[_Member]:
    if roll < 78:  # a couple and a child
        husband, wife = h.headed_couple(26, 62)
        return [husband, wife, *h.children(wife, 1)]
    if roll < 95:  # a couple and an elderly parent
        husband, wife = h.headed_couple(32, 56)
        return [husband, wife, *h.grandparents(husband, False)]
    return h.left_behind(1)


def _four(h: _Household, roll: int) -> list[_Member]:
    if roll < 62:  # a couple and two children
        husband, wife = h.headed_couple(30, 58)
        return [husband, wife, *h.children(wife, 2)]
    if roll < 95:  # a couple, a child and an elderly parent
        husband, wife = h.headed_couple(30, 55)
        return [husband, wife, *h.children(wife, 1), *h.grandparents(husband, False)]
    return h.left_behind(2)


def _five(h: _Household, roll: int) -> list[_Member]:
    if roll < 70:  # three generations: grandparents, a couple and a child
        husband, wife = h.couple(28, 50)
        old = h.grandparents(husband, True)
        (old[0] if h.r.percent(30) else husband).householder = True
        return [husband, wife, *h.children(wife, 1, max_age=25), *old]
    # a couple, two children and a grandparent
    husband, wife = h.couple(30, 50)
    husband.householder = True
    return [husband, wife, *h.children(wife, 2, max_age=25), *h.grandparents(husband, False)]


def _given(r: _Rand, gender: str) -> str:
    chars = MALE_CHARS if gender == MALE else FEMALE_CHARS
    first = r.pick(chars)
    if r.percent(30):
        return first
    second = r.pick(chars)
    return first + second if second != first else first + r.pick(chars)


def _age(birth: dt.date) -> int:
    return AS_OF.year - birth.year - ((AS_OF.month, AS_OF.day) < (birth.month, birth.day))


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _check_digit(first17: str) -> str:
    """GB 11643 check digit (the same formula as residents.identity.id_check_digit)."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


# ---------------------------------------------------------------------------------------------
# The area tree.


@cache
def _tree() -> tuple[dict[str, tuple[int, str]], dict[str, list[tuple[str, int, str]]]]:
    """(community code -> (position among all communities, name),
    community code -> [(unit code, households, address prefix), ...] in row order)."""
    rows = area_rows()
    by_code = {row["code"]: row for row in rows}
    communities: dict[str, tuple[int, str]] = {}
    for row in rows:
        if row["kind"] == "community":
            communities[row["code"]] = (len(communities), row["name"])
    if len(communities) > 10:
        raise ValueError("the ID sequence scheme holds at most 10 communities")
    units: dict[str, list[tuple[str, int, str]]] = {code: [] for code in communities}
    for row in rows:
        if row["kind"] != "unit":
            continue
        building = by_code[row["parent_code"]]
        grid = by_code[building["parent_code"]]
        community = by_code[grid["parent_code"]]
        if community["kind"] != "community":  # a compound level would sit in between
            community = by_code[community["parent_code"]]
        prefix = community["name"] + building["name"] + row["name"]
        units[community["code"]].append((row["code"], row["households"], prefix))
    return communities, units


def _door(unit: str, households: int, index: int) -> str:
    """Door number of the index-th household: floor + 2-digit room ("101", "102", "201" ...).

    Two flats a floor is usual; tall units (more than 24 households) may have 3 or 4."""
    rooms = 2 if households <= 24 else 2 + _h("rooms per floor", unit) % 3
    return f"{index // rooms + 1}{index % rooms + 1:02d}"


def _size(unit: str, index: int) -> int:
    roll = _h("household size", unit, index) % 100
    for size, percent in SIZE_PERCENT:
        if roll < percent:
            return size
        roll -= percent
    raise AssertionError("SIZE_PERCENT must add up to 100")


def _phone_percent(age: int) -> int:
    if age < 18:
        return 0
    if age < 60:
        return 88
    if age < 75:
        return 75
    return 55


@cache
def _community_rows(code: str) -> tuple[dict[str, str], ...]:
    position, _name = _tree()[0][code]
    community = _Community(position)
    for unit, households, prefix in _tree()[1][code]:
        for index in range(households):
            community.add_household(unit, households, index, prefix)
    if community.phones > 10**7:
        raise ValueError("too many phones for one community")
    return tuple(community.rows)


class _Community:
    """The rows of one community as its households are drawn, with the ID numbers and the
    phones handed out so far."""

    def __init__(self, position: int) -> None:
        self.position = position
        self.rows: list[dict[str, str]] = []
        self.used_ids: set[str] = set()
        self.phones = 0

    def add_household(self, unit: str, households: int, index: int, prefix: str) -> None:
        """The rows of the index-th household of `unit` (of `households`)."""
        r = _Rand("household", unit, index)
        door = _door(unit, households, index)
        size = _size(unit, index)
        members = _plan(r, size)
        online = "是" if _h("online group", unit, index) % 100 < ONLINE_GROUP_PERCENT else "否"
        low_income = r.percent(1.5)
        births = [_birth_date(r, m.year) for m in members]
        ages = [_age(b) for b in births]
        empty_nest = size >= 2 and min(ages) >= 60
        for m, birth, age in zip(members, births, ages, strict=True):
            tags = _care_tags(r, m, age, size=size, low_income=low_income, empty_nest=empty_nest)
            first17 = self._first17(r, m.gender, birth)
            phone = self._phone(r, age)
            self.rows.append(
                {
                    "area_code": unit,
                    "door": door,
                    "address": f"{prefix}{door}室",
                    "in_online_group": online,
                    "name": m.surname + _given(r, m.gender),
                    "gender": m.gender,
                    "birth_date": birth.isoformat(),
                    "id_number": first17 + _check_digit(first17),
                    "phone": phone,
                    "is_householder": "是" if m.householder else "否",
                    "care_tags": "、".join(tags),
                }
            )
        assert len(self.used_ids) == len(self.rows)

    def _first17(self, r: _Rand, gender: str, birth: dt.date) -> str:
        """An ID number without its check digit: region + birth date + sequence (community
        digit, then 2 digits whose parity is the gender); collisions step to the next free one."""
        parity = 1 if gender == MALE else 0
        k = r.below(50) * 2 + parity
        while True:
            first17 = f"{REGION}{birth:%Y%m%d}{self.position}{k:02d}"
            if first17 not in self.used_ids:
                break
            k = (k + 2) % 100
        self.used_ids.add(first17)
        return first17

    def _phone(self, r: _Rand, age: int) -> str:
        """A mobile number for some (by age), "" for the others."""
        if not r.percent(_phone_percent(age)):
            return ""
        # Community digit + a bijection of the counter modulo 10**7: all distinct.
        suffix = (self.phones * 3_162_277 + 1_234_567) % 10**7
        self.phones += 1
        return f"{r.pick(RESIDENT_PREFIXES)}{self.position}{suffix:07d}"


def _birth_date(r: _Rand, year: int) -> dt.date:
    start = dt.date(year, 1, 1)
    days = (dt.date(year + 1, 1, 1) - start).days
    return start + dt.timedelta(days=r.below(days))


def _care_tags(
    r: _Rand, m: _Member, age: int, *, size: int, low_income: bool, empty_nest: bool
) -> list[str]:
    tags = []
    if size == 1 and age >= 70:
        tags.append(ELDERLY_ALONE)
    if empty_nest:
        tags.append(EMPTY_NEST)
    if r.percent(3 if age >= 60 else 1):
        tags.append(DISABLED)
    if low_income:
        tags.append(LOW_INCOME)
    elif size == 1 and age >= 60 and r.percent(8):
        tags.append(EXTREME_HARDSHIP)
    if m.gender == MALE and 25 <= age <= 85 and r.percent(5):
        tags.append(VETERAN)
    if m.left_behind and age < 16:
        tags.append(LEFT_BEHIND_CHILD)
    if age >= 40 and r.percent(1):
        tags.append(SERIOUS_ILLNESS)
    return tags


# ---------------------------------------------------------------------------------------------
# Public API.


def default_communities() -> list[str]:
    """The first two urban communities of area_rows(), in row order."""
    return list(_tree()[0])[:DEFAULT_COMMUNITIES]


def resident_rows(community_codes: list[str] | None = None) -> list[dict]:
    """One dict per resident of every unit of the given urban communities (default: the first
    two), in area-row order, households in door order, the householder's family together.

    Keys (all values strings), as in residents.imports.RESIDENT_COLUMNS: area_code (a unit),
    door, address, in_online_group ("是"/"否"), name, gender ("男"/"女"), birth_date
    (YYYY-MM-DD), id_number, phone ("" for children and some adults), is_householder
    ("是"/"否", exactly one a household), care_tags (tag names joined with "、", or "").
    A community's rows are the same whichever other communities are asked for with it.
    """
    communities = _tree()[0]
    codes = default_communities() if community_codes is None else list(community_codes)
    unknown = [code for code in codes if code not in communities]
    if unknown:
        raise ValueError(f"not urban community codes: {', '.join(unknown)}")
    wanted = set(codes)
    return [dict(row) for code in communities if code in wanted for row in _community_rows(code)]


def summarize(rows: list[dict]) -> dict[str, int]:
    households = {(row["area_code"], row["door"]) for row in rows}
    online = {(row["area_code"], row["door"]) for row in rows if row["in_online_group"] == "是"}
    tags = Counter(tag for row in rows for tag in row["care_tags"].split("、") if tag)
    summary = {
        "units": len({row["area_code"] for row in rows}),
        "households": len(households),
        "households in online group": len(online),
        "residents": len(rows),
        "residents with phone": sum(bool(row["phone"]) for row in rows),
        "residents with care tags": sum(bool(row["care_tags"]) for row in rows),
    }
    summary.update((name, tags[name]) for name in CARE_TAG_NAMES)
    return summary


SUMMARY: dict[str, int] = summarize(resident_rows())

# The demo resident (README, "Residents"): who signs in on the resident pages (/r/) with this
# mobile number. The first resident with a mobile of the unit the demo unit head answers
# for (grids/demo_data.py ``demo_logins``), so the unit head handles their problems.
DEMO_RESIDENT_PHONE = "17505672971"


def demo_resident_row() -> dict:
    """The register row of the demo resident (``DEMO_RESIDENT_PHONE``)."""
    from grids.demo_data import demo_logins

    unit = next(login["area_code"] for login in demo_logins() if login["username"] == "unit_head")
    return next(row for row in resident_rows() if row["area_code"] == unit and row["phone"])


# ---------------------------------------------------------------------------------------------
# Checks (python3 residents/demo_data.py).


def _gb11643_check(first17: str) -> str:
    """Recomputed independently: weight of position i is 2**(17 - i) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def _source_names() -> tuple[set[str], list[str]]:
    """Care tag names of the migration and the import column keys, read without Django."""
    import ast

    root = Path(__file__).resolve().parent
    tree = ast.parse((root / "migrations" / "0002_care_tags.py").read_text(encoding="utf-8"))
    tags = next(
        ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CARE_TAGS"
    )
    tree = ast.parse((root / "imports" / "columns.py").read_text(encoding="utf-8"))
    columns = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RESIDENT_COLUMNS"
    )
    keys = [call.args[0].value for call in columns.elts]
    return {name for _code, name in tags}, keys


def _check(rows: list[dict]) -> None:
    tag_names, keys = _source_names()
    assert set(CARE_TAG_NAMES) == tag_names, tag_names
    assert list(KEYS) == keys, keys
    _check_rows(rows, tag_names)
    households: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        households.setdefault((row["area_code"], row["door"]), []).append(row)
    _check_households(households)
    # Rows of a community do not depend on the others asked for with it.
    second = default_communities()[1]
    alone = resident_rows([second])
    assert alone == [row for row in rows if row["area_code"].startswith(second)]
    # The README names the demo resident's number: it must stay theirs.
    assert demo_resident_row()["phone"] == DEMO_RESIDENT_PHONE, demo_resident_row()


def _check_rows(rows: list[dict], tag_names: set[str]) -> None:
    """Each row on its own, and ID numbers and phones unique (and none a post's phone)."""
    from grids.demo_data import head_rows

    try:  # cross-check with the project's own function when Django is installed
        from residents.identity import id_check_digit
    except ImportError:
        id_check_digit = _gb11643_check

    units = {row["code"] for row in area_rows() if row["kind"] == "unit"}
    head_phones = {h["phone"] for h in head_rows()}
    ids: set[str] = set()
    phones: set[str] = set()
    for row in rows:
        _check_row(row, units, tag_names, id_check_digit)
        assert row["id_number"] not in ids, f"duplicate ID number {row['id_number']}"
        ids.add(row["id_number"])
        if row["phone"]:
            assert row["phone"] not in phones, f"duplicate phone {row['phone']}"
            assert row["phone"] not in head_phones, f"phone of a post {row['phone']}"
            phones.add(row["phone"])


def _check_row(row: dict, units: set[str], tag_names: set[str], id_check_digit) -> None:
    import re

    from grids.demo_data import PHONE_RE

    assert tuple(row) == KEYS and all(isinstance(v, str) for v in row.values()), row
    assert row["area_code"] in units, row
    id_number = row["id_number"]
    assert re.fullmatch(r"369921\d{11}[\dX]", id_number), row
    assert _gb11643_check(id_number[:17]) == id_number[17], row
    assert id_check_digit(id_number[:17]) == id_number[17], row
    birth = dt.date.fromisoformat(row["birth_date"])
    assert FIRST_YEAR <= birth.year <= LAST_YEAR, row
    assert id_number[6:14] == birth.strftime("%Y%m%d"), row
    assert int(id_number[16]) % 2 == (row["gender"] == MALE), row
    assert row["gender"] in (MALE, FEMALE), row
    assert row["in_online_group"] in ("是", "否") and row["is_householder"] in ("是", "否")
    assert 2 <= len(row["name"]) <= 4, row
    if row["phone"]:
        assert PHONE_RE.match(row["phone"]), row
        assert _age(birth) >= 18, row
    tags = [t for t in row["care_tags"].split("、") if t]
    assert len(tags) == len(set(tags)) and set(tags) <= tag_names, row
    if LEFT_BEHIND_CHILD in tags:
        assert _age(birth) < 16, row
    assert row["address"].endswith(row["door"] + "室"), row


def _check_households(households: dict[tuple[str, str], list[dict]]) -> None:
    """Each unit as many households as its estimate; each household 1-5 members, one
    householder, one answer to the online group, one address; the old living alone tagged."""
    unit_households = Counter(code for code, _door in households)
    estimate = {row["code"]: row["households"] for row in area_rows() if row["kind"] == "unit"}
    for unit, count in unit_households.items():
        assert count == estimate[unit], unit
    for (_unit, _door), members in households.items():
        assert 1 <= len(members) <= 5, members
        assert sum(m["is_householder"] == "是" for m in members) == 1, members
        assert len({m["in_online_group"] for m in members}) == 1, members
        assert len({m["address"] for m in members}) == 1, members
        for m in members:
            alone_old = len(members) == 1 and _age(dt.date.fromisoformat(m["birth_date"])) >= 70
            assert (ELDERLY_ALONE in m["care_tags"]) == alone_old, m


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    rows = resident_rows()
    _check(rows)
    names = [_tree()[0][code][1] for code in default_communities()]
    print(f"{'communities':>26}: {'、'.join(names)}")
    for key, value in SUMMARY.items():
        print(f"{key:>26}: {value:,}")
    print(f"{'persons per household':>26}: {SUMMARY['residents'] / SUMMARY['households']:.2f}")
    adults = [r for r in rows if _age(dt.date.fromisoformat(r["birth_date"])) >= 18]
    share = sum(bool(r["phone"]) for r in adults) / len(adults)
    print(f"{'adults with phone':>26}: {share:.0%}")
    head_surname = {
        (r["area_code"], r["door"]): r["name"][0] for r in rows if r["is_householder"] == "是"
    }
    same = sum(r["name"][0] == head_surname[(r["area_code"], r["door"])] for r in rows)
    print(f"{'share householder surname':>26}: {same / len(rows):.0%}")
    print(f"all checks passed in {time.perf_counter() - started:.2f}s (after import)")
