# ruff: noqa: F811 (the fixtures imported from test_dashboard are used by name)
"""Households keep their ancestor keys (made, imported, moved), and the tree browser's
counts through them equal the counts by nested-set range."""

from __future__ import annotations

from django.utils import timezone

from dashboard import tree
from grids import services as grid_services
from grids.selectors import area_keys, area_subtree_q
from residents import services
from residents.models import Household
from tests.dashboard.test_dashboard import clock, maker, tickets  # noqa: F401


def _keys_right() -> list[int]:
    return [
        h.pk
        for h in Household.objects.select_related("area")
        if area_keys(h.area)
        != {
            "district_id": h.district_id,
            "street_id": h.street_id,
            "community_id": h.community_id,
            "grid_id": h.grid_id,
        }
    ]


def test_a_new_household_has_its_places_keys(world):
    household = services.household_create(area=world.u1, door="901")
    assert (household.district_id, household.street_id, household.community_id) == (
        world.county.pk,
        world.street.pk,
        world.community_a.pk,
    )
    assert household.grid_id == world.g1.pk
    assert _keys_right() == []


def test_households_follow_a_grid_moved_to_another_community(world):
    grid_services.area_move(area=world.g1, parent=world.community_b)
    moved = Household.objects.filter(grid=world.g1)
    assert moved.exists()
    assert set(moved.values_list("community_id", flat=True)) == {world.community_b.pk}
    assert _keys_right() == []


def _by_range(area):
    """The same counts through each child's subtree filter (nested-set ranges, and the
    trees hung below a city or district), one query per child and figure."""
    now = timezone.now()
    counts = {}
    for child in tree.area_children(area):
        households = Household.objects.filter(area_subtree_q(child, "area__"))
        open_ = tree._open_tickets().filter(area_subtree_q(child, "area__"))
        counts[child.pk] = (
            households.count(),
            open_.count(),
            open_.filter(deadline__lt=now).count(),
        )
    return counts


def test_the_tree_browser_counts_by_key_as_by_range(world, tickets):
    for area in (world.city, world.county, world.street, world.community_a):
        keyed = {
            a.pk: (a.household_count, a.open_count, a.overdue_count)
            for a in tree.area_children_with_counts(area)
        }
        assert keyed == _by_range(area)
    assert sum(h for h, _o, _d in _by_range(world.street).values()) == Household.objects.count()
    assert sum(o for _h, o, _d in _by_range(world.street).values()) == 5  # t1 t2 t5 t8 t10
