"""The nested-set numbers of every tree an area import touches: a pure function.

Plain data in (the rows of the trees to renumber, where the file puts its rows, the
codes that exist, the next free tree id), plain data out; no database. The import reads the
rows and writes the numbers; how a tree is numbered is decided here alone.

A tree is a street's or a town's (or a lone district's or city's: ``TREE_ROOT_KINDS``).
Every tree that gains, loses or reorders a node is numbered whole, from 1, depth first.
Its existing nodes keep their order; a node the file adds, or moves in from elsewhere, comes
after its old siblings, in code order. A new street (district, city) gets a tree of its own,
new ones in code order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import NamedTuple

from grids.rules import TREE_ROOT_KINDS

# (tree_id, lft, rght, level): plain tuples, as 100,000s of them are made in one import.
Numbers = tuple[int, int, int, int]


class TreeRow(NamedTuple):
    """An existing row of a tree being renumbered, as the database holds it. Any tuple
    in this order will do (``values_list`` rows are passed as they come)."""

    pk: int
    code: str
    kind: str
    parent_pk: int | None
    tree_id: int
    lft: int
    rght: int
    level: int


class Placement(NamedTuple):
    """Where the file puts a row: its kind and its logical parent's code ("" for none; a
    street's district and a district's city count as its parent). Any pair in this order
    will do."""

    kind: str
    parent_code: str


@dataclass
class Numbering:
    """``numbers``: code -> (tree_id, lft, rght, level) of every node that hangs from a root
    of the renumbered trees, new ones included. ``renumbered``: the existing codes whose
    numbers change. ``unreached``: placed codes that hang from no root, because their
    parents form a cycle through existing areas."""

    numbers: dict[str, Numbers] = field(default_factory=dict)
    renumbered: set[str] = field(default_factory=set)
    unreached: list[str] = field(default_factory=list)


class _Node:
    __slots__ = ("code", "kind", "parent", "pk", "order", "old")

    def __init__(self, code: str, kind: str, pk: int | None, order: tuple, old: Numbers | None):
        self.code, self.kind, self.parent = code, kind, None
        self.pk, self.order, self.old = pk, order, old


_ORDER = attrgetter("order")


def number_trees(
    *,
    tree_rows: Iterable[TreeRow],
    placements: Mapping[str, Placement],
    existing_codes: Container[str],
    next_tree_id: int,
) -> Numbering:
    """Number the trees whose rows are ``tree_rows`` (every row of each, in
    ``(tree_id, lft)`` order) once the file's ``placements`` (code -> kind and parent code)
    are applied.

    A placed code in ``existing_codes`` that is not among ``tree_rows`` lives in a tree
    the file does not restructure, and is left out. New roots are numbered from
    ``next_tree_id`` on."""
    nodes = _nodes(tree_rows, placements, existing_codes)
    children: dict[str | None, list[_Node]] = defaultdict(list)
    for node in nodes.values():
        if node.kind in TREE_ROOT_KINDS:
            children[None].append(node)
        elif node.parent in nodes:
            children[node.parent].append(node)
        # else: a parent outside the loaded trees can only be a node we do not reshape

    result = Numbering()
    for root in sorted(children[None], key=_root_order):
        if root.old is not None:
            tree_id = root.old[0]
        else:
            tree_id, next_tree_id = next_tree_id, next_tree_id + 1
        _number_tree(root, tree_id, children, result.numbers)
    for code, node in nodes.items():
        new = result.numbers.get(code)
        if new is None:
            if node.pk is None or code in placements:
                result.unreached.append(code)
        elif node.old is not None and node.old != new:
            result.renumbered.add(code)
    return result


def _nodes(
    tree_rows: Iterable[TreeRow], placements: Mapping[str, Placement], existing_codes
) -> dict[str, _Node]:
    """The nodes of the loaded trees with the file's parents and kinds applied, and a
    node for each new row."""
    nodes: dict[str, _Node] = {}
    code_of: dict[int, str] = {}
    parent_pks: list[tuple[_Node, int | None]] = []
    for pk, code, kind, parent_pk, tree_id, lft, rght, level in tree_rows:
        code_of[pk] = code
        node = nodes[code] = _Node(code, kind, pk, (0, lft), (tree_id, lft, rght, level))
        parent_pks.append((node, parent_pk))
    for node, parent_pk in parent_pks:
        node.parent = code_of.get(parent_pk)
    # The file decides parents (and kinds) of its rows; new children go after old ones.
    for code, (kind, parent_code) in placements.items():
        node = nodes.get(code)
        if node is None:
            if code in existing_codes:
                continue  # lives in a tree this file does not restructure
            node = nodes[code] = _Node(code, kind, None, (1, code), None)
        elif node.parent != (parent_code or None):
            node.order = (1, code)
        node.kind = kind
        node.parent = parent_code or None
    return nodes


def _root_order(root: _Node) -> tuple:
    """Existing roots first, by tree id; then new ones, by code."""
    if root.old is not None:
        return (False, root.old[0], root.code)
    return (True, 0, root.code)


def _number_tree(root: _Node, tree_id: int, children, numbers: dict[str, Numbers]) -> None:
    """Depth first from ``root``, children in their order: lft on the way down, rght up."""
    counter = 0
    stack: list[tuple[_Node, int, int]] = [(root, 0, 0)]  # node, level, lft (0: not yet)
    while stack:
        node, level, lft = stack.pop()
        counter += 1
        if lft:
            numbers[node.code] = (tree_id, lft, counter, level)
            continue
        stack.append((node, level, counter))
        kids = children.get(node.code)
        if kids:
            stack.extend((kid, level + 1, 0) for kid in sorted(kids, key=_ORDER, reverse=True))
