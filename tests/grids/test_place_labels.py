"""The place labels of a page (``area_labels``, ``set_places``, ``area_paths``) read each
ancestor once, as names and kinds, and the viewer's grants once, and say what a chain of
model instances and ``scope_root_for`` asked place by place say: the path from the
community (or the district) down, never from above the widest of the viewer's grants that
holds the place. Checked on every node of a county with towns, villages, a compound and
three districts, for viewers inside, at and outside each place's scope."""

import pytest
from django.contrib.auth.models import AnonymousUser, User

from grids import services
from grids.access import scope_for
from grids.models import Area
from grids.rules import AreaKind
from grids.rules import PostTitle as T
from grids.selectors import (
    PATH_SEPARATOR,
    area_labels,
    area_lineages,
    area_paths,
    scope_root_for,
    set_places,
)

# Who looks, and the posts they hold (code of the node, title).
VIEWERS = {
    "admin": (),
    "city": (("C", T.COUNTY_OFFICER),),
    "district": (("D1", T.COUNTY_OFFICER),),
    "town": (("T1", T.STREET_OFFICER),),
    "street": (("S1", T.STREET_OFFICER),),
    "community": (("CM1", T.COMMUNITY_WORKER),),
    "compound": (("Z1", T.ZONE_HEAD),),
    "grid": (("G1", T.GRID_HEAD),),
    "unit": (("U1", T.UNIT_HEAD),),
    "village": (("V1", T.COMMUNITY_SECRETARY),),
    # Two grants on one chain: the wider one is the root, whichever comes first.
    "community_and_unit": (("U2", T.UNIT_HEAD), ("CM1", T.COMMUNITY_SECRETARY)),
    # A city grant (not on a label's chain, which starts at the district) above another.
    "city_and_grid": (("G2", T.GRID_HEAD), ("C", T.COUNTY_OFFICER)),
    # Grants in two districts: each place takes the one that holds it.
    "two_districts": (("CM2", T.COMMUNITY_WORKER), ("V2", T.COMMUNITY_WORKER)),
    "district_and_village": (("D2", T.COUNTY_OFFICER), ("V1", T.ZONE_HEAD)),
}


@pytest.fixture
def viewers(county) -> dict:
    users = {"anonymous": AnonymousUser()}
    phones = iter(f"1380000{i:04d}" for i in range(1, 100))
    for key, posts in VIEWERS.items():
        if not posts:
            users[key] = User.objects.create_superuser(key, password="pw-for-tests-1")
            continue
        user = User.objects.create_user(key, password="pw-for-tests-1")
        person = services.person_get_or_create(name=f"看{key}", phone=next(phones))
        person.user = user
        person.save(update_fields=["user"])
        for code, title in posts:
            services.post_assign(area=county[code], title=title, person=person)
        users[key] = user
    return users


def _fresh(user):
    """The same viewer as a new request sees them: no scope read yet."""
    if user.is_authenticated:
        user = User.objects.get(pk=user.pk)
    return user


def _chain(area: Area) -> list[Area]:
    """From the top down to ``area``, one node at a time through the parent (a tree root's
    upper) link."""
    chain = [area]
    while (above := chain[-1].parent or chain[-1].upper) is not None:
        chain.append(above)
    return chain[::-1]


def _label_as_before(area: Area, user) -> str:
    """The label as it was worked out place by place: the chain below the city (the city
    only on its own), from the first community or village, and not from above the widest
    grant holding the place (``scope_root_for``)."""
    chain = [a for a in _chain(area) if a.kind != AreaKind.CITY or a.pk == area.pk]
    start = next((i for i, a in enumerate(chain) if a.kind in ("community", "village")), 0)
    root = scope_root_for(user, area) if user is not None else None
    if root is not None:
        start = max(start, next((i for i, a in enumerate(chain) if a.pk == root.area_id), 0))
    return PATH_SEPARATOR.join(a.name for a in chain[start:])


