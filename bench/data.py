"""Deterministic area tables in the import format (grids.imports.AREA_COLUMNS).

A city, its districts, streets and towns, communities and villages, grids, buildings and
units, in the proportions of a real city: per 100,000 rows about 5 districts, 60 streets and
towns, 600 communities and villages, 4,800 grids, 28,000 buildings and 66,500 units. Every
kind sits under a kind that ``grids.rules.ALLOWED_PARENT_KINDS`` allows. The rows come out
shuffled with a fixed seed, so children often come before their parents, as in a file
assembled by hand.

This module imports nothing from Django: it only builds lists of strings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SEED = 20_240_601

# Nodes per 100,000 rows at each level below the city; units take whatever is left.
_PER_100K = (
    ("district", 5),
    ("street", 60),
    ("community", 600),
    ("grid", 4_800),
    ("building", 28_000),
)
# The first spreadsheet name of each kind (grids.imports.KIND_NAMES).
KIND_LABELS = {
    "city": "市",
    "district": "区县",
    "street": "街道",
    "town": "乡镇",
    "community": "社区",
    "village": "村",
    "grid": "网格",
    "building": "楼栋",
    "unit": "单元",
}
_PREFIX = {
    "city": "C",
    "district": "D",
    "street": "S",
    "town": "T",
    "community": "M",
    "village": "V",
    "grid": "G",
    "building": "B",
    "unit": "U",
}
BASIC, DEDICATED = "基础网格", "专属网格"


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    kind: str  # an AreaKind value
    parent: str  # parent code, "" for the city
    grid_type: str  # spreadsheet label, "" unless a grid
    households: str  # spreadsheet text, "" when not given

    def cells(self) -> list[str]:
        """The row in AREA_COLUMNS order: 编码, 名称, 类型, 上级编码, 网格类型, 户数."""
        return [
            self.code,
            self.name,
            KIND_LABELS[self.kind],
            self.parent,
            self.grid_type,
            self.households,
        ]


def level_sizes(total: int) -> list[int]:
    """How many nodes each level gets: [city, district, street, community, grid, building,
    unit], summing to ``total``."""
    sizes = [1] + [max(1, round(total * share / 100_000)) for _, share in _PER_100K]
    units = total - sum(sizes)
    if units < sizes[-1]:
        raise ValueError(f"{total} rows are too few for a realistic tree")
    return [*sizes, units]


def _spread(children: int, parents: int, rng: random.Random) -> list[int]:
    """Parent index of each child: contiguous blocks of uneven size (0.5–1.5 × the mean),
    every parent getting at least one child."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(parents)]
    scale = (children - parents) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for i in range(children - sum(counts)):  # the rounding remainder, one each
        counts[i % parents] += 1
    owner: list[int] = []
    for parent, count in enumerate(counts):
        owner += [parent] * count
    return owner


def generate(total: int, seed: int = SEED, tag: str = "") -> list[Node]:
    """``total`` nodes in tree order (parents before children, siblings by code).

    ``tag`` goes into every code so that two tables of one run never share a code.
    """
    rng = random.Random(seed)
    sizes = level_sizes(total)
    nodes: list[Node] = [Node(f"C{tag}0000001", "滨海市", "city", "", "", "")]
    previous = nodes
    for depth, size in enumerate(sizes[1:], start=1):
        owner = _spread(size, len(previous), rng)
        level: list[Node] = []
        sibling = 0
        for i, parent_index in enumerate(owner):
            parent = previous[parent_index]
            sibling = 1 if i == 0 or owner[i - 1] != parent_index else sibling + 1
            kind = _kind(depth, i, parent)
            code = f"{_PREFIX[kind]}{tag}{i + 1:07d}"
            grid_type = ""
            if kind == "grid":
                grid_type = DEDICATED if rng.random() < 0.1 else BASIC
            level.append(
                Node(
                    code=code,
                    name=_name(kind, sibling, parent),
                    kind=kind,
                    parent=parent.code,
                    grid_type=grid_type,
                    households=str(rng.randint(12, 36)) if kind == "unit" else "",
                )
            )
        nodes += level
        previous = level
    return nodes


def _kind(depth: int, index: int, parent: Node) -> str:
    if depth == 1:
        return "district"
    if depth == 2:  # one in four is a town (乡镇), the rest are streets (街道)
        return "town" if index % 4 == 3 else "street"
    if depth == 3:  # towns have villages, streets have communities
        return "village" if parent.kind == "town" else "community"
    return ("grid", "building", "unit")[depth - 4]


def _name(kind: str, n: int, parent: Node) -> str:
    if kind == "district":
        return f"第{n}区"
    if kind == "street":
        return f"{parent.name}第{n}街道"
    if kind == "town":
        return f"{parent.name}第{n}镇"
    if kind == "community":
        return f"第{n}社区"
    if kind == "village":
        return f"第{n}村"
    if kind == "grid":
        return f"{parent.name}第{n}网格"
    if kind == "building":
        return f"{n}号楼"
    return f"{n}单元"


def shuffled_rows(nodes: list[Node], seed: int = SEED) -> list[list[str]]:
    """The rows of ``nodes`` in a fixed random order."""
    rows = [node.cells() for node in nodes]
    random.Random(seed + 1).shuffle(rows)
    return rows
