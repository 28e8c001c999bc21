"""The points pages: allowed, outsider 404, wrong role 403, wrong method 405; the forms
change the ledger through the services; query counts at two sizes."""

import datetime as dt

import pytest
from django.urls import reverse

from points import services
from points.models import GoodDeed, PointEntry, RewardItem

from .conftest import balance_of


@pytest.fixture
def saver(world):
    """居民U1 saving at 莲心社区 (community A): 2 points from a registered good deed."""
    from residents.services import resident_person_ensure

    person = resident_person_ensure(resident=world.residents["U1"])
    services.good_deed_register(
        person=person,
        area=world.u1,
        what="帮邻居搬家",
        done_on=dt.date(2026, 11, 3),
        actor=world.users["community"],
    )
    return person


@pytest.fixture
def item(world):
    return services.reward_item_create(
        community=world.community_a, name="洗衣液", cost=2, stock=1, actor=world.users["community"]
    )


def test_the_ranking_lists_the_scope_only(client, world, saver):
    services.points_award(
        person=world.persons["outsider"], rule="good_deed", act_key="b:1", area=world.u4
    )
    client.force_login(world.users["community"])
    page = client.get(reverse("points:index")).content.decode()
    assert saver.name in page and world.persons["outsider"].name not in page
    client.force_login(world.users["street"])
    page = client.get(reverse("points:index")).content.decode()
    assert saver.name in page and world.persons["outsider"].name in page


@pytest.mark.parametrize("persona", ["unit_head", "grid_head", "community", "county", "admin"])
def test_the_person_page_opens_for_those_over_them(client, world, saver, persona):
    client.force_login(world.users[persona] if persona != "unit_head" else world.users["grid_head"])
    response = client.get(reverse("points:person", args=[saver.pk]))
    assert response.status_code == 200
    assert "帮邻居搬家" in response.content.decode()


def test_the_outsider_gets_404_and_the_department_403(client, world, saver, item):
    client.force_login(world.users["outsider"])
    for name in ("points:person", "points:adjust", "points:deed", "points:redeem"):
        method = client.get if name == "points:person" else client.post
        assert method(reverse(name, args=[saver.pk])).status_code == 404, name
    assert client.post(reverse("points:item_update", args=[item.pk])).status_code == 404
    client.force_login(world.users["department"])
    assert client.get(reverse("points:index")).status_code == 403
    assert client.get(reverse("points:items")).status_code == 403


def test_wrong_role_gets_403(client, world, saver, item):
    client.force_login(world.users["grid_head"])
    data = {"amount": 5, "reason": "表现好"}
    assert client.post(reverse("points:adjust", args=[saver.pk]), data).status_code == 403
    deed = {"what": "扫楼道", "done_on": "2026-11-04"}
    assert client.post(reverse("points:deed", args=[saver.pk]), deed).status_code == 403
    redeem = {"item": item.pk, "quantity": 1}
    assert client.post(reverse("points:redeem", args=[saver.pk]), redeem).status_code == 403
    assert client.post(reverse("points:item_add"), {}).status_code == 403
    assert client.post(reverse("points:item_update", args=[item.pk])).status_code == 403
    assert client.post(reverse("points:deed_new"), {}).status_code == 403
    client.force_login(world.users["street"])  # supervises; keeps no community's stock
    assert client.post(reverse("points:redeem", args=[saver.pk]), redeem).status_code == 403
    assert balance_of(saver) == 2


def test_wrong_method_gets_405(client, world, saver, item):
    client.force_login(world.users["community"])
    for name in ("points:adjust", "points:deed", "points:redeem"):
        assert client.get(reverse(name, args=[saver.pk])).status_code == 405
    assert client.get(reverse("points:item_update", args=[item.pk])).status_code == 405
    assert client.get(reverse("points:item_add")).status_code == 405
    assert client.get(reverse("points:deed_new")).status_code == 405
    assert client.post(reverse("points:index")).status_code == 405
    assert client.post(reverse("points:person", args=[saver.pk])).status_code == 405


def test_a_manual_award_needs_a_reason(client, world, saver):
    client.force_login(world.users["community"])
    url = reverse("points:adjust", args=[saver.pk])
    assert client.post(url, {"amount": 5, "reason": ""}).status_code == 400
    assert balance_of(saver) == 2
    response = client.post(url, {"amount": 5, "reason": "组织楼道清扫"})
    assert response.status_code == 302
    assert balance_of(saver) == 7
    assert PointEntry.objects.get(kind="manual").reason == "组织楼道清扫"


