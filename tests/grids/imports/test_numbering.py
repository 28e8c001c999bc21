"""The nested-set numbering of an area import as a pure function: plain data in and out,
no database (these tests have no ``db`` fixture)."""

from grids.imports.numbering import Placement, TreeRow, number_districts

# An existing district D1 (tree 4) of city C (a tree of its own, not loaded):
#   D1 [1, 10] > T1 [2, 9] > CM1 [3, 8] > G1 [4, 5], G2 [6, 7]
D1 = [
    TreeRow(11, "D1", "district", None, 4, 1, 10, 0),
    TreeRow(12, "T1", "town", 11, 4, 2, 9, 1),
    TreeRow(13, "CM1", "community", 12, 4, 3, 8, 2),
    TreeRow(14, "G1", "grid", 13, 4, 4, 5, 3),
    TreeRow(15, "G2", "grid", 13, 4, 6, 7, 3),
]
# A second district D2 (tree 7): D2 [1, 6] > T2 [2, 5] > CM2 [3, 4]
D2 = [
    TreeRow(21, "D2", "district", None, 7, 1, 6, 0),
    TreeRow(22, "T2", "town", 21, 7, 2, 5, 1),
    TreeRow(23, "CM2", "community", 22, 7, 3, 4, 2),
]
EXISTING = {"C"} | {row.code for row in D1 + D2}


def number(tree_rows, placements, *, existing=EXISTING, next_tree_id=8):
    return number_districts(
        tree_rows=tree_rows,
        placements={code: Placement(*p) for code, p in placements.items()},
        existing_codes=existing,
        next_tree_id=next_tree_id,
    )


def test_insert_into_an_empty_district_numbers_it_from_one_in_a_new_tree():
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
        "D9": (8, 1, 10, 0),
        "T9": (8, 2, 9, 1),
        "CM9": (8, 3, 8, 2),
        "G9": (8, 4, 7, 3),
        "B9": (8, 5, 6, 4),
    }
    assert result.renumbered == set()
    assert result.unreached == []


def test_insert_into_an_existing_district_goes_after_the_old_siblings():
    result = number(D1, {"G0": ("grid", "CM1"), "B0": ("building", "G1")})
    assert result.numbers == {
        "D1": (4, 1, 14, 0),
        "T1": (4, 2, 13, 1),
        "CM1": (4, 3, 12, 2),
        "G1": (4, 4, 7, 3),
        "B0": (4, 5, 6, 4),
        "G2": (4, 8, 9, 3),
        # A new grid comes after the existing ones, even though "G0" sorts before them.
        "G0": (4, 10, 11, 3),
    }
    # Every existing node to the right of (or above) the inserts shifts.
    assert result.renumbered == {"D1", "T1", "CM1", "G1", "G2"}
    assert result.unreached == []


def test_a_file_that_only_names_existing_rows_changes_no_number():
    placements = {
        row.code: (row.kind, p) for row, p in zip(D1, ["C", "D1", "T1", "CM1", "CM1"], strict=True)
    }
    result = number(D1, placements)
    assert result.numbers == {row.code: tuple(row[4:]) for row in D1}
    assert result.renumbered == set()


def test_several_districts_keep_their_trees_and_new_ones_get_trees_in_code_order():
    result = number(
        D1 + D2,
        {
            "G3": ("grid", "CM2"),
            "DB": ("district", "C"),
            "DA": ("district", "C"),
            "TA": ("town", "DA"),
        },
        next_tree_id=20,
    )
    numbers = result.numbers
    # The existing districts keep their tree ids; only D2 gains a node.
    assert {code: numbers[code] for code in ("D1", "G1", "G2")} == {
        "D1": (4, 1, 10, 0),
        "G1": (4, 4, 5, 3),
        "G2": (4, 6, 7, 3),
    }
    assert {code: numbers[code] for code in ("D2", "T2", "CM2", "G3")} == {
        "D2": (7, 1, 8, 0),
        "T2": (7, 2, 7, 1),
        "CM2": (7, 3, 6, 2),
        "G3": (7, 4, 5, 3),
    }
    assert (numbers["DA"], numbers["TA"], numbers["DB"]) == (
        (20, 1, 4, 0),
        (20, 2, 3, 1),
        (21, 1, 2, 0),
    )
    assert result.renumbered == {"D2", "T2", "CM2"}


def test_a_move_within_a_district_puts_the_node_last_under_its_new_parent():
    tree = [*D1, TreeRow(16, "CM0", "community", 12, 4, 10, 11, 2)]
    tree[0] = TreeRow(11, "D1", "district", None, 4, 1, 12, 0)
    tree[1] = TreeRow(12, "T1", "town", 11, 4, 2, 11, 1)
    result = number(tree, {"G1": ("grid", "CM0")}, existing=EXISTING | {"CM0"})
    assert result.numbers == {
        "D1": (4, 1, 12, 0),
        "T1": (4, 2, 11, 1),
        "CM1": (4, 3, 6, 2),
        "G2": (4, 4, 5, 3),
        "CM0": (4, 7, 10, 2),
        "G1": (4, 8, 9, 3),
    }
    assert result.renumbered == {"CM1", "G2", "CM0", "G1"}


def test_a_move_across_districts_renumbers_both_and_carries_the_subtree():
    tree = [*D1, TreeRow(17, "B1", "building", 14, 4, 5, 6, 4)]
    tree[0:5] = [
        TreeRow(11, "D1", "district", None, 4, 1, 12, 0),
        TreeRow(12, "T1", "town", 11, 4, 2, 11, 1),
        TreeRow(13, "CM1", "community", 12, 4, 3, 10, 2),
        TreeRow(14, "G1", "grid", 13, 4, 4, 7, 3),
        TreeRow(15, "G2", "grid", 13, 4, 8, 9, 3),
    ]
    tree.sort(key=lambda row: (row.tree_id, row.lft))
    result = number(tree + D2, {"G1": ("grid", "CM2")}, existing=EXISTING | {"B1"})
    numbers = result.numbers
    assert {code: numbers[code] for code in ("D1", "T1", "CM1", "G2")} == {
        "D1": (4, 1, 8, 0),
        "T1": (4, 2, 7, 1),
        "CM1": (4, 3, 6, 2),
        "G2": (4, 4, 5, 3),
    }
    assert {code: numbers[code] for code in ("D2", "T2", "CM2", "G1", "B1")} == {
        "D2": (7, 1, 10, 0),
        "T2": (7, 2, 9, 1),
        "CM2": (7, 3, 8, 2),
        "G1": (7, 4, 7, 3),
        "B1": (7, 5, 6, 4),  # the building went with its grid
    }
    assert result.renumbered == {"D1", "T1", "CM1", "G2", "D2", "T2", "CM2", "G1", "B1"}


def test_a_cycle_through_existing_areas_leaves_the_placed_rows_unreached():
    # T1 is put under CM1, which sits under T1: neither hangs from D1 any more.
    result = number(D1, {"T1": ("town", "CM1"), "G9": ("grid", "CM1")})
    assert set(result.unreached) == {"T1", "G9"}
    assert result.numbers == {"D1": (4, 1, 2, 0)}
    assert result.renumbered == {"D1"}


def test_an_existing_row_outside_the_loaded_districts_is_left_out():
    # D2's community is named by the file (a name change, say) but D2 is not renumbered.
    result = number(D1, {"CM2": ("community", "T2"), "G9": ("grid", "CM1")})
    assert "CM2" not in result.numbers
    assert result.unreached == []
    assert result.numbers["G9"] == (4, 8, 9, 3)
