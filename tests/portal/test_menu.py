"""The navbar by role: for every persona, each page of the menu is linked exactly when the
page lets that persona in, and a page left out answers 403."""

import re

import pytest
from django.urls import reverse

from portal.menu import LINKS
from tests.conftest import PERSONAS

pytestmark = pytest.mark.django_db

NAVBAR = re.compile(r'<ul class="navbar-nav me-auto">(.*?)</ul>\s*<div class="dropdown">', re.S)
ENGAGEMENT = {"deliberation:proposal_list", "wishes:list", "points:index"}
EXPECTED = {
    # persona: the pages linked, beyond the dashboard and the problems everyone has
    "unit_head": {"issues:report", "grids:area_root", "residents:resident_list",
                  "residents:household_list", "residents:coverage", "digests:digest_list",
                  *ENGAGEMENT},
    "community": {"issues:report", "grids:area_root", "residents:resident_list",
                  "residents:household_list", "residents:coverage", "digests:digest_list",
                  *ENGAGEMENT, "councils:rhythm"},
    "county": {"issues:report", "grids:area_root", "residents:resident_list",
               "residents:household_list", "residents:coverage", "issues:meeting_list",
               "digests:digest_list", *ENGAGEMENT, "councils:rhythm"},
    "department": {"issues:department_parts"},
}  # fmt: skip


def _linked(client) -> set[str]:
    navbar = NAVBAR.search(client.get(reverse("home")).content.decode()).group(1)
    return {link.url_name for link, _may in LINKS if f'href="{link.url}"' in navbar}


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_linked_page_opens_and_each_left_out_is_refused(world, client, persona):
    client.force_login(world.users[persona])
    linked = _linked(client)
    assert {"home", "issues:inbox"} <= linked
    for link, _may in LINKS:
        response = client.get(link.url)
        if link.url_name in linked:
            assert response.status_code in (200, 302), (persona, link.url_name)
        elif link.url_name == "admin:index":
            assert response.status_code == 302  # the admin's own login page
        else:
            assert response.status_code == 403, (persona, link.url_name, response.status_code)


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_the_menu_of_each_role(world, client, persona):
    client.force_login(world.users[persona])
    assert _linked(client) - {"home", "issues:inbox"} == EXPECTED[persona]


def test_the_administrator_has_every_page_but_a_departments_own_list(world, client):
    client.force_login(world.users["admin"])
    everything = {link.url_name for link, _may in LINKS}
    assert _linked(client) == everything - {"issues:department_parts"}


@pytest.mark.parametrize(
    "persona, export, import_",
    [
        ("unit_head", False, False),
        ("building_head", False, False),
        ("grid_head", True, False),
        ("community", True, True),
        ("street", True, False),
        ("county", True, False),
        ("admin", True, True),
    ],
)
def test_the_resident_list_offers_export_and_import_only_to_those_allowed(
    world, client, persona, export, import_
):
    client.force_login(world.users[persona])
    page = client.get(reverse("residents:resident_list")).content.decode()
    buttons = (("residents:resident_export", export), ("residents:resident_import", import_))
    for url_name, shown in buttons:
        url = reverse(url_name)
        assert (f'href="{url}' in page) is shown, (persona, url_name)
        response = client.get(url, {"format": "csv"} if "export" in url_name else {})
        assert (response.status_code == 403) is not shown, (persona, url_name, response.status_code)
