"""The inbox's search box, as a worker uses it when the phone rings: a ticket number, a full
mobile number, a reporter's name (first or merged in), a place's name at any level, or the
description; what cannot be searched says why."""

import pytest
from django.urls import reverse

from issues import services
from issues.models import Category, Ticket
from issues.selectors import SEARCH_PLACES

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(world):
    category = Category.objects.create(code="lighting", name="楼道照明")

    def report(area, text, *, phone="", name="", resident=None):
        return services.ticket_report(
            area=area,
            category=category,
            channel=Ticket.Channel.HOTLINE,
            description=text,
            reporter=resident,
            reporter_name=name,
            reporter_phone=phone,
        )

    return {
        "lamp": report(world.u1, "楼道灯不亮", resident=world.residents["U1"], phone="13700000001"),
        "lift": report(world.g2, "电梯停运", name="王秀英", phone="13912345678"),
        "road": report(world.community_a, "路面积水", name="李建国", phone="13800001111"),
    }


def _found(client, q) -> set[int]:
    response = client.get(reverse("issues:inbox"), {"tab": "area", "q": q})
    assert response.status_code == 200
    return {ticket.pk for ticket in response.context["page"]}


@pytest.mark.parametrize(
    "q, expected",
    [
        ("王秀英", {"lift"}),  # the reporter's name
        ("秀英", {"lift"}),  # part of it
        ("139 1234 5678", {"lift"}),  # a full mobile number, typed with spaces
        ("第2网格", {"lift"}),  # the grid it is in
        ("莲心社区", {"lamp", "lift", "road"}),  # the community: everything under it
        ("1栋", {"lamp"}),  # the building
        ("积水", {"road"}),  # the description
        ("13800009999", set()),  # a number that reported nothing
    ],
)
def test_search_by_name_phone_place_or_text(world, login_as, reported, q, expected):
    assert _found(login_as("community"), q) == {reported[key].pk for key in expected}


def test_search_by_ticket_number(world, login_as, reported):
    client = login_as("community")
    lift = reported["lift"]
    assert _found(client, str(lift.pk)) == {lift.pk}
    assert _found(client, f"#{lift.pk}") == {lift.pk}


def test_a_merged_reporter_is_found_by_name_and_phone(world, login_as, reported):
    lift, road = reported["lift"], reported["road"]
    services.ticket_merge(ticket=lift, into=road, actor=world.users["community"])
    client = login_as("community")
    assert road.pk in _found(client, "王秀英")
    assert road.pk in _found(client, "13912345678")


def test_a_place_outside_the_scope_finds_nothing_there(world, login_as, reported):
    # 旴江社区 is another community: its name matches no place the worker may see.
    assert _found(login_as("community"), "旴江社区") == set()


def test_a_name_of_too_many_places_says_so(world, login_as, reported, monkeypatch):
    monkeypatch.setattr("issues.selectors.SEARCH_PLACES", 1)
    response = login_as("community").get(reverse("issues:inbox"), {"tab": "area", "q": "网格"})
    assert response.status_code == 200
    assert "q" in response.context["form"].errors
    assert SEARCH_PLACES == 200
