"""Reads across the area tree. Each returns a queryset or a value built in a fixed number of
queries, whatever the size of the tree."""

from collections.abc import Iterable
from functools import cached_property
from typing import NamedTuple

from django.db import connection, connections, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from grids import rules
from grids.access import Grant, scope_for
from grids.models import Area, PartyOrg, Post
from grids.rules import AreaKind, PostTitle


def tree_range_q(*, tree_id: int, lft: int, rght: int, prefix: str = "") -> Q:
    """Rows whose area (through ``prefix``) lies in ``lft..rght`` of tree ``tree_id``: a node
    below a city and everything under it. The one place a subtree range is written; callers
    holding an Area use ``area_subtree_q``, which also knows cities."""
    return Q(
        **{
            f"{prefix}tree_id": tree_id,
            f"{prefix}lft__gte": lft,
            f"{prefix}lft__lte": rght,
        }
    )


def area_subtree_q(area: Area, prefix: str = "") -> Q:
    """A filter for ``area`` and everything under it, for any model that points at an Area
    through ``prefix`` (e.g. ``"area__"`` for posts). Any node: a city or a district holds
    its own one-node tree and the trees hung below it (one query for their ids, the first
    time for an instance)."""
    if area.kind in rules.UPPER_KINDS:
        trees = getattr(area, "_subtree_trees", None)
        if trees is None:  # kept on the instance: a job filters many tables by one root
            trees = area._subtree_trees = sorted({area.tree_id, *hung_trees_of([area.pk])[area.pk]})
        return Q(**{f"{prefix}tree_id__in": trees})
    return tree_range_q(tree_id=area.tree_id, lft=area.lft, rght=area.rght, prefix=prefix)


def _holders(area_ids: Iterable[int]) -> QuerySet[Area]:
    """The nodes that trees hang from, below and at ``area_ids``: the nodes themselves and a
    city's districts (the upper links are at most two deep: city, district, street)."""
    ids = sorted(set(area_ids))
    return Area.objects.filter(Q(pk__in=ids) | Q(upper_id__in=ids, kind__in=rules.UPPER_KINDS))


