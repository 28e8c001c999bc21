"""Every role × {own subtree, sibling unit/grid, parent area, another community} ×
{list, detail, edit, export, reveal, find by full ID number}, written down once here and
asserted against the pages.

Residents of the world (tests/conftest.py): U1 and U2 in building B1 of grid G1; B1 and G1
hang directly on that building and grid; U3 in grid G2 (sibling grid); U4 in community B.
"""

import csv
import io

import pytest
from django.urls import reverse

from residents.models import AccessLog

pytestmark = pytest.mark.django_db

ALL = {"U1", "U2", "B1", "G1", "U3", "U4"}
COMMUNITY_A = {"U1", "U2", "B1", "G1", "U3"}

# Which residents each persona can reach at all (scope).
VISIBLE = {
    "unit_head": {"U1"},
    "building_head": {"U1", "U2", "B1"},
    "grid_head": {"U1", "U2", "B1", "G1"},
    "community": COMMUNITY_A,
    "street": ALL,
    "county": ALL,
    "department": set(),
    "admin": ALL,
    "outsider": {"U4"},
}
# Which actions each persona's role allows on what it can reach.
ALLOWED = {
    "unit_head": {"list", "detail"},
    "building_head": {"list", "detail"},
    "grid_head": {"list", "detail", "edit", "export", "reveal"},
    "community": {"list", "detail", "edit", "export", "reveal"},
    "street": {"list", "detail", "export"},
    "county": {"list", "detail", "export"},
    "department": set(),
    "admin": {"list", "detail", "edit", "export", "reveal"},
    "outsider": {"list", "detail", "edit", "export", "reveal"},
}
# The four positions relative to each persona's own node, for the record: own subtree,
# sibling unit or grid, a household on the parent area, another community.
POSITIONS = {
    "unit_head": {"own": "U1", "sibling": "U2", "parent": "B1", "other": "U4"},
    "building_head": {"own": "U2", "sibling": "U3", "parent": "G1", "other": "U4"},
    "grid_head": {"own": "G1", "sibling": "U3", "parent": "U3", "other": "U4"},
    "community": {"own": "U3", "sibling": "U3", "parent": "U1", "other": "U4"},
    "street": {"own": "U4", "sibling": "U3", "parent": "G1", "other": "U1"},
    "county": {"own": "U4", "sibling": "U3", "parent": "G1", "other": "U1"},
    "department": {"own": "U1", "sibling": "U3", "parent": "G1", "other": "U4"},
    "admin": {"own": "U1", "sibling": "U3", "parent": "G1", "other": "U4"},
    "outsider": {"own": "U4", "sibling": "U3", "parent": "G1", "other": "U1"},
}
CASES = [
    (persona, position, action)
    for persona in VISIBLE
    for position in ("own", "sibling", "parent", "other")
    for action in ("list", "detail", "edit", "export", "reveal", "find")
]
# The full-number search needs the list permission and finds only what the list would show.
FIND_NEEDS = "list"


def _expected_status(persona: str, key: str, action: str) -> int:
    if key not in VISIBLE[persona]:
        return 404
    return 200 if action in ALLOWED[persona] else 403


@pytest.mark.parametrize(("persona", "position", "action"), CASES)
def test_matrix(world, login_as, persona, position, action):
    client = login_as(persona)
    key = POSITIONS[persona][position]
    resident = world.residents[key]
    visible = key in VISIBLE[persona]
    may = action in ALLOWED[persona]

    if action == "list":
        response = client.get(reverse("residents:resident_list"))
        if not may:
            assert response.status_code == 403
            return
        assert response.status_code == 200
        assert (resident.name in response.content.decode()) is visible
    elif action == "export":
        response = client.get(reverse("residents:resident_export"), {"format": "csv"})
        if not may:
            assert response.status_code == 403
            return
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert (resident.name in {row[4] for row in rows[1:]}) is visible
    elif action == "detail":
        response = client.get(reverse("residents:resident_detail", args=[resident.pk]))
        assert response.status_code == _expected_status(persona, key, action)
    elif action == "edit":
        url = reverse("residents:resident_edit", args=[resident.pk])
        response = client.post(url, {"name": "改名", "is_householder": "on"})
        expected = _expected_status(persona, key, action)
        assert response.status_code == (302 if expected == 200 else expected)
        resident.refresh_from_db()
        assert (resident.name == "改名") is (expected == 200)
    elif action == "find":
        response = client.post(
            reverse("residents:resident_find"), {"id_number": resident.id_number}
        )
        logged = AccessLog.objects.filter(viewer=world.users[persona], field="id_search")
        if FIND_NEEDS not in ALLOWED[persona]:
            assert response.status_code == 403
            assert not logged.exists()
            return
        assert response.status_code == 302
        found = reverse("residents:resident_detail", args=[resident.pk])
        assert (response["Location"] == found) is visible
        assert resident.id_number not in response["Location"]
        (row,) = logged
        assert row.resident == (resident if visible else None)
    elif action == "reveal":
        url = reverse("residents:resident_reveal", args=[resident.pk, "id_number"])
        response = client.post(url)
        expected = _expected_status(persona, key, action)
        assert response.status_code == expected
        logged = AccessLog.objects.filter(resident=resident, viewer=world.users[persona])
        assert logged.exists() is (expected == 200)
        if expected == 200:
            assert resident.id_number in response.content.decode()


def test_matrix_covers_every_persona_and_position():
    assert len(CASES) == 9 * 4 * 6


@pytest.mark.parametrize("persona", ["grid_head", "community", "admin"])
def test_changing_an_id_in_the_url_never_reaches_out_of_scope(world, login_as, persona):
    client = login_as(persona)
    outside = world.residents["U4"]
    for name in ("resident_detail", "resident_edit"):
        assert client.get(reverse(f"residents:{name}", args=[outside.pk])).status_code == (
            200 if persona == "admin" else 404
        )
    missing = reverse("residents:resident_detail", args=[10**9])
    assert client.get(missing).status_code == 404


def test_household_pages_follow_the_same_scope(world, login_as):
    client = login_as("grid_head")
    own, other = world.households["U1"], world.households["U4"]
    assert client.get(reverse("residents:household_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("residents:household_detail", args=[other.pk])).status_code == 404
    url = reverse("residents:household_edit", args=[other.pk])
    assert client.post(url, {"address": "x"}).status_code == 404
    client = login_as("unit_head")
    url = reverse("residents:household_edit", args=[own.pk])
    assert client.post(url, {"address": "x"}).status_code == 403
    html = client.get(reverse("residents:household_list")).content.decode()
    assert own.door in html and other.door not in html


def test_area_filter_out_of_scope_says_so_and_lists_nothing(world, login_as):
    # Issue 13: a wrong or foreign code is a message on the list, not a 404 page; it reads as
    # a code that does not exist, and nothing of the other community is listed.
    client = login_as("grid_head")
    response = client.get(reverse("residents:resident_list"), {"area": world.community_b.code})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert list(response.context["form"].errors) == ["area"]


def test_wrong_method_is_405(world, login_as):
    client = login_as("admin")
    resident = world.residents["U1"]
    url = reverse("residents:resident_reveal", args=[resident.pk, "id_number"])
    assert client.get(url).status_code == 405
    assert client.put(reverse("residents:resident_edit", args=[resident.pk])).status_code == 405


def test_anonymous_goes_to_login(client, world):
    response = client.get(reverse("residents:resident_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
