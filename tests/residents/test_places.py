"""Households and residents read as the path of their place below the viewer's own scope
(``莲心社区 › 第1网格 › 1栋 › 1单元``), never as a unit's bare name."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

U1_PATH = "莲心社区 › 第1网格 › 1栋 › 1单元"


@pytest.mark.parametrize(
    "persona, shown",
    [
        ("community", U1_PATH),
        ("county", U1_PATH),  # from the community down, however high the viewer
        ("grid_head", "第1网格 › 1栋 › 1单元"),  # never from above the viewer's own grid
    ],
)
def test_the_household_list_shows_each_place_as_its_path(world, login_as, persona, shown):
    page = login_as(persona).get(reverse("residents:household_list")).content.decode()
    assert shown in page


def test_a_household_and_its_residents_show_the_path(world, login_as):
    client = login_as("community")
    household = world.households["U1"]
    for url in (
        reverse("residents:household_detail", args=[household.pk]),
        reverse("residents:resident_list"),
        reverse("residents:resident_detail", args=[world.residents["U1"].pk]),
    ):
        assert U1_PATH in client.get(url).content.decode(), url


@pytest.mark.parametrize(
    "url_name", ["issues:inbox", "residents:household_list", "residents:resident_list"]
)
def test_a_wrong_area_code_is_a_message_not_a_404(world, login_as, url_name):
    client = login_as("community")
    response = client.get(reverse(url_name), {"area": "NOSUCH"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="filter-errors"' in page and "NOSUCH" in page
    # A place outside the worker's part of the tree reads the same: nothing is told apart.
    outside = world.community_b.code
    response = client.get(reverse(url_name), {"area": outside})
    assert response.status_code == 200 and outside in response.content.decode()


@pytest.mark.parametrize("url_name", ["residents:household_list", "residents:resident_list"])
def test_the_area_filter_is_the_tree_picker_and_names_its_choice(world, login_as, url_name):
    client = login_as("community")
    page = client.get(reverse(url_name)).content.decode()
    assert "data-area-picker" in page and 'type="hidden" name="area"' in page
    assert "portal/area-picker.js" in page
    page = client.get(reverse(url_name), {"area": world.g2.code}).content.decode()
    chosen = page.split("data-area-chosen", 1)[1].split("</span>", 1)[0]
    assert "莲心社区 › 第2网格" in chosen
    assert U1_PATH not in page  # only the second grid's households and residents