def hung_trees_of(area_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """For each of ``area_ids`` (cities and districts): the ids of the trees hung below it
    through ``Area.upper`` (a district's streets; a city's districts and their streets). One
    query of index lookups on ``upper`` (none without ids). Filters use the ids as a list:
    ``tree_id IN (1, 2, …)`` is an index scan of ``area_tree_lft``, where the same set as a
    subquery beside a range (``OR``) made PostgreSQL scan the city's whole tree (a
    district's grids: 59 ms against 18 ms on the seeded city)."""
    ids = set(area_ids)
    hung: dict[int, set[int]] = {pk: set() for pk in ids}
    if ids:
        rows = Area.objects.filter(upper_id__in=_holders(ids).values("pk")).values_list(
            "upper_id", "upper__upper_id", "tree_id"
        )
        for upper, above, tree_id in rows:
            for holder in (upper, above):
                if holder in hung:
                    hung[holder].add(tree_id)
    return {pk: frozenset(trees) for pk, trees in hung.items()}


def keyed_subtree_q(area: Area, prefix: str = "") -> Q:
    """A filter for ``area`` and everything under it, for a model that keeps its place's
    ancestor keys (``rules.ANCESTOR_KEYS``: ``district``, ``street``, ``community``,
    ``grid``) beside its ``area``: one indexed column instead of a join with the tree. A
    node below the grid level (a building, a unit) or a compound falls back to its range,
    small by nature; a city is its districts (and the city node itself)."""
    key = rules.KEY_OF_KIND.get(area.kind)
    if key is not None:
        return Q(**{f"{prefix}{key}_id": area.pk})
    if area.kind == AreaKind.CITY:
        districts = Area.objects.filter(upper=area).values("pk")
        return Q(**{f"{prefix}area_id": area.pk}) | Q(**{f"{prefix}district_id__in": districts})
    return area_subtree_q(area, f"{prefix}area__")


def area_keys_select(where: str = "") -> str:
    """SQL of ``(area_id, district_id, street_id, community_id, grid_id)`` for every area
    (or those ``where`` keeps, written on ``a1``, the area itself): its ancestor keys found
    by following ``parent_id`` (and a tree root's ``upper_id``) up to the top
    (``rules.MAX_TREE_DEPTH`` links, each a primary-key join), never by a range over the
    nested sets, whose index a range reads from the start of the tree. The same SQL on
    PostgreSQL and SQLite."""
    table = Area._meta.db_table
    depth = rules.MAX_TREE_DEPTH
    joins = "".join(
        f" LEFT JOIN {table} a{i} ON a{i}.id = COALESCE(a{i - 1}.parent_id, a{i - 1}.upper_id)"
        for i in range(2, depth + 1)
    )

    def key(kinds: frozenset[str]) -> str:
        listed = ", ".join(f"'{kind}'" for kind in sorted(kinds))
        whens = " ".join(f"WHEN a{i}.kind IN ({listed}) THEN a{i}.id" for i in range(1, depth + 1))
        return f"CASE {whens} END"

    keys = ", ".join(f"{key(kinds)} AS {name}" for name, kinds in _KEY_KINDS.items())
    return f"SELECT a1.id AS area_id, {keys} FROM {table} a1{joins}" + (
        f" WHERE {where}" if where else ""
    )


def area_keys_fill(table: str) -> None:
    """Set the ancestor keys of every row of ``table`` (a model with ``AncestorKeys`` and
    ``area_id``) from its place, in one ``UPDATE … FROM`` the keys of every area: what the
    migrations that add keys to a filled table run."""
    assignments = ", ".join(f"{name} = k.{name}" for name in _KEY_KINDS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM ({area_keys_select()}) AS k "
            f"WHERE {table}.area_id = k.area_id"
        )


_KEY_KINDS = {f"{key}_id": kinds for key, kinds in rules.ANCESTOR_KEYS.items()}


def area_keys_of(area_ids: Iterable[int]) -> dict[int, dict[str, int | None]]:
    """Area pk → ``{"district_id": …, "street_id": …, "community_id": …, "grid_id": …}``:
    the ids of the nodes of those kinds at or above it (None where there is none). One
    query of primary-key joins (``area_keys_select``) per 500 areas."""
    ids = sorted(set(area_ids))
    keys = {}
    with connection.cursor() as cursor:
        for first in range(0, len(ids), 500):
            batch = ids[first : first + 500]
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(area_keys_select(f"a1.id IN ({marks})"), batch)
            for pk, *values in cursor.fetchall():
                keys[pk] = dict(zip(_KEY_KINDS, values, strict=True))
    return keys


def area_keys(area: Area) -> dict[str, int | None]:
    """The ancestor keys of a row placed at ``area`` (``area_keys_of``). One query."""
    return area_keys_of([area.pk]).get(area.pk) or dict.fromkeys(_KEY_KINDS)


def keys_above(area: Area, keys: dict[str, int | None]) -> dict[str, int | None]:
    """Of ``area``'s ``keys``, those a subtree takes from above ``area``: the levels above
    its kind. The others (its own level and below) are the subtree's own and do not change
    when it moves."""
    depth = rules.KIND_DEPTH[area.kind]
    return {
        f"{key}_id": keys[f"{key}_id"]
        for key in rules.ANCESTOR_KEYS
        if rules.KEY_DEPTH[key] < depth
    }


LINEAGE_BATCH = 500


class PathNode(NamedTuple):
    """A node of a name path as a label reads it (``area_labels``, ``area_paths``): its id,
    name and kind, no model instance."""

    pk: int
    name: str
    kind: str


def _lineage_nodes(area_ids: Iterable[int], columns: list[str]) -> dict[int, tuple]:
    """Node pk → ``(the pk of the node above it, *columns)`` for ``area_ids`` and every node
    above them, each node once however many of the areas it is above: one recursive query of
    primary-key lookups per ``LINEAGE_BATCH`` areas, ``parent_id`` and a tree root's
    ``upper_id`` followed up (at most ``rules.MAX_TREE_DEPTH`` steps; ``UNION`` drops a
    node already met), where a range over the nested sets (django-mptt's
    ``get_ancestors``, an ``OR`` of ranges) reads the tree's index from its start and stops
    at the root of the area's own tree. ``columns`` are the areas' column names."""
    ids = sorted(set(area_ids))
    table = Area._meta.db_table
    up = "COALESCE(a.parent_id, a.upper_id)"
    selected = ", ".join(f"a.{connection.ops.quote_name(column)}" for column in columns)
    names = ", ".join(f"v{i}" for i in range(len(columns)))
    db = Area.objects.all().db
    nodes: dict[int, tuple] = {}
    for first in range(0, len(ids), LINEAGE_BATCH):
        batch = ids[first : first + LINEAGE_BATCH]
        marks = ", ".join(["%s"] * len(batch))
        # The columns ride up with each node: one lookup of a node, not a second to read it.
        with connections[db].cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE up(node_id, above_id, {names}) AS ("
                f" SELECT a.id, {up}, {selected} FROM {table} a WHERE a.id IN ({marks})"
                f" UNION SELECT a.id, {up}, {selected} FROM up"
                f" JOIN {table} a ON a.id = up.above_id)"
                f" SELECT node_id, above_id, {names} FROM up",
                batch,
            )
            for pk, above, *values in cursor.fetchall():
                nodes[pk] = (above, *values)
    return nodes


def _chains_from(area_ids: Iterable[int], above: dict[int, int | None], nodes: dict) -> dict:
    """Area pk → the ``nodes`` from the top down to the area itself, each area's chain
    followed up through ``above`` (node pk → the pk above it). An area missing from
    ``nodes`` has no chain."""
    chains = {}
    for pk in sorted(set(area_ids)):
        chain = []
        node = pk
        while node is not None and node in nodes and len(chain) <= len(nodes):
            chain.append(nodes[node])
            node = above[node]
        if chain:
            chains[pk] = chain[::-1]
    return chains


def area_lineages(area_ids: Iterable[int], *, with_city: bool = False) -> dict[int, list[Area]]:
    """Area pk → its chain from its district down to the area itself (with ``with_city``,
    from the city above), for many areas in one query per ``LINEAGE_BATCH``
    (``_lineage_nodes``), each ancestor one model instance shared by the chains it is in.
    An area missing from the tree has no chain. A label needs only names and kinds:
    ``area_labels`` reads those, without model instances."""
    area_ids = list(area_ids)
    # The tree's and the names' columns, which the database returns as they are stored (the
    # times, which SQLite returns as text, are left deferred: a chain never shows them).
    fields = [f for f in Area._meta.concrete_fields if not isinstance(f, DateTimeField)]
    names = [f.attname for f in fields]
    rows = _lineage_nodes(area_ids, [f.column for f in fields])
    db = Area.objects.all().db
    above = {pk: row[0] for pk, row in rows.items()}
    nodes = {pk: Area.from_db(db, names, row[1:]) for pk, row in rows.items()}
    chains = _chains_from(area_ids, above, nodes)
    if not with_city:
        chains = {
            pk: [node for node in chain if node.kind != AreaKind.CITY or node.pk == pk]
            for pk, chain in chains.items()
        }
    return chains


class MovedNodes:
    """The nodes of one ``grids.signals.areas_moved``, as they are after the move, read
    once for all its receivers (each app has rows of its own to follow them): the areas
    (one query) and the keys each gives its subtree from above (``keys_above``; one query
    per 500 nodes). Six apps asked for both in turn, twelve queries a move."""

    def __init__(self, area_ids: Iterable[int]):
        self.ids = sorted(set(area_ids))

    @cached_property
    def areas(self) -> list[Area]:
        return list(Area.objects.filter(pk__in=self.ids)) if self.ids else []

    @cached_property
    def above(self) -> dict[int, dict[str, int | None]]:
        keys = area_keys_of(self.ids) if self.areas else {}
        return {area.pk: keys_above(area, keys[area.pk]) for area in self.areas}


def keyed_rows_follow_moves(rows: QuerySet, moved: MovedNodes) -> int:
    """After ``moved`` nodes moved: the rows of ``rows`` (a model with ``AncestorKeys``)
    under them take the keys of their new place from above each moved node (those at and
    below its level are the subtree's own). One ``UPDATE`` per new parent — the moved nodes
    under one parent take the same keys — whatever the number of rows. Returns how many
    rows were updated."""
    by_keys: dict[tuple, Q] = {}
    for area in moved.areas:
        above = tuple(sorted(moved.above[area.pk].items()))
        by_keys[above] = by_keys.get(above, Q(pk__in=[])) | keyed_subtree_q(area)
    return sum(rows.filter(q).update(**dict(above)) for above, q in by_keys.items() if above)


def area_subtree(area: Area) -> QuerySet[Area]:
    return Area.objects.filter(area_subtree_q(area)).order_by("tree_id", "lft")


def area_ancestors(area: Area, *, include_self: bool = False) -> list[Area]:
    """From the top (the city, if any) down to ``area``'s parent (or ``area``). One query
    (``area_lineages``)."""
    chain = area_lineages([area.pk], with_city=True).get(area.pk) or [area]
    return chain if include_self else chain[:-1]


def area_children(area: Area) -> QuerySet[Area]:
    """The nodes right under ``area``: a city's districts and a district's streets are roots
    of their own trees, hung below it through ``upper``, in code order."""
    if area.kind in rules.UPPER_KINDS:
        return Area.objects.filter(upper=area).order_by("code")
    return Area.objects.filter(parent=area).order_by("tree_id", "lft")


def current_posts(area: Area | None = None) -> QuerySet[Post]:
    posts = Post.objects.filter(ended_on__isnull=True).select_related("person", "area")
    if area is not None:
        posts = posts.filter(area=area)
    return posts.order_by("area__tree_id", "area__lft", "title", "is_deputy", "person__name")


# --- the tree browser and the notice boards -----------------------------------------------------

# Nodes that get a public notice board (便民公示牌): the community level and below.
BOARD_KINDS: frozenset[str] = frozenset(
    {
        AreaKind.COMMUNITY,
        AreaKind.VILLAGE,
        AreaKind.COMPOUND,
        AreaKind.GRID,
        AreaKind.BUILDING,
        AreaKind.UNIT,
    }
)
# A board lists the heads from here down to its own node; a picker's name path starts here,
# because "第1网格" or "1栋" alone says nothing until the community is named.
COMMUNITY_KINDS: frozenset[str] = frozenset({AreaKind.COMMUNITY, AreaKind.VILLAGE})
# The order heads are listed in on one node: whoever leads first, workers after.
TITLE_ORDER: tuple[str, ...] = (
    PostTitle.COUNTY_OFFICER,
    PostTitle.REGION_HEAD,
    PostTitle.STREET_OFFICER,
    PostTitle.COMMUNITY_SECRETARY,
    PostTitle.ZONE_HEAD,
    PostTitle.COMMUNITY_WORKER,
    PostTitle.GRID_HEAD,
    PostTitle.GRID_WORKER,
    PostTitle.BUILDING_HEAD,
    PostTitle.UNIT_HEAD,
)
PATH_SEPARATOR = " › "


def _title_rank(post: Post) -> tuple:
    rank = TITLE_ORDER.index(post.title) if post.title in TITLE_ORDER else len(TITLE_ORDER)
    return (rank, post.is_deputy, post.person.name)


def code_lookable(code: str) -> bool:
    """May ``code`` be looked up at all? One holding a NUL character names no place, and
    PostgreSQL refuses it in a query (a server error instead of "no such place")."""
    return bool(code) and "\x00" not in code


def filter_area_for_user(user, code: str, form, field: str = "area") -> Area | None:
    """The node a list is narrowed to by its code, if the user may see it; otherwise None,
    and the form's ``field`` says so (``rules.area_code_error``), for the list to show
    nothing with the reason rather than a 404 page. One query."""
    lookable = code_lookable(code)
    area = Area.objects.filter(scope_for(user).area_q(), code=code).first() if lookable else None
    if code and area is None:
        form.add_error(field, rules.area_code_error(code))
    return area


def get_area_for_user(user, code: str) -> Area:
    """The node with ``code`` if it lies in the user's scope; 404 whether it is missing or
    out of scope (an admin reaches every node). One query."""
    lookable = code_lookable(code)
    area = Area.objects.filter(scope_for(user).area_q(), code=code).first() if lookable else None
    if area is None:
        raise Http404
    return area


def scope_root_for(user, area: Area) -> Grant | None:
    """The widest of the user's grants that holds ``area``: where their view of the tree
    starts. None for an admin (nothing above is hidden) or when no grant holds it."""
    scope = scope_for(user)
    if scope.is_admin:
        return None
    covering = scope.grants_covering(area)
    if not covering:
        return None
    return min(covering, key=grant_width)


def grant_width(grant: Grant) -> tuple[int, int]:
    """How wide a grant is, smallest first: of grants that all hold one node, the one of the
    highest kind (then the one that starts furthest left in a tree) is the widest."""
    return (rules.KIND_DEPTH[grant.kind], grant.lft)


def scope_root_areas(user) -> list[Area]:
    """The top nodes of the user's scope, one per grant that no other grant holds. For an
    admin without posts: the top of the tree (cities and the districts without a city).
    One query after the scope."""
    scope = scope_for(user)
    if scope.is_admin and not scope.grants:
        return list(
            Area.objects.filter(parent__isnull=True, upper__isnull=True)
            .annotate(has_children=has_children_expr())
            .order_by("code")
        )
    tops = [grant.area_id for grant in scope.top_grants()]
    areas = Area.objects.filter(pk__in=tops).annotate(has_children=has_children_expr())
    by_pk = {a.pk: a for a in areas}
    return [by_pk[pk] for pk in tops if pk in by_pk]


def has_children_expr():
    """Whether a node has anything under it: a city or a district through ``upper``, others
    in their tree."""
    return Case(
        When(
            kind__in=sorted(rules.UPPER_KINDS),
            then=Exists(Area.objects.filter(upper=OuterRef("pk"))),
        ),
        default=Q(rght__gt=F("lft") + 1),
        output_field=BooleanField(),
    )


def area_path(area: Area, *, within: Grant | None = None) -> list[Area]:
    """From the top (the city, if any) down to ``area`` itself; with ``within``, only the part
    inside that grant. One query of primary-key lookups up the parent links
    (``area_lineages``), whatever the size of the tree."""
    chain = area_lineages([area.pk], with_city=True).get(area.pk) or [area]
    if within is not None:
        top = next((i for i, a in enumerate(chain) if a.pk == within.area_id), 0)
        chain = chain[top:]
    return chain


def _label_from(chain: list, root_id: int | None) -> str:
    """The name path a picker shows: from the community (or the district when the node is
    above any community), never from above the user's own scope root (the node
    ``root_id``)."""
    start = next((i for i, a in enumerate(chain) if a.kind in COMMUNITY_KINDS), 0)
    if root_id is not None:
        start = max(start, next((i for i, a in enumerate(chain) if a.pk == root_id), 0))
    return PATH_SEPARATOR.join(a.name for a in chain[start:])


def area_chains(areas: Iterable[Area], *, with_city: bool = False) -> dict[int, list[Area]]:
    """Area pk → its chain from the top of its tree down to the area itself (with
    ``with_city``, the city above a district first), for every area of a page at once:
    ``area_lineages``, one query of primary-key lookups per 500 places, whatever the size
    of the tree."""
    areas = list(areas)
    chains = area_lineages((a.pk for a in areas), with_city=with_city)
    return {a.pk: chains.get(a.pk, []) for a in areas}


def _grant_widths(user) -> dict[int, tuple[int, int]] | None:
    """The nodes of ``user``'s grants, each with how wide it is as ``scope_root_for`` orders
    them (its kind's depth, then where it starts in its tree): the scope read once for a
    page of places, not once a place. None for an admin (no root)."""
    scope = scope_for(user)
    if scope.is_admin:
        return None
    return {g.area_id: grant_width(g) for g in scope.grants}


def _path_labels(area_ids: Iterable[int], *, user) -> dict[int, str]:
    """Area pk → its picker label (``_label_from``) below ``user``'s scope root (None: no
    root, as for an admin), for the areas found in the tree. The root of a place is
    ``scope_root_for``'s: the widest of the grants on its chain (the city included), the
    nodes a grant covers being those below it. One query per ``LINEAGE_BATCH`` places
    (``_lineage_nodes``), each ancestor read once as its name and kind, no model
    instances."""
    area_ids = set(area_ids)
    rows = _lineage_nodes(area_ids, ["name", "kind"])
    above = {pk: row[0] for pk, row in rows.items()}
    nodes = {pk: PathNode(pk, name, kind) for pk, (_above, name, kind) in rows.items()}
    widths = _grant_widths(user) if user is not None else None
    labels = {}
    for pk, chain in _chains_from(area_ids, above, nodes).items():
        held = [node.pk for node in chain if node.pk in widths] if widths else []
        root_id = min(held, key=widths.__getitem__) if held else None
        # A label starts at the district at the highest: the city is named only on its own.
        shown = [node for node in chain if node.kind != AreaKind.CITY or node.pk == pk]
        labels[pk] = _label_from(shown, root_id)
    return labels


def area_labels(areas: Iterable[Area], *, user) -> dict[int, str]:
    """``{pk: "莲心社区 › 第1网格 › 1栋"}`` for the nodes of a page (search results, the
    problems of an inbox page): from the community (never from above the user's own scope
    root) down to the node, their ancestors fetched together (``_path_labels``); an area
    missing from the tree is labelled ``""``."""
    areas = list(areas)
    labels = _path_labels((area.pk for area in areas), user=user)
    return {area.pk: labels.get(area.pk, "") for area in areas}


def area_paths(area_ids: Iterable[int], *, user=None) -> dict[int, str]:
    """``area_labels`` by the areas' ids alone, for exports that read rows as values: the
    same paths, below ``user``'s scope (None: an admin's, from the community down). One
    query per 500 places (``_path_labels``); an id missing from the tree has no path."""
    return _path_labels(area_ids, user=user)


def set_places(objects: Iterable, *, user, attr: str = "area", into: str = "place") -> list:
    """Give each of ``objects`` (anything with an area in ``attr``: problems, households,
    digests' nodes, a ticket's events by their ``handler_area``) its ``place`` (or the
    attribute ``into`` names): the path of that area from the community down, never from
    above the user's own scope (``莲心社区 › 1栋 › 2单元`` where the bare name of a unit says
    nothing). One query for all of them (``area_labels``); an object with no area gets
    none. Returns them as a list."""
    objects = list(objects)
    areas = [area for o in objects if (area := getattr(o, attr)) is not None]
    labels = area_labels(areas, user=user)
    for obj in objects:
        area = getattr(obj, attr)
        setattr(obj, into, labels.get(area.pk, area.name) if area is not None else "")
    return objects


def area_label(area: Area, *, path: list[Area], user) -> str:
    """The picker label of ``area`` from already fetched ancestors (``path``, top down, of it
    or of its parent). No query."""
    chain = list(path)
    if not chain or chain[-1].pk != area.pk:
        chain.append(area)
    root = scope_root_for(user, area)
    return _label_from(chain, root.area_id if root is not None else None)


def area_children_for_picker(area: Area) -> QuerySet[Area]:
    """``area``'s children, each knowing whether there is anything further down. One query."""
    return area_children(area).annotate(has_children=has_children_expr())


def area_search(user, *, q: str, kind: str = "", limit: int = 20) -> list[Area]:
    """Up to ``limit`` nodes in the user's scope whose name or code contains ``q``, in tree
    order. One query."""
    q = q.strip()
    if not q:
        return []
    areas = Area.objects.filter(scope_for(user).area_q()).filter(
        Q(name__icontains=q) | Q(code__icontains=q)
    )
    if kind:
        areas = areas.filter(kind=kind)
    return list(areas.order_by("tree_id", "lft")[:limit])


def count_in_subtree(rows: QuerySet, through: str = "area__"):
    """COUNT of ``rows`` whose area lies in the outer node's subtree, as a subquery evaluated
    inside the one query that lists the nodes. For nodes inside one street's tree (a
    community's compounds and grids, a grid's buildings): a city's or a district's children
    are trees of their own, counted by their keys (``count_by_key``)."""
    rows = rows.filter(
        **{
            f"{through}tree_id": OuterRef("tree_id"),
            f"{through}lft__gte": OuterRef("lft"),
            f"{through}lft__lte": OuterRef("rght"),
        }
    )
    counted = rows.order_by().annotate(_g=Value(1)).values("_g").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n")[:1], output_field=IntegerField()), 0)


def count_by_key(rows: QuerySet, key: str):
    """COUNT of ``rows`` (a model with ``AncestorKeys``) whose ``key`` column is the outer
    node, as a subquery inside the one query that lists the nodes: one index count per node
    (``household_grid`` for grids, …), where ``count_in_subtree`` joins the tree by range."""
    counted = (
        rows.filter(**{key: OuterRef("pk")})
        .order_by()
        .values(key)
        .annotate(n=Count("*"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def area_heads(area: Area) -> list[Post]:
    """The current posts on ``area``, leaders first. One query."""
    return sorted(current_posts(area), key=_title_rank)


def party_org_of(area: Area) -> PartyOrg | None:
    return PartyOrg.objects.filter(area=area).select_related("secretary").first()


def board_areas(path: list[Area]) -> list[Area]:
    """The part of a board node's ``path`` from its community down to the node."""
    start = next((i for i, a in enumerate(path) if a.kind in COMMUNITY_KINDS), len(path) - 1)
    return path[start:]


def board_heads(areas: list[Area]) -> list[Post]:
    """The current public posts on ``areas`` (top down, leaders first on each). One query.
    A post kept off the board (``is_public`` False) is not read at all."""
    order = {a.pk: i for i, a in enumerate(areas)}
    posts = Post.objects.filter(
        area__in=list(order), ended_on__isnull=True, is_public=True
    ).select_related("person", "area")
    return sorted(posts, key=lambda p: (order[p.area_id], *_title_rank(p)))


def party_orgs_on(areas: list[Area]) -> list[PartyOrg]:
    """The Party bodies attached to ``areas``, top down. One query."""
    order = {a.pk: i for i, a in enumerate(areas)}
    orgs = PartyOrg.objects.filter(area__in=list(order)).select_related("secretary")
    return sorted(orgs, key=lambda o: order[o.area_id])
