"""The nested-set numbering of an area import as a pure function: plain data in and out,
no database (these tests have no ``db`` fixture). A street (or town) is the root of its own
tree, hung below its district (and a district below its city) outside the numbering."""

from grids.imports.numbering import Placement, TreeRow, number_trees

# An existing town T1 (tree 4) of district D1 (a tree of its own, not loaded):
#   T1 [1, 8] > CM1 [2, 7] > G1 [3, 4], G2 [5, 6]
T1 = [
    TreeRow(12, "T1", "town", None, 4, 1, 8, 0),
    TreeRow(13, "CM1", "community", 12, 4, 2, 7, 1),
    TreeRow(14, "G1", "grid", 13, 4, 3, 4, 2),
    TreeRow(15, "G2", "grid", 13, 4, 5, 6, 2),
]
# A second town T2 (tree 7): T2 [1, 4] > CM2 [2, 3]
T2 = [
    TreeRow(22, "T2", "town", None, 7, 1, 4, 0),
    TreeRow(23, "CM2", "community", 22, 7, 2, 3, 1),
]
EXISTING = {"C", "D1", "D2"} | {row.code for row in T1 + T2}


def number(tree_rows, placements, *, existing=EXISTING, next_tree_id=8):
    return number_trees(
        tree_rows=tree_rows,
        placements={code: Placement(*p) for code, p in placements.items()},
        existing_codes=existing,
        next_tree_id=next_tree_id,
    )


def test_a_new_district_and_town_each_start_a_tree_numbered_from_one():
    result = number(
        [],
        {
            # Children before parents, as in a shuffled file.
            "G9": ("grid", "CM9"),
            "CM9": ("community", "T9"),
            "B9": ("building", "G9"),
            "D9": ("district", "C"),
            "T9": ("town", "D9"),
        },
    )
    assert result.numbers == {
        "D9": (8, 1, 2, 0),  # new roots in code order: D9, then T9
        "T9": (9, 1, 8, 0),
        "CM9": (9, 2, 7, 1),
        "G9": (9, 3, 6, 2),
        "B9": (9, 4, 5, 3),
    }
    assert result.renumbered == set()
    assert result.unreached == []


def test_insert_into_an_existing_town_goes_after_the_old_siblings():
    result = number(T1, {"G0": ("grid", "CM1"), "B0": ("building", "G1")})
    assert result.numbers == {
        "T1": (4, 1, 12, 0),
        "CM1": (4, 2, 11, 1),
        "G1": (4, 3, 6, 2),
        "B0": (4, 4, 5, 3),
        "G2": (4, 7, 8, 2),
        # A new grid comes after the existing ones, even though "G0" sorts before them.
        "G0": (4, 9, 10, 2),
    }
    # Every existing node to the right of (or above) the inserts shifts.
    assert result.renumbered == {"T1", "CM1", "G1", "G2"}
    assert result.unreached == []


def test_a_file_that_only_names_existing_rows_changes_no_number():
    placements = {
        row.code: (row.kind, p) for row, p in zip(T1, ["D1", "T1", "CM1", "CM1"], strict=True)
    }
    result = number(T1, placements)
    assert result.numbers == {row.code: tuple(row[4:]) for row in T1}
    assert result.renumbered == set()


def test_several_towns_keep_their_trees_and_new_roots_get_trees_in_code_order():
    result = number(
        T1 + T2,
        {
            "G3": ("grid", "CM2"),
            "DB": ("district", "C"),
            "DA": ("district", "C"),
            "TA": ("town", "DA"),
        },
        next_tree_id=20,
    )
    numbers = result.numbers
    # The existing towns keep their tree ids; only T2 gains a node.
    assert {code: numbers[code] for code in ("T1", "G1", "G2")} == {
        "T1": (4, 1, 8, 0),
        "G1": (4, 3, 4, 2),
        "G2": (4, 5, 6, 2),
    }
    assert {code: numbers[code] for code in ("T2", "CM2", "G3")} == {
        "T2": (7, 1, 6, 0),
        "CM2": (7, 2, 5, 1),
        "G3": (7, 3, 4, 2),
    }
    assert (numbers["DA"], numbers["DB"], numbers["TA"]) == (
        (20, 1, 2, 0),
        (21, 1, 2, 0),
        (22, 1, 2, 0),
    )
    assert result.renumbered == {"T2", "CM2"}


def test_a_move_within_a_town_puts_the_node_last_under_its_new_parent():
    tree = [*T1, TreeRow(16, "CM0", "community", 12, 4, 8, 9, 1)]
    tree[0] = TreeRow(12, "T1", "town", None, 4, 1, 10, 0)
    result = number(tree, {"G1": ("grid", "CM0")}, existing=EXISTING | {"CM0"})
    assert result.numbers == {
        "T1": (4, 1, 10, 0),
        "CM1": (4, 2, 5, 1),
        "G2": (4, 3, 4, 2),
        "CM0": (4, 6, 9, 1),
        "G1": (4, 7, 8, 2),
    }
    assert result.renumbered == {"CM1", "G2", "CM0", "G1"}


def test_a_move_across_towns_renumbers_both_and_carries_the_subtree():
    tree = [
        TreeRow(12, "T1", "town", None, 4, 1, 10, 0),
        TreeRow(13, "CM1", "community", 12, 4, 2, 9, 1),
        TreeRow(14, "G1", "grid", 13, 4, 3, 6, 2),
        TreeRow(17, "B1", "building", 14, 4, 4, 5, 3),
        TreeRow(15, "G2", "grid", 13, 4, 7, 8, 2),
    ]
    result = number(tree + T2, {"G1": ("grid", "CM2")}, existing=EXISTING | {"B1"})
    numbers = result.numbers
    assert {code: numbers[code] for code in ("T1", "CM1", "G2")} == {
        "T1": (4, 1, 6, 0),
        "CM1": (4, 2, 5, 1),
        "G2": (4, 3, 4, 2),
    }
    assert {code: numbers[code] for code in ("T2", "CM2", "G1", "B1")} == {
        "T2": (7, 1, 8, 0),
        "CM2": (7, 2, 7, 1),
        "G1": (7, 3, 6, 2),
        "B1": (7, 4, 5, 3),  # the building went with its grid
    }
    assert result.renumbered == {"T1", "CM1", "G2", "T2", "CM2", "G1", "B1"}


def test_a_town_moved_to_another_district_keeps_its_numbers():
    # A town is the root of its own tree: another district above it is a link, not a move.
    result = number(T1, {"T1": ("town", "D2")})
    assert result.numbers == {row.code: tuple(row[4:]) for row in T1}
    assert result.renumbered == set()


def test_a_cycle_through_existing_areas_leaves_the_placed_rows_unreached():
    # CM1 is put under G2, which sits under CM1: neither hangs from T1 any more.
    result = number(T1, {"CM1": ("community", "G2"), "G9": ("grid", "CM1")})
    assert set(result.unreached) == {"CM1", "G9"}
    assert result.numbers == {"T1": (4, 1, 2, 0)}
    assert result.renumbered == {"T1"}


def test_an_existing_row_outside_the_loaded_towns_is_left_out():
    # T2's community is named by the file (a name change, say) but T2 is not renumbered.
    result = number(T1, {"CM2": ("community", "T2"), "G9": ("grid", "CM1")})
    assert "CM2" not in result.numbers
    assert result.unreached == []
    assert result.numbers["G9"] == (4, 7, 8, 2)