@pytest.mark.parametrize("key", ["anonymous", *VIEWERS])
def test_the_labels_of_every_node_read_as_they_did_place_by_place(county, viewers, key):
    areas = list(Area.objects.order_by("tree_id", "lft"))
    expected = {area.pk: _label_as_before(area, _fresh(viewers[key])) for area in areas}
    assert area_labels(areas, user=_fresh(viewers[key])) == expected
    assert area_paths([a.pk for a in areas], user=_fresh(viewers[key])) == expected
    rows = [type("Row", (), {"area": area})() for area in areas]
    set_places(rows, user=_fresh(viewers[key]))
    assert [row.place for row in rows] == [expected[area.pk] for area in areas]


def test_the_labels_below_each_scope_root(county, viewers):
    """A few of the shapes spelled out: under the scope, the scope itself, outside it."""
    at = {code: county.fresh(code) for code in ("U1", "U2", "G2", "G3", "G5", "G6", "T1", "D2")}

    def labels(key):
        found = area_labels(at.values(), user=_fresh(viewers[key]))
        return {code: found[area.pk] for code, area in at.items()}

    admin = labels("admin")
    assert admin["U1"] == "莲心社区 › 第1网格 › 1栋 › 1单元"
    assert admin["G3"] == "莲心社区 › 锦绣小区 › 第3网格"
    assert admin["G5"] == "上坪村 › 上坪村第1组"
    assert admin["T1"] == "东湖区 › 城关镇"  # above any community: from the district
    assert admin["D2"] == "西山县"
    assert labels("city") == admin
    grid = labels("grid")
    assert grid["U1"] == "第1网格 › 1栋 › 1单元"
    assert grid["G2"] == "莲心社区 › 第2网格"  # outside the grid head's scope
    unit = labels("unit")
    assert unit["U1"] == "1单元" and unit["U2"] == "莲心社区 › 第1网格 › 1栋 › 2单元"
    both = labels("community_and_unit")
    assert both["U2"] == admin["U2"]  # the community is the wider grant
    # The city's grant is the wider: the label starts where it starts for the city's officer.
    assert labels("city_and_grid")["G2"] == admin["G2"] == "莲心社区 › 第2网格"
    assert labels("town")["T1"] == "城关镇"
    assert labels("village")["G5"] == "上坪村 › 上坪村第1组"
    assert labels("district_and_village")["G6"] == "下坑村 › 下坑村第1组"


def test_the_labels_of_a_page_cost_one_query_however_many_places(
    county, viewers, django_assert_num_queries
):
    few = [county.fresh("U1"), county.fresh("G5")]
    every = list(Area.objects.all()) * 3
    for key in ("admin", "district", "community_and_unit", "city_and_grid", "two_districts"):
        user = _fresh(viewers[key])
        scope_for(user)  # read once per request, whatever the page
        for areas in (few, every):
            with django_assert_num_queries(1):
                set_places([type("Row", (), {"area": a})() for a in areas], user=user)


def test_a_place_missing_from_the_tree_has_no_label(county, viewers):
    gone = Area(pk=10**9, name="不在了", kind=AreaKind.UNIT, tree_id=1, lft=1, rght=2)
    user = _fresh(viewers["community"])
    assert area_labels([gone, county["U1"]], user=user)[gone.pk] == ""
    assert gone.pk not in area_paths([gone.pk, county["U1"].pk], user=user)
    row = type("Row", (), {"area": gone})()
    assert set_places([row], user=user)[0].place == ""


@pytest.mark.parametrize("with_city", [False, True])
def test_the_lineages_are_the_chains_up_the_parent_links(county, with_city):
    areas = list(Area.objects.all())
    chains = area_lineages([a.pk for a in areas] + [10**9], with_city=with_city)
    assert set(chains) == {a.pk for a in areas}
    for area in areas:
        expected = [
            a for a in _chain(area) if with_city or a.kind != AreaKind.CITY or a.pk == area.pk
        ]
        got = chains[area.pk]
        assert [a.pk for a in got] == [a.pk for a in expected]
        assert [(a.code, a.name, a.kind, a.tree_id, a.lft, a.rght) for a in got] == [
            (a.code, a.name, a.kind, a.tree_id, a.lft, a.rght) for a in expected
        ]
    # One instance per ancestor, shared by the chains it is in.
    u1, u2 = county["U1"].pk, county["U2"].pk
    assert chains[u1][-2] is chains[u2][-2]
