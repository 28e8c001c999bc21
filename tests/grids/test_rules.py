"""The kind rules, checked against a table written out here by hand (the spec), not against
the table in grids/rules.py itself."""

import itertools

import pytest

from grids import rules
from grids.rules import AreaKind, PartyOrgKind, PostTitle

KINDS = [
    "city",
    "district",
    "street",
    "town",
    "community",
    "village",
    "compound",
    "grid",
    "building",
    "unit",
]

# (child, parent) pairs that are allowed; None: the child may be a root.
ALLOWED = {
    ("city", None),
    ("district", None),
    ("district", "city"),
    ("street", "district"),
    ("town", "district"),
    ("community", "street"),
    ("community", "town"),
    ("village", "street"),
    ("village", "town"),
    ("compound", "community"),
    ("compound", "village"),
    ("grid", "community"),
    ("grid", "village"),
    ("grid", "compound"),
    ("building", "grid"),
    ("unit", "building"),
}

ALL_PAIRS = list(itertools.product(KINDS, [None, *KINDS]))


def label(kind: str) -> str:
    return str(AreaKind(kind).label)


def test_the_kinds_are_the_ten_levels():
    assert sorted(AreaKind.values) == sorted(KINDS)
    assert set(rules.ALLOWED_PARENT_KINDS) == set(KINDS)


@pytest.mark.parametrize(
    ("kind", "parent"), ALL_PAIRS, ids=[f"{k}-under-{p or 'nothing'}" for k, p in ALL_PAIRS]
)
def test_parent_kind_rule(kind, parent):
    message = rules.parent_kind_error(kind, parent)

    if (kind, parent) in ALLOWED:
        assert message is None
    else:
        assert message, f"{kind} under {parent} must be refused"
        assert label(kind) in message
        if parent is not None:
            assert label(parent) in message


@pytest.mark.parametrize(
    ("kind", "parent", "allowed"),
    [
        ("unit", "building", True),
        ("building", "community", False),
        ("grid", "compound", True),
        ("district", "city", True),
        ("street", None, False),
        ("building", "unit", False),
        ("community", "community", False),
        ("city", "district", False),
        ("grid", "grid", False),
        ("unit", "grid", False),
    ],
)
def test_named_cases(kind, parent, allowed):
    assert (rules.parent_kind_error(kind, parent) is None) is allowed


@pytest.mark.parametrize(("kind", "parent"), sorted((k, p) for k, p in ALLOWED if p is not None))
def test_no_kind_may_sit_under_its_own_child(kind, parent):
    """Both directions: if a may sit under b, b may never sit under a."""
    assert rules.parent_kind_error(parent, kind) is not None


def test_a_refusal_names_what_is_allowed_instead():
    message = rules.parent_kind_error("building", "community")

    assert label("grid") in message
    assert label("building") in message
    assert label("community") in message


def test_a_missing_parent_names_the_parents_it_could_have():
    message = rules.parent_kind_error("street", None)

    assert label("street") in message
    assert label("district") in message


def test_an_unknown_kind_is_refused_with_its_name():
    message = rules.parent_kind_error("hamlet", "village")

    assert message
    assert "hamlet" in message


def test_cities_districts_streets_and_towns_start_a_tree_of_their_own():
    assert {"city", "district", "street", "town"} == rules.TREE_ROOT_KINDS


def test_everything_under_a_city_or_a_district_is_a_tree_of_its_own():
    # A city's and a district's children hang below them through ``upper``, never in their
    # nested sets: the renumbering unit is a street.
    assert {"city", "district"} == rules.UPPER_KINDS
    for kind, parents in rules.ALLOWED_PARENT_KINDS.items():
        if parents & rules.UPPER_KINDS:
            assert kind in rules.TREE_ROOT_KINDS, kind


# -- titles -----------------------------------------------------------------------------------

TITLE_KINDS = {
    "region_head": {"town", "street"},
    "zone_head": {"village", "compound", "community"},
    "community_secretary": {"community", "village"},
    "community_worker": {"community", "village"},
    "street_officer": {"street", "town"},
    "county_officer": {"district", "city"},
    "grid_head": {"grid"},
    "grid_worker": {"grid"},
    "building_head": {"building"},
    "unit_head": {"unit"},
}
TITLE_PAIRS = list(itertools.product(TITLE_KINDS, KINDS))


def test_every_title_has_a_rule():
    assert set(PostTitle.values) == set(TITLE_KINDS)


@pytest.mark.parametrize(
    ("title", "kind"), TITLE_PAIRS, ids=[f"{t}-on-{k}" for t, k in TITLE_PAIRS]
)
def test_title_kind_rule(title, kind):
    message = rules.title_kind_error(title, kind)

    if kind in TITLE_KINDS[title]:
        assert message is None
    else:
        assert message, f"a {title} on a {kind} must be refused"
        assert str(PostTitle(title).label) in message
        assert label(kind) in message


def test_an_unknown_title_is_refused_with_its_name():
    message = rules.title_kind_error("mayor", "city")

    assert message
    assert "mayor" in message


# -- Party bodies -----------------------------------------------------------------------------

PARTY_PARENTS = {
    "working_committee": {None},
    "community_org": {"working_committee"},
    "grid_branch": {"community_org"},
    "group": {"grid_branch"},
}
PARTY_AREAS = {
    "working_committee": {"street", "town"},
    "community_org": {"community", "village", "compound"},
    "grid_branch": {"grid", "compound"},
    "group": {"building", "unit"},
}
PARTY_CASES = list(itertools.product(PARTY_PARENTS, [None, *PARTY_PARENTS], KINDS))


@pytest.mark.parametrize(
    ("kind", "parent", "area"),
    PARTY_CASES,
    ids=[f"{k}-under-{p or 'nothing'}-on-{a}" for k, p, a in PARTY_CASES],
)
def test_party_org_rule(kind, parent, area):
    message = rules.party_org_error(kind, parent, area)

    allowed = parent in PARTY_PARENTS[kind] and area in PARTY_AREAS[kind]
    assert (message is None) is allowed
    if message:
        assert str(PartyOrgKind(kind).label) in message
