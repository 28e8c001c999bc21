"""``seed_city``: a deterministic synthetic city through the import paths (tree, heads) and
COPY (logins, households, residents). PostgreSQL only; built here at a small scale."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from grids.models import Area, Person, Post
from grids.rules import AreaKind as K
from portal import city
from residents.identity import validate_id_number
from residents.models import Household, Resident

SCALE = 0.002  # 1 district … 800 units


def test_the_sizes_follow_the_scale():
    full = city.sizes(1)
    assert full[K.GRID] == 20_000 and full[K.UNIT] == 400_000 and full[K.DISTRICT] == 10
    small = city.sizes(SCALE)
    assert small[K.DISTRICT] == 1 and small[K.GRID] == 40 and small[K.UNIT] == 800
    with pytest.raises(ValueError):
        city.sizes(0)


def test_the_tree_is_the_same_every_time_and_every_node_has_a_known_parent():
    first, second = city.tree(SCALE), city.tree(SCALE)
    assert first == second
    codes = {n.code for n in first}
    assert len(codes) == len(first)
    assert all(n.parent in codes for n in first if n.parent)
    # Large enough for a town (one street in four) and its villages.
    kinds = {n.kind for n in city.tree(0.05)}
    assert {K.TOWN, K.VILLAGE, K.STREET, K.COMMUNITY} <= kinds


def test_id_numbers_are_valid_and_distinct():
    numbers = [city.id_number(i, "370700") for i in range(0, 3_000_000, 997)]
    for number in numbers[:200]:
        validate_id_number(number)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seed_city_builds_the_city_through_the_imports():
    call_command("seed_city", scale=SCALE, verbosity=0)
    sizes = city.sizes(SCALE)
    assert Area.objects.filter(kind=K.UNIT).count() == sizes[K.UNIT]
    assert Area.objects.filter(kind=K.GRID).count() == sizes[K.GRID]
    heads = Area.objects.exclude(kind=K.CITY).count()
    assert Post.objects.filter(ended_on__isnull=True).count() == heads
    assert Person.objects.filter(user__isnull=True).count() == 0
    unit = Area.objects.filter(kind=K.UNIT).order_by("pk").first()
    head = Post.objects.select_related("person__user").get(area=unit)
    assert head.title == "unit_head"
    assert authenticate(username=head.person.phone, password=city.PASSWORD) == head.person.user
    assert Household.objects.count() >= sizes[K.UNIT]
    assert Resident.objects.count() == 2 * Household.objects.count()
    assert not Household.objects.exclude(area__kind=K.UNIT).exists()
    resident = Resident.objects.filter(is_householder=True).order_by("pk").first()
    validate_id_number(resident.id_number)
    assert len(resident.phone) == 11
    with pytest.raises(CommandError, match="already holds areas"):
        call_command("seed_city", scale=SCALE, verbosity=0)
