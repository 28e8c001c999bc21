import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext

from grids import services
from grids.models import Area, PartyOrg, Person, Post
from grids.rules import AreaKind, GridType, PartyOrgKind, PostTitle
from grids.selectors import area_ancestors, area_children, area_subtree, current_posts

from .factories import AreaFactory, PersonFactory
from .helpers import tree_errors, tree_snapshot, trees_of

D = dt.date


def codes(areas) -> list[str]:
    return [a.code for a in areas]


# -- area_create ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "parent_code", "grid_type"),
    [
        ("district", "C", ""),
        ("street", "D1", ""),
        ("town", "D2", ""),
        ("community", "S1", ""),
        ("community", "T1", ""),
        ("village", "S1", ""),
        ("compound", "CM2", ""),
        ("compound", "V1", ""),
        ("grid", "CM3", "basic"),
        ("grid", "Z1", "dedicated"),
        ("grid", "V2", "basic"),
        ("building", "G4", ""),
        ("unit", "B3", ""),
    ],
)
def test_area_create_under_each_level(county, kind, parent_code, grid_type):
    parent = county.fresh(parent_code)

    area = services.area_create(
        code="NEW1", name=" 新节点 ", kind=kind, parent=parent, grid_type=grid_type
    )

    area.refresh_from_db()
    assert area.name == "新节点"
    assert area.grid_type == grid_type
    if kind in ("district", "street", "town"):
        # The root of a new tree of its own, hung below its city or district.
        assert (area.parent, area.upper, area.level, area.lft) == (None, parent, 0, 1)
        assert area.tree_id not in set(Area.objects.exclude(pk=area.pk).values_list("tree_id"))
        assert area in list(area_children(parent))
    else:
        assert (area.parent, area.upper) == (parent, None)
        assert area.tree_id == parent.tree_id
        assert area.level == parent.level + 1
        # Appended as the last child.
        assert list(area_children(parent))[-1] == area
    assert tree_errors() == []


def test_area_create_a_city_is_a_one_node_tree(db):
    city = services.area_create(code="3699", name="抚阳市", kind="city")

    city.refresh_from_db()
    assert (city.parent, city.upper, city.lft, city.rght, city.level) == (None, None, 1, 2, 0)
    assert tree_errors() == []


def test_area_create_a_grid_is_basic_unless_told(county):
    grid = services.area_create(code="G9", name="第9网格", kind="grid", parent=county["CM1"])

    assert grid.grid_type == GridType.BASIC


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "X1", "kind": "building", "parent": "CM1"}, "parent"),
        ({"code": "X1", "kind": "street", "parent": None}, "parent"),
        ({"code": "X1", "kind": "grid", "parent": "B1"}, "parent"),
        ({"code": "X1", "kind": "district", "parent": "T1"}, "parent"),
        ({"code": "G1", "kind": "grid", "parent": "CM1"}, "code"),
        ({"code": "X1", "kind": "community", "parent": "T1", "grid_type": "basic"}, "grid_type"),
        ({"code": "X1", "kind": "grid", "parent": "CM1", "name": "  "}, "name"),
    ],
)
def test_area_create_refuses(county, kwargs, field):
    kwargs = {"name": "新节点", **kwargs}
    kwargs["parent"] = county.fresh(kwargs["parent"]) if kwargs["parent"] else None
    before = tree_snapshot()

    with pytest.raises(ValidationError) as excinfo:
        services.area_create(**kwargs)

    assert field in excinfo.value.message_dict
    assert tree_snapshot() == before


@pytest.mark.parametrize("code", ["网格1", "G 1", "G/1", "-G1", "X" * 33, ""])
def test_area_create_refuses_a_bad_code(county, code):
    with pytest.raises(ValidationError):
        services.area_create(code=code, name="新网格", kind="grid", parent=county["CM1"])
    assert not Area.objects.filter(code=code).exists()


def test_area_create_refusal_names_both_kinds(county):
    with pytest.raises(ValidationError) as excinfo:
        services.area_create(code="X1", name="9栋", kind="building", parent=county["CM1"])

    (message,) = excinfo.value.message_dict["parent"]
    assert str(AreaKind.BUILDING.label) in message
    assert str(AreaKind.COMMUNITY.label) in message


def test_inserting_shifts_numbers_only_inside_its_own_street(county):
    others = trees_of("C", "D1", "D2", "D3", "S1", "T2", "T3")
    own = trees_of("T1")
    before_others, before_own = tree_snapshot(others), tree_snapshot(own)

    services.area_create(code="B9", name="9栋", kind="building", parent=county["G1"])
    AreaFactory(kind="grid", parent=county["Z1"], grid_type="basic")

    assert tree_snapshot(others) == before_others
    after_own = tree_snapshot(own)
    # The insert did shift its own town (so the check above is not vacuous).
    assert after_own["T1"][2] == before_own["T1"][2] + 4
    assert after_own["CM2"][1] == before_own["CM2"][1] + 4
    assert tree_errors() == []