def test_the_community_saves_and_redeems_for_a_resident(client, world, saver, item):
    client.force_login(world.users["community"])
    response = client.post(
        reverse("points:deed", args=[saver.pk]),
        {"what": "志愿巡逻", "done_on": "2026-11-05", "hours": "2"},
    )
    assert response.status_code == 302
    assert balance_of(saver) == 4  # 2 + 2 hours × 1
    response = client.post(
        reverse("points:redeem", args=[saver.pk]), {"item": item.pk, "quantity": 1}
    )
    assert response.status_code == 302
    assert balance_of(saver) == 2
    item.refresh_from_db()
    assert item.stock == 0
    # the last one is gone: refused with a message, nothing taken
    response = client.post(
        reverse("points:redeem", args=[saver.pk]), {"item": item.pk, "quantity": 1}, follow=True
    )
    assert "没有库存" in response.content.decode() or "out of stock" in response.content.decode()
    assert balance_of(saver) == 2


def test_a_good_deed_for_a_resident_named_by_mobile(client, world):
    client.force_login(world.users["community"])
    resident = world.residents["U2"]
    response = client.post(
        reverse("points:deed_new"),
        {"phone": resident.phone, "what": "捡到钱包归还", "done_on": "2026-11-06"},
    )
    deed = GoodDeed.objects.get()
    assert response.status_code == 302
    assert deed.person.resident == resident
    assert balance_of(deed.person) == 2
    # a resident of another community is not found here
    response = client.post(
        reverse("points:deed_new"),
        {"phone": world.residents["U4"].phone, "what": "好事", "done_on": "2026-11-06"},
    )
    assert GoodDeed.objects.count() == 1


def test_reward_items_are_listed_and_their_stock_set(client, world, item):
    client.force_login(world.users["community"])
    response = client.post(
        reverse("points:item_add"),
        {"community": world.community_a.pk, "name": "理发服务", "cost": 5, "stock": 10},
    )
    assert response.status_code == 302
    assert RewardItem.objects.filter(name="理发服务", community=world.community_a).exists()
    client.post(reverse("points:item_update", args=[item.pk]), {"stock": 8, "active": "on"})
    item.refresh_from_db()
    assert item.stock == 8
    page = client.get(reverse("points:items")).content.decode()
    assert "理发服务" in page and "洗衣液" in page
    client.force_login(world.users["outsider"])
    assert "洗衣液" not in client.get(reverse("points:items")).content.decode()


def _people(world, n):
    from grids.services import person_get_or_create

    for i in range(n):
        person = person_get_or_create(name=f"志愿者{i}", phone=f"1360000{i:04d}")
        services.points_award(person=person, rule="good_deed", act_key=f"n:{i}", area=world.u1)
        for j in range(2):
            services.points_award(
                person=person, rule="visit_logged", act_key=f"v:{i}:{j}", area=world.u2
            )


@pytest.mark.parametrize("size", [2, 20])
def test_the_ranking_and_a_ledger_cost_fixed_queries(
    client, world, django_assert_max_num_queries, size
):
    _people(world, size)
    client.force_login(world.users["community"])
    client.get(reverse("points:index"))  # the session and the scope warm
    with django_assert_max_num_queries(12):
        response = client.get(reverse("points:index"))
    assert response.status_code == 200
    person = PointEntry.objects.order_by("pk").first().person
    with django_assert_max_num_queries(16):
        assert client.get(reverse("points:person", args=[person.pk])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("points:items")).status_code == 200


def test_the_resident_sees_their_points_and_their_communitys_items(client, world, saver, item):
    from tests.citizens.conftest import account_for, as_resident

    as_resident(client, account_for(world.residents["U1"].phone))
    page = client.get(reverse("citizens:points")).content.decode()
    assert 'id="my-balance">2<' in page
    assert "帮邻居搬家" in page and "洗衣液" in page
    as_resident(client, account_for(world.residents["U4"].phone))
    page = client.get(reverse("citizens:points")).content.decode()
    assert 'id="my-balance">0<' in page and "洗衣液" not in page
    assert client.post(reverse("citizens:points")).status_code == 405


@pytest.mark.parametrize("size", [2, 15])
def test_the_best_heads_page_and_the_residents_page_cost_fixed_queries(
    client, world, django_assert_max_num_queries, size
):
    from residents.services import resident_person_ensure
    from tests.citizens.conftest import account_for, as_resident

    person = resident_person_ensure(resident=world.residents["U1"])
    worker = world.users["community"]
    for i in range(size):
        services.good_deed_register(
            person=person,
            area=world.u1,
            what=f"好事{i}",
            done_on=dt.date(2026, 11, 1),
            actor=worker,
        )
        services.reward_item_create(
            community=world.community_a, name=f"物品{i}", cost=1, stock=2, actor=worker
        )
    client.force_login(world.users["street"])
    client.get(reverse("digests:best_heads"))
    with django_assert_max_num_queries(10):
        assert client.get(reverse("digests:best_heads")).status_code == 200
    as_resident(client, account_for(world.residents["U1"].phone))
    client.get(reverse("citizens:points"))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("citizens:points"))
    assert page.status_code == 200 and "好事0" in page.content.decode()
