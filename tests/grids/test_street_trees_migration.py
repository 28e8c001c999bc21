"""grids 0006: a database numbered with whole districts as trees becomes one with every street
and town a tree of its own (hung below its district), and back, without losing a node or a
parent link."""

from tests.grids.helpers import tree_errors
from tests.migrating import leaves as _leaves
from tests.migrating import migrate as _migrate

BEFORE = [("grids", "0005_area_autovacuum")]
AFTER = [("grids", "0006_street_trees")]

# code, kind, parent, (tree_id, lft, rght, level) as districts were numbered before 0006:
#   C (tree 1); D1 (tree 2) [1, 14] > S1 [2, 9] > CM1 [3, 8] > G1 [4, 7] > B1 [5, 6]
#                                   > T1 [10, 13] > V1 [11, 12]
#   D2 (tree 3) [1, 4] > S2 [2, 3]
OLD = [
    ("C", "city", None, None, (1, 1, 2, 0)),
    ("D1", "district", None, "C", (2, 1, 14, 0)),
    ("S1", "street", "D1", None, (2, 2, 9, 1)),
    ("CM1", "community", "S1", None, (2, 3, 8, 2)),
    ("G1", "grid", "CM1", None, (2, 4, 7, 3)),
    ("B1", "building", "G1", None, (2, 5, 6, 4)),
    ("T1", "town", "D1", None, (2, 10, 13, 1)),
    ("V1", "village", "T1", None, (2, 11, 12, 2)),
    ("D2", "district", None, "C", (3, 1, 4, 0)),
    ("S2", "street", "D2", None, (3, 2, 3, 1)),
]


def _shape(Area):
    return {
        a.code: (
            a.parent.code if a.parent_id else None,
            a.upper.code if a.upper_id else None,
            (a.tree_id, a.lft, a.rght, a.level),
        )
        for a in Area.objects.select_related("parent", "upper")
    }


def test_streets_and_towns_become_trees_of_their_own_and_back(fresh_db):
    old = _migrate(BEFORE)
    Area = old.get_model("grids", "Area")
    made = {}
    for code, kind, parent, upper, (tree_id, lft, rght, level) in OLD:
        made[code] = Area.objects.create(
            code=code,
            name=code,
            kind=kind,
            grid_type="basic" if kind == "grid" else "",
            parent=made.get(parent),
            upper=made.get(upper),
            tree_id=tree_id,
            lft=lft,
            rght=rght,
            level=level,
        )

    new = _migrate(AFTER)
    shape = _shape(new.get_model("grids", "Area"))
    assert shape["D1"] == (None, "C", (2, 1, 2, 0))
    assert shape["D2"] == (None, "C", (3, 1, 2, 0))
    # New trees after the highest, in the old tree order: S1, T1, S2.
    assert shape["S1"] == (None, "D1", (4, 1, 8, 0))
    assert shape["CM1"] == ("S1", None, (4, 2, 7, 1))
    assert shape["G1"] == ("CM1", None, (4, 3, 6, 2))
    assert shape["B1"] == ("G1", None, (4, 4, 5, 3))
    assert shape["T1"] == (None, "D1", (5, 1, 4, 0))
    assert shape["V1"] == ("T1", None, (5, 2, 3, 1))
    assert shape["S2"] == (None, "D2", (6, 1, 2, 0))

    back = _migrate(BEFORE)
    shape = _shape(back.get_model("grids", "Area"))
    assert shape == {code: (parent, upper, numbers) for code, _k, parent, upper, numbers in OLD}

    # Forward again, and through every migration since: a sound tree.
    _migrate(_leaves())
    assert tree_errors() == []
