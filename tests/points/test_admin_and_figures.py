"""The admin (rules editable by superusers, the ledger read-only), the ledger's places
following a move of the tree, and the figures the dashboard and the digest read."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from points import services
from points.models import PointBalance, PointEntry, PointRule
from points.selectors import points_figures


def test_the_admin_edits_rules_and_only_reads_the_ledger(client, world):
    entry = services.points_award(
        person=world.persons["unit_head"], rule="good_deed", act_key="a:1", area=world.u1
    )
    client.force_login(world.users["admin"])
    rule = PointRule.objects.get(code="good_deed")
    assert client.get(reverse("admin:points_pointrule_change", args=[rule.pk])).status_code == 200
    response = client.post(
        reverse("admin:points_pointrule_change", args=[rule.pk]),
        {"name": "", "points": 4, "active": "on", "description": "好人好事"},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.points == 4
    page = client.get(reverse("admin:points_pointentry_changelist"))
    assert page.status_code == 200 and "莲心社区" in page.content.decode()
    for name in ("pointentry", "pointbalance", "gooddeed", "rewarditem"):
        assert client.get(reverse(f"admin:points_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:points_{name}_add")).status_code == 403
    response = client.post(
        reverse("admin:points_pointentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert PointEntry.objects.filter(pk=entry.pk).exists()


def test_the_ledger_follows_a_moved_grid(world):
    from grids.services import area_move

    services.points_award(
        person=world.persons["unit_head"], rule="good_deed", act_key="m:1", area=world.u1
    )
    area_move(area=world.g1, parent=world.community_b)
    entry = PointEntry.objects.get(act_key="m:1")
    balance = PointBalance.objects.get(person=world.persons["unit_head"])
    assert entry.community_id == balance.community_id == world.community_b.pk


def test_points_figures_per_community(world, django_assert_max_num_queries):
    from residents.services import resident_person_ensure

    person = resident_person_ensure(resident=world.residents["U1"])
    worker = world.users["community"]
    services.good_deed_register(
        person=person, area=world.u1, what="扫雪", done_on=timezone.localdate(), actor=worker
    )
    item = services.reward_item_create(
        community=world.community_a, name="肥皂", cost=1, stock=3, actor=worker
    )
    services.reward_redeem(item=item, person=person, actor=worker)
    services.points_award(
        person=world.persons["grid_head"], rule="visit_logged", act_key="v:9", area=world.g3
    )
    now = timezone.now()
    with django_assert_max_num_queries(2):
        figures = points_figures(
            scope_community_ids=[world.community_a.pk, world.community_b.pk],
            since=now - dt.timedelta(days=1),
            until=now + dt.timedelta(days=1),
        )
    assert figures[world.community_a.pk] == {
        "earned": 2,
        "redeemed": 1,
        "savers": 1,
        "good_deeds": 1,
    }
    assert figures[world.community_b.pk] == {
        "earned": 1,
        "redeemed": 0,
        "savers": 0,
        "good_deeds": 0,
    }