def test_area_create_with_a_stale_parent_instance(county):
    """The parent's numbers are re-read under the lock, not trusted from the caller."""
    stale = Area.objects.get(code="CM3")
    services.area_create(code="G7", name="第7网格", kind="grid", parent=stale)
    services.area_create(code="G8", name="第8网格", kind="grid", parent=stale)

    assert codes(area_children(county.fresh("CM3"))) == ["G7", "G8"]
    assert tree_errors() == []


# -- area_update ------------------------------------------------------------------------------


def test_area_update_changes_name_and_households_not_the_tree(county):
    before = tree_snapshot()

    area = services.area_update(area=county.fresh("G4"), name=" 第四网格 ", households=401)

    area.refresh_from_db()
    assert (area.name, area.households) == ("第四网格", 401)
    after = tree_snapshot()
    assert after["G4"][:4] == before["G4"][:4]
    assert after["G4"][4] > before["G4"][4]  # updated_at
    assert {c: v for c, v in after.items() if c != "G4"} == {
        c: v for c, v in before.items() if c != "G4"
    }


def test_area_update_refuses_an_empty_name_and_a_grid_type_on_a_building(county):
    with pytest.raises(ValidationError):
        services.area_update(area=county.fresh("G4"), name=" ")
    with pytest.raises(ValidationError):
        services.area_update(area=county.fresh("B1"), grid_type="basic")
    assert county.fresh("G4").name == "第4网格"


# -- area_move --------------------------------------------------------------------------------


def test_area_move_within_a_district(county):
    others = tree_snapshot(trees_of("D2", "D3", "C"))

    moved = services.area_move(area=county["G2"], parent=county["CM2"])

    assert moved.parent.code == "CM2"
    assert codes(area_children(county.fresh("CM2"))) == ["G4", "G2"]
    assert codes(area_subtree(county.fresh("CM2"))) == ["CM2", "G4", "G2", "B3"]
    assert "B3" not in codes(area_subtree(county.fresh("CM1")))
    assert tree_snapshot(trees_of("D2", "D3", "C")) == others
    assert tree_errors() == []


def test_area_move_across_districts(county):
    untouched = tree_snapshot(trees_of("C", "D1", "D2", "D3", "S1", "T3"))
    t2 = county.fresh("T2")

    services.area_move(area=county["V1"], parent=county["T2"])

    village, grid = county.fresh("V1"), county.fresh("G5")
    assert (village.tree_id, grid.tree_id) == (t2.tree_id, t2.tree_id)
    assert (village.level, grid.level) == (1, 2)
    assert codes(area_subtree(county.fresh("T2"))) == ["T2", "V2", "G6", "V1", "G5"]
    assert "G5" not in codes(area_subtree(county.fresh("D1")))
    assert "G5" in codes(area_subtree(county.fresh("D2")))
    assert codes(area_ancestors(grid)) == ["C", "D2", "T2", "V1"]
    assert tree_snapshot(trees_of("C", "D1", "D2", "D3", "S1", "T3")) == untouched
    assert tree_errors() == []


def test_a_town_moved_to_another_district_renumbers_nothing(county):
    before = {code: numbers[:4] for code, numbers in tree_snapshot().items()}

    services.area_move(area=county["T1"], parent=county["D2"])

    assert {code: numbers[:4] for code, numbers in tree_snapshot().items()} == before
    assert codes(area_ancestors(county.fresh("G1"))) == ["C", "D2", "T1", "CM1"]
    assert "G1" in codes(area_subtree(county.fresh("D2")))
    assert "G1" not in codes(area_subtree(county.fresh("D1")))
    assert codes(area_children(county.fresh("D2"))) == ["T1", "T2"]
    assert tree_errors() == []


