"""The shape of the area tree and of the posts on it, held in one place.

Everything that asks "may a grid sit under a village?" or "may a 单元长 hold a post on a
building?" asks here: the model's ``clean()``, the services, the spreadsheet import and the
admin forms.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaKind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District/county")
    STREET = "street", _("Street")
    TOWN = "town", _("Town")
    COMMUNITY = "community", _("Community")
    VILLAGE = "village", _("Village")
    COMPOUND = "compound", _("Compound/zone")
    GRID = "grid", _("Grid")
    BUILDING = "building", _("Building")
    UNIT = "unit", _("Unit")


class GridType(models.TextChoices):
    BASIC = "basic", _("Basic grid")
    DEDICATED = "dedicated", _("Dedicated grid")


class PostTitle(models.TextChoices):
    REGION_HEAD = "region_head", _("Region head")
    ZONE_HEAD = "zone_head", _("Zone head")
    COMMUNITY_SECRETARY = "community_secretary", _("Community Party secretary")
    COMMUNITY_WORKER = "community_worker", _("Community worker")
    STREET_OFFICER = "street_officer", _("Street officer")
    COUNTY_OFFICER = "county_officer", _("County office officer")
    GRID_HEAD = "grid_head", _("Grid head")
    GRID_WORKER = "grid_worker", _("Grid worker")
    BUILDING_HEAD = "building_head", _("Building head")
    UNIT_HEAD = "unit_head", _("Unit head")


K = AreaKind

# Which kinds may sit directly under which. ``None`` means "may be a root".
# A compound (小区/片区) is the optional level between community/village and grid.
ALLOWED_PARENT_KINDS: dict[str, frozenset[str | None]] = {
    K.CITY: frozenset({None}),
    K.DISTRICT: frozenset({None, K.CITY}),
    K.STREET: frozenset({K.DISTRICT}),
    K.TOWN: frozenset({K.DISTRICT}),
    K.COMMUNITY: frozenset({K.STREET, K.TOWN}),
    K.VILLAGE: frozenset({K.TOWN, K.STREET}),
    K.COMPOUND: frozenset({K.COMMUNITY, K.VILLAGE}),
    K.GRID: frozenset({K.COMMUNITY, K.VILLAGE, K.COMPOUND}),
    K.BUILDING: frozenset({K.GRID}),
    K.UNIT: frozenset({K.BUILDING}),
}

# Kinds that start a tree of their own in the nested-set numbering. A street/town is the
# unit of renumbering: adding or moving a node shifts numbers inside one street only (a few
# thousand rows at a city's size), never across its district or the city. The link of such a
# root to the node above it (a street's district, a district's city) is kept in
# ``Area.upper``; moving a street or a district only changes that link.
TREE_ROOT_KINDS: frozenset[str] = frozenset({K.CITY, K.DISTRICT, K.STREET, K.TOWN})
# Kinds whose children are all roots of trees of their own, hung below them through
# ``upper``: a city's districts, a district's streets and towns.
UPPER_KINDS: frozenset[str] = frozenset(
    parent
    for kind in TREE_ROOT_KINDS
    for parent in ALLOWED_PARENT_KINDS[kind]
    if parent is not None
)

# Which titles may be held on which kinds of node.
ALLOWED_TITLE_KINDS: dict[str, frozenset[str]] = {
    PostTitle.REGION_HEAD: frozenset({K.TOWN, K.STREET}),
    PostTitle.ZONE_HEAD: frozenset({K.VILLAGE, K.COMPOUND, K.COMMUNITY}),
    PostTitle.COMMUNITY_SECRETARY: frozenset({K.COMMUNITY, K.VILLAGE}),
    PostTitle.COMMUNITY_WORKER: frozenset({K.COMMUNITY, K.VILLAGE}),
    PostTitle.STREET_OFFICER: frozenset({K.STREET, K.TOWN}),
    PostTitle.COUNTY_OFFICER: frozenset({K.DISTRICT, K.CITY}),
    PostTitle.GRID_HEAD: frozenset({K.GRID}),
    PostTitle.GRID_WORKER: frozenset({K.GRID}),
    PostTitle.BUILDING_HEAD: frozenset({K.BUILDING}),
    PostTitle.UNIT_HEAD: frozenset({K.UNIT}),
}


class PartyOrgKind(models.TextChoices):
    WORKING_COMMITTEE = "working_committee", _("Street Party working committee")
    COMMUNITY_ORG = "community_org", _("Community Party organisation")
    GRID_BRANCH = "grid_branch", _("Grid Party branch")
    GROUP = "group", _("Building/unit Party group")


P = PartyOrgKind

ALLOWED_PARTY_PARENT_KINDS: dict[str, frozenset[str | None]] = {
    P.WORKING_COMMITTEE: frozenset({None}),
    P.COMMUNITY_ORG: frozenset({P.WORKING_COMMITTEE}),
    P.GRID_BRANCH: frozenset({P.COMMUNITY_ORG}),
    P.GROUP: frozenset({P.GRID_BRANCH}),
}

# The area kinds a Party body of each kind is attached to.
ALLOWED_PARTY_AREA_KINDS: dict[str, frozenset[str]] = {
    P.WORKING_COMMITTEE: frozenset({K.STREET, K.TOWN}),
    P.COMMUNITY_ORG: frozenset({K.COMMUNITY, K.VILLAGE, K.COMPOUND}),
    P.GRID_BRANCH: frozenset({K.GRID, K.COMPOUND}),
    P.GROUP: frozenset({K.BUILDING, K.UNIT}),
}


def _labels(kinds) -> str:
    names = [str(AreaKind(k).label) if k else str(_("(no parent)")) for k in kinds]
    return "、".join(sorted(names))


def area_code_error(code: str) -> str:
    """Why a list cannot be narrowed to the area with ``code``: there is none in the user's
    part of the tree (missing or out of scope: the two are not told apart)."""
    return str(_("no area with the code “%(code)s” in your part of the tree")) % {"code": code}


def parent_kind_error(kind: str, parent_kind: str | None) -> str | None:
    """Why ``kind`` may not sit under ``parent_kind`` (None: the node is a root), or None."""
    allowed = ALLOWED_PARENT_KINDS.get(kind)
    if allowed is None:
        return str(_("unknown kind “%(kind)s”")) % {"kind": kind}
    if parent_kind in allowed:
        return None
    child = AreaKind(kind).label
    if parent_kind is None:
        return str(_("a %(child)s needs a parent (one of: %(allowed)s)")) % {
            "child": child,
            "allowed": _labels(k for k in allowed if k),
        }
    return str(_("a %(child)s may not sit under a %(parent)s (allowed: %(allowed)s)")) % {
        "child": child,
        "parent": AreaKind(parent_kind).label,
        "allowed": _labels(allowed),
    }


def grid_type_error(kind: str, grid_type: str | None) -> str | None:
    """Why a node of ``kind`` may not carry ``grid_type``, or None: only grids have one."""
    if grid_type and kind != AreaKind.GRID:
        return str(_("only grids have a grid type"))
    return None


def title_kind_error(title: str, area_kind: str) -> str | None:
    """Why ``title`` may not be held on a node of ``area_kind``, or None."""
    allowed = ALLOWED_TITLE_KINDS.get(title)
    if allowed is None:
        return str(_("unknown title “%(title)s”")) % {"title": title}
    if area_kind in allowed:
        return None
    return str(_("a %(title)s post may not be held on a %(kind)s (allowed: %(allowed)s)")) % {
        "title": PostTitle(title).label,
        "kind": AreaKind(area_kind).label,
        "allowed": _labels(allowed),
    }


def party_org_error(kind: str, parent_kind: str | None, area_kind: str) -> str | None:
    allowed_parents = ALLOWED_PARTY_PARENT_KINDS[kind]
    if parent_kind not in allowed_parents:
        if parent_kind is None:
            return str(_("a %(child)s needs a parent body")) % {"child": PartyOrgKind(kind).label}
        return str(_("a %(child)s may not sit under a %(parent)s")) % {
            "child": PartyOrgKind(kind).label,
            "parent": PartyOrgKind(parent_kind).label,
        }
    if area_kind not in ALLOWED_PARTY_AREA_KINDS[kind]:
        return str(_("a %(child)s may not be attached to a %(area)s (allowed: %(allowed)s)")) % {
            "child": PartyOrgKind(kind).label,
            "area": AreaKind(area_kind).label,
            "allowed": _labels(ALLOWED_PARTY_AREA_KINDS[kind]),
        }
    return None


# Ancestor keys (issue 12): rows that hang off a place (problems) also keep the ids of the
# district, street, community and grid above it — stable ids, unlike the nested-set numbers,
# which shift with every insert. A scope or a dashboard of one district then reads that
# district's rows through one index instead of joining the whole city's areas. Each key
# names the kinds it takes its id from; a place above a level leaves that key empty.
ANCESTOR_KEYS: dict[str, frozenset[str]] = {
    "district": frozenset({K.DISTRICT}),
    "street": frozenset({K.STREET, K.TOWN}),
    "community": frozenset({K.COMMUNITY, K.VILLAGE}),
    "grid": frozenset({K.GRID}),
}
KEY_OF_KIND: dict[str, str] = {kind: key for key, kinds in ANCESTOR_KEYS.items() for kind in kinds}
# How deep each kind sits (the city 0), and each key's level: a node's subtree keeps the
# keys at and below its own depth when it moves, and takes the others from its new place.
KIND_DEPTH: dict[str, int] = {
    K.CITY: 0,
    K.DISTRICT: 1,
    K.STREET: 2,
    K.TOWN: 2,
    K.COMMUNITY: 3,
    K.VILLAGE: 3,
    K.COMPOUND: 4,
    K.GRID: 5,
    K.BUILDING: 6,
    K.UNIT: 7,
}
KEY_DEPTH: dict[str, int] = {key: KIND_DEPTH[min(kinds)] for key, kinds in ANCESTOR_KEYS.items()}


def _longest_chain(kind: str) -> int:
    """How many nodes a chain from ``kind`` up to the top (following a root's ``upper``
    link too) can hold at most."""
    parents = [p for p in ALLOWED_PARENT_KINDS[kind] if p is not None]
    return 1 + max((_longest_chain(p) for p in parents), default=0)


# The most nodes from any node up to the top of the tree, across the ``upper`` links (a
# unit, its building, grid, compound, community, street, district and city: 8): how many
# links a set-based ancestor lookup must follow.
MAX_TREE_DEPTH: int = max(_longest_chain(kind) for kind in ALLOWED_PARENT_KINDS)