def test_area_move_a_subtree_then_back(county):
    before = {c: v[:4] for c, v in tree_snapshot().items()}

    services.area_move(area=county["G1"], parent=county["V2"])
    assert tree_errors() == []
    assert codes(area_subtree(county.fresh("V2"))) == ["V2", "G6", "G1", "B1", "U1", "U2", "B2"]
    services.area_move(area=county["G1"], parent=county["CM1"])

    assert tree_errors() == []
    # Back under CM1, but now as its last child: CM1's subtree order changes, not its set.
    assert set(codes(area_subtree(county.fresh("CM1")))) == {
        "CM1",
        "G1",
        "B1",
        "U1",
        "U2",
        "B2",
        "G2",
        "B3",
        "Z1",
        "G3",
    }
    after = {c: v[:4] for c, v in tree_snapshot().items()}
    assert {c: after[c] for c in trees_of("D3")} == {c: before[c] for c in trees_of("D3")}


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row versions (ctid)")
def test_a_move_inside_a_street_rewrites_only_the_rows_between_the_two_places(county):
    """grids.models.AreaTreeManager: mptt's move statement rewrote every row of the tree."""

    def versions() -> dict[str, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT code, ctid::text FROM grids_area")
            return dict(cursor.fetchall())

    before, numbers = versions(), tree_snapshot(trees_of("T1"))

    services.area_move(area=county["B3"], parent=county["G3"])

    after, moved = versions(), tree_snapshot(trees_of("T1"))
    changed = {code for code in numbers if numbers[code][:4] != moved[code][:4]}
    assert changed == {"G2", "Z1", "G3", "B3"}
    assert {code for code in before if before[code] != after[code]} == changed
    assert codes(area_subtree(county.fresh("Z1"))) == ["Z1", "G3", "B3"]
    assert tree_errors() == []


def test_area_move_a_district_to_another_city_renumbers_nothing(county):
    other_city = services.area_create(code="C2", name="临川市", kind="city")
    before = {c: v[:4] for c, v in tree_snapshot().items()}

    services.area_move(area=county["D3"], parent=other_city)

    assert county.fresh("D3").upper == other_city
    assert {c: v[:4] for c, v in tree_snapshot().items()} == before
    assert codes(area_children(other_city)) == ["D3"]
    assert codes(area_children(county.fresh("C"))) == ["D1", "D2"]
    assert tree_errors() == []


@pytest.mark.parametrize(
    ("code", "parent_code"),
    [("CM1", "G1"), ("T1", "B1"), ("G1", "U2"), ("G1", "G1"), ("D1", "D1")],
)
def test_area_move_refuses_its_own_descendant(county, code, parent_code):
    before = tree_snapshot()

    with pytest.raises(ValidationError) as excinfo:
        services.area_move(area=county[code], parent=county[parent_code])

    assert excinfo.value.message_dict == {
        "parent": [gettext("a node cannot move under itself or one of its descendants")]
    }
    assert tree_snapshot() == before


@pytest.mark.parametrize(
    ("code", "parent_code"),
    [("G4", "T1"), ("B1", "CM2"), ("U1", "G6"), ("CM3", "V2"), ("D2", "D1"), ("T3", None)],
)
def test_area_move_refuses_a_wrong_kind(county, code, parent_code):
    before = tree_snapshot()
    parent = county[parent_code] if parent_code else None

    with pytest.raises(ValidationError) as excinfo:
        services.area_move(area=county[code], parent=parent)

    assert "parent" in excinfo.value.message_dict
    assert str(AreaKind(county[code].kind).label) in str(excinfo.value)
    assert tree_snapshot() == before


# -- posts ------------------------------------------------------------------------------------


def test_post_assign_new_principal_ends_the_previous_one(county):
    grid = county["G1"]
    first, second = PersonFactory(), PersonFactory()
    old = services.post_assign(
        area=grid, title=PostTitle.GRID_HEAD, person=first, started_on=D(2023, 1, 1)
    )

    new = services.post_assign(
        area=grid, title=PostTitle.GRID_HEAD, person=second, started_on=D(2024, 5, 1)
    )

    old.refresh_from_db()
    assert (old.person, old.started_on, old.ended_on) == (first, D(2023, 1, 1), D(2024, 5, 1))
    assert (new.person, new.started_on, new.ended_on) == (second, D(2024, 5, 1), None)
    assert list(current_posts(grid)) == [new]
    history = Post.objects.filter(area=grid, title=PostTitle.GRID_HEAD).order_by("started_on")
    assert list(history) == [old, new]


def test_post_assign_a_backdated_successor_never_ends_a_post_before_it_began(county):
    first, second = PersonFactory(), PersonFactory()
    old = services.post_assign(
        area=county["B1"], title="building_head", person=first, started_on=D(2024, 6, 1)
    )

    services.post_assign(
        area=county["B1"], title="building_head", person=second, started_on=D(2024, 1, 1)
    )

    old.refresh_from_db()
    assert old.ended_on == D(2024, 6, 1)


def test_post_assign_deputies_coexist_with_the_principal(county):
    grid = county["G2"]
    head, deputy1, deputy2, successor = PersonFactory.create_batch(4)
    services.post_assign(area=grid, title="grid_head", person=head)
    services.post_assign(area=grid, title="grid_head", person=deputy1, is_deputy=True)
    services.post_assign(area=grid, title="grid_head", person=deputy2, is_deputy=True)
    assert {(p.person, p.is_deputy) for p in current_posts(grid)} == {
        (head, False),
        (deputy1, True),
        (deputy2, True),
    }

    services.post_assign(area=grid, title="grid_head", person=successor)

    assert {(p.person, p.is_deputy) for p in current_posts(grid)} == {
        (successor, False),
        (deputy1, True),
        (deputy2, True),
    }
    assert Post.objects.get(person=head).ended_on is not None


def test_post_assign_same_person_again_is_idempotent(county):
    person = PersonFactory()
    post = services.post_assign(area=county["U1"], title="unit_head", person=person)

    again = services.post_assign(area=county["U1"], title="unit_head", person=person)
    hidden = services.post_assign(
        area=county["U1"], title="unit_head", person=person, is_public=False
    )

    assert again.pk == post.pk == hidden.pk
    assert Post.objects.count() == 1
    post.refresh_from_db()
    assert (post.ended_on, post.is_public) == (None, False)


@pytest.mark.parametrize(
    ("title", "code"),
    [("unit_head", "G1"), ("grid_head", "B1"), ("building_head", "CM1"), ("region_head", "D1")],
)
def test_post_assign_refuses_a_title_not_allowed_on_the_kind(county, title, code):
    with pytest.raises(ValidationError) as excinfo:
        services.post_assign(area=county[code], title=title, person=PersonFactory())

    assert "title" in excinfo.value.message_dict
    assert str(PostTitle(title).label) in str(excinfo.value)
    assert not Post.objects.exists()


def test_post_assign_promotes_a_deputy_and_ends_the_principal(county):
    grid = county["G3"]
    head, deputy = PersonFactory(), PersonFactory()
    services.post_assign(area=grid, title="grid_head", person=head, started_on=D(2023, 1, 1))
    services.post_assign(
        area=grid, title="grid_head", person=deputy, is_deputy=True, started_on=D(2023, 1, 1)
    )

    promoted = services.post_assign(area=grid, title="grid_head", person=deputy)

    assert promoted.is_deputy is False
    assert [(p.person, p.is_deputy) for p in current_posts(grid)] == [(deputy, False)]
    assert Post.objects.get(person=head).ended_on is not None


def test_a_person_holds_several_posts(county):
    person = PersonFactory(name="李雪永")
    services.post_assign(area=county["G1"], title="grid_head", person=person)
    services.post_assign(area=county["B1"], title="building_head", person=person)
    services.post_assign(area=county["U1"], title="unit_head", person=person)
    services.post_assign(area=county["CM1"], title="zone_head", person=person)

    mine = current_posts().filter(person=person)
    # Tree order: community, grid, building, unit.
    assert [(p.area.code, p.title) for p in mine] == [
        ("CM1", "zone_head"),
        ("G1", "grid_head"),
        ("B1", "building_head"),
        ("U1", "unit_head"),
    ]
    assert Person.objects.count() == 1


def test_post_end_keeps_the_row_and_refuses_twice(county):
    post = services.post_assign(
        area=county["G4"], title="grid_worker", person=PersonFactory(), started_on=D(2024, 3, 1)
    )
    with pytest.raises(ValidationError):
        services.post_end(post=Post.objects.get(pk=post.pk), ended_on=D(2024, 2, 1))
    assert Post.objects.get(pk=post.pk).ended_on is None

    services.post_end(post=post, ended_on=D(2024, 9, 30))

    post.refresh_from_db()
    assert post.ended_on == D(2024, 9, 30)
    assert not current_posts(county["G4"]).exists()
    assert Post.objects.filter(pk=post.pk).exists()
    with pytest.raises(ValidationError):
        services.post_end(post=post)


def test_post_end_refused_leaves_the_post_open_for_a_retry(county):
    post = services.post_assign(
        area=county["G4"], title="grid_worker", person=PersonFactory(), started_on=D(2024, 3, 1)
    )
    with pytest.raises(ValidationError):
        services.post_end(post=post, ended_on=D(2024, 2, 1))

    assert post.ended_on is None
    services.post_end(post=post, ended_on=D(2024, 9, 30))
    post.refresh_from_db()
    assert post.ended_on == D(2024, 9, 30)


def test_person_get_or_create_normalises_the_phone_and_renames(db):
    first = services.person_get_or_create(name="张三", phone="+86 138 0013 8000")
    again = services.person_get_or_create(name="张叁", phone="13800138000")

    assert first.pk == again.pk
    assert first.phone == "13800138000"
    assert Person.objects.get().name == "张叁"


@pytest.mark.parametrize("phone", ["12345", "23800138000", "1380013800", "", "电话"])
def test_person_get_or_create_refuses_a_bad_phone(db, phone):
    with pytest.raises(ValidationError):
        services.person_get_or_create(name="张三", phone=phone)
    assert not Person.objects.exists()


# -- Party bodies -----------------------------------------------------------------------------


@pytest.fixture
def party(county):
    committee = services.party_org_create(
        name="城关镇党委", kind=PartyOrgKind.WORKING_COMMITTEE, area=county["T1"]
    )
    community = services.party_org_create(
        name="莲心社区党总支",
        kind=PartyOrgKind.COMMUNITY_ORG,
        area=county["CM1"],
        parent=committee,
    )
    branch = services.party_org_create(
        name="第1网格党支部", kind=PartyOrgKind.GRID_BRANCH, area=county["G1"], parent=community
    )
    group = services.party_org_create(
        name="1栋党小组", kind=PartyOrgKind.GROUP, area=county["B1"], parent=branch
    )
    return {"committee": committee, "community": community, "branch": branch, "group": group}


def test_party_org_create_builds_the_parallel_tree(party):
    group = PartyOrg.objects.get(pk=party["group"].pk)

    assert [o.name for o in group.get_ancestors()] == [
        "城关镇党委",
        "莲心社区党总支",
        "第1网格党支部",
    ]
    assert PartyOrg.objects.count() == 4


@pytest.mark.parametrize(
    ("kind", "area_code", "parent_key", "field"),
    [
        ("community_org", "CM2", None, "kind"),  # needs a working committee above
        ("working_committee", "S1", "committee", "kind"),  # a committee is a root
        ("working_committee", "CM2", None, "kind"),  # attached to a street/town only
        ("grid_branch", "G4", "committee", "kind"),  # skips the community level
        ("group", "G2", "branch", "kind"),  # a group sits on a building/unit
        ("grid_branch", "G4", "community", "parent"),  # G4 lies in CM2, not CM1
        ("group", "B3", "branch", "parent"),  # B3 lies in G2, not G1
        ("community_org", "CM1", "committee", "area"),  # CM1 already has its body
    ],
)
def test_party_org_create_refuses(county, party, kind, area_code, parent_key, field):
    before = PartyOrg.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        services.party_org_create(
            name="新组织",
            kind=kind,
            area=county.fresh(area_code),
            parent=party[parent_key] if parent_key else None,
        )

    assert field in excinfo.value.message_dict
    assert PartyOrg.objects.count() == before


# -- selectors --------------------------------------------------------------------------------


def test_area_subtree_of_a_city_spans_its_districts(county, django_assert_num_queries):
    other_city = services.area_create(code="C2", name="临川市", kind="city")
    services.area_create(code="D9", name="临川区", kind="district", parent=other_city)

    city = county.fresh("C")
    with django_assert_num_queries(2):  # the ids of the trees below the city, the nodes
        found = codes(area_subtree(city))

    assert sorted(found) == sorted(code for code in county)
    assert found[0] == "C"
    assert "D9" not in found and "C2" not in found


def test_area_subtree_of_a_district_and_a_community(county):
    assert set(codes(area_subtree(county.fresh("D2")))) == {"D2", "T2", "V2", "G6"}
    assert codes(area_subtree(county.fresh("CM1"))) == [
        "CM1",
        "G1",
        "B1",
        "U1",
        "U2",
        "B2",
        "G2",
        "B3",
        "Z1",
        "G3",
    ]
    assert codes(area_subtree(county.fresh("U2"))) == ["U2"]


def test_area_ancestors_include_the_city(county, django_assert_max_num_queries):
    unit = county.fresh("U2")

    with django_assert_max_num_queries(2):
        chain = area_ancestors(unit)

    assert codes(chain) == ["C", "D1", "T1", "CM1", "G1", "B1"]
    assert codes(area_ancestors(unit, include_self=True))[-1] == "U2"
    assert codes(area_ancestors(county.fresh("D2"))) == ["C"]
    assert codes(area_ancestors(county.fresh("D2"), include_self=True)) == ["C", "D2"]
    assert area_ancestors(county.fresh("C")) == []


def test_area_children_of_a_city_and_of_a_community(county):
    assert codes(area_children(county.fresh("C"))) == ["D1", "D2", "D3"]
    assert codes(area_children(county.fresh("CM1"))) == ["G1", "G2", "Z1"]
    assert codes(area_children(county.fresh("U1"))) == []
