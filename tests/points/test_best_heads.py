"""最美三长 from fixed data: per community the best unit, building and grid head of the
month by points earned in it, ties broken by the residents' satisfied ratings of the
problems they solved; redemptions and other months do not count; fixed queries."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from dashboard.best_heads import best_heads
from grids import services as g
from grids.rules import PostTitle as T
from issues import services as issues
from issues.rules import ReporterActor
from points import services
from tests.issues.helpers import local

NOVEMBER = dt.date(2026, 11, 1)


def _head(name, phone, area, title):
    user = User.objects.create_user(f"u{phone}", password="pw-for-tests-1")
    person = g.person_get_or_create(name=name, phone=phone)
    person.user = user
    person.save(update_fields=["user"])
    g.post_assign(area=area, title=title, person=person)
    return user, person


@pytest.fixture
def month(t, freeze):
    """November 2026 in 莲心社区 and 旴江社区:

    - unit heads of 莲心: 严福 (U1) 5 points by hand; 王小梅 (U3) solves a problem at her unit
      (3) that the reporter rates satisfied (2): 5 points and one satisfied rating — she wins
      the tie; 周强 (U2) earns 4 and spends 3 (spending is not earning).
    - building head of 莲心: 朱英水 2 points for a good deed, the only building head with any.
    - grid heads of 莲心: none earned anything: nobody listed.
    - 旴江: 吴军 (U4) earned 9 points, but in October.
    """
    community = t.users["community"]
    u3_user, wang = _head("王小梅", "13500000003", t.u3, T.UNIT_HEAD)
    _u2_user, zhou = _head("周强", "13500000002", t.u2, T.UNIT_HEAD)
    _u4_user, wu = _head("吴军", "13500000004", t.u4, T.UNIT_HEAD)
    item = services.reward_item_create(
        community=t.community_a, name="肥皂", cost=3, stock=5, actor=community
    )
    with freeze(local(2026, 10, 20, 9)):
        services.points_adjust(person=wu, amount=9, reason="十月表现", actor=t.users["outsider"])
    with freeze(local(2026, 11, 10, 9)):
        services.points_adjust(
            person=t.persons["unit_head"], amount=5, reason="楼道清扫", actor=community
        )
        ticket = t.report(t.u3, tier="simple", reporter=t.residents["U3"])
        issues.ticket_resolve(ticket=ticket, actor=u3_user, feedback="已修好")
        ticket.refresh_from_db()
        issues.ticket_rate(
            ticket=ticket,
            actor=ReporterActor(ticket.reporters.get()),
            rating="satisfied",
        )
        services.points_adjust(person=zhou, amount=4, reason="协助", actor=community)
        services.reward_redeem(item=item, person=zhou, actor=community)
        services.points_award(
            person=t.persons["building_head"], rule="good_deed", act_key="d:1", area=t.b1
        )
    return {"wang": wang, "zhou": zhou, "wu": wu}


def _names(result):
    return {
        item.community.name: {
            title: (best.name if best else None) for title, best in item.best.items()
        }
        | {t: None for t in (T.UNIT_HEAD, T.BUILDING_HEAD, T.GRID_HEAD) if t not in item.best}
        for item in result
    }


def test_the_best_heads_of_november(t, month, django_assert_max_num_queries):
    ids = [t.community_a.pk, t.community_b.pk]
    with django_assert_max_num_queries(3):
        result = best_heads(scope_community_ids=ids, month=NOVEMBER)
    assert _names(result) == {
        "莲心社区": {T.UNIT_HEAD: "王小梅", T.BUILDING_HEAD: "朱英水", T.GRID_HEAD: None},
        "旴江社区": {T.UNIT_HEAD: None, T.BUILDING_HEAD: None, T.GRID_HEAD: None},
    }
    best = result[0].best[T.UNIT_HEAD]
    assert (best.points, best.satisfied) == (5, 1)


def test_another_month_another_list(t, month):
    result = best_heads(
        scope_community_ids=[t.community_a.pk, t.community_b.pk], month=dt.date(2026, 10, 1)
    )
    assert _names(result)["旴江社区"][T.UNIT_HEAD] == "吴军"
    assert _names(result)["莲心社区"][T.UNIT_HEAD] is None


def test_the_query_count_does_not_grow_with_the_heads(t, month, django_assert_max_num_queries):
    for i in range(6):
        _user, person = _head(f"单元长{i}", f"1350000010{i}", t.u1, T.UNIT_HEAD)
        services.points_award(person=person, rule="good_deed", act_key=f"x:{i}", area=t.u1)
    with django_assert_max_num_queries(3):
        best_heads(scope_community_ids=[t.community_a.pk, t.community_b.pk], month=NOVEMBER)


def test_the_page_shows_the_viewers_communities(client, t, month):
    client.force_login(t.users["community"])
    page = client.get(reverse("digests:best_heads"), {"month": "2026-11"}).content.decode()
    assert "王小梅" in page and "朱英水" in page and "旴江社区" not in page
    client.force_login(t.users["street"])
    page = client.get(reverse("digests:best_heads"), {"month": "2026-10"}).content.decode()
    assert "吴军" in page and "旴江社区" in page
    client.force_login(t.users["department"])
    assert client.get(reverse("digests:best_heads")).status_code == 403
    assert client.post(reverse("digests:best_heads")).status_code == 405


def test_a_month_that_is_over_is_read_as_its_monthly_digest_kept_it(
    client, t, month, freeze, django_assert_max_num_queries
):
    """The monthly digest (每月一调度) keeps each community's 最美三长; the page reads a month
    that is over from it — one query, whatever the number of heads — and a point dated in
    that month after the digest was built no longer changes it."""
    from digests.best_heads import best_heads_kept
    from digests.services import digests_build
    from grids.models import Area

    with freeze(local(2026, 12, 2, 9, 0)):
        digests_build(kind="monthly", day=dt.date(2026, 11, 15))
        communities = list(Area.objects.filter(pk__in=[t.community_a.pk, t.community_b.pk]))
        communities.sort(key=lambda c: (c.tree_id, c.lft))
        with django_assert_max_num_queries(1):
            kept = best_heads_kept(communities=communities, month=NOVEMBER)
        live = best_heads(scope_community_ids=[c.pk for c in communities], month=NOVEMBER)
        assert _names(kept) == _names(live)
        assert _names(kept)["莲心社区"][T.UNIT_HEAD] == "王小梅"
        # The month is closed: a late entry dated in it changes the working-out, not the list.
        with freeze(local(2026, 11, 30, 20, 0)):
            _user, late = _head("迟到的单元长", "13500000099", t.u1, T.UNIT_HEAD)
            services.points_award(person=late, rule="good_deed", act_key="late:1", area=t.u1)
            services.points_adjust(
                person=late, amount=20, reason="补记", actor=t.users["community"]
            )
        client.force_login(t.users["community"])
        page = client.get(reverse("digests:best_heads"), {"month": "2026-11"}).content.decode()
        assert "王小梅" in page and "迟到的单元长" not in page
        live = best_heads(scope_community_ids=[c.pk for c in communities], month=NOVEMBER)
        assert _names(live)["莲心社区"][T.UNIT_HEAD] == "迟到的单元长"
        # The month not yet over is worked out live.
        assert best_heads_kept(communities=communities, month=dt.date(2026, 12, 1)) is None


def test_the_page_opens_on_the_last_month_that_is_over(client, t, freeze):
    """As the monthly digest (每月一调度): the month just over, read from its digests."""
    with freeze(local(2026, 12, 2, 9, 0)):
        client.force_login(t.users["community"])
        page = client.get(reverse("digests:best_heads")).content.decode()
    assert 'value="2026-11"' in page


def test_an_act_undone_counts_nothing_also_when_its_points_were_spent(t, month, freeze):
    """A head earns points for two acts, spends them on a reward, then one act is undone:
    the reversal can take back only what is left, but the month's list counts nothing of
    the act undone (before, its award stood while the reversal took back 0)."""
    with freeze(local(2026, 11, 20, 10, 0)):
        _user, head = _head("刘建华", "13500000077", t.u1, T.UNIT_HEAD)
        for key in ("undo:1", "undo:2", "undo:3", "undo:4"):
            services.points_award(person=head, rule="good_deed", act_key=key, area=t.u1)
        item = services.reward_item_create(
            community=t.community_a, name="大米", cost=7, stock=3, actor=t.users["community"]
        )
        services.reward_redeem(item=item, person=head, actor=t.users["community"])
        services.points_reverse(rule="good_deed", act_key="undo:1", reason="撤销")
    result = best_heads(scope_community_ids=[t.community_a.pk], month=NOVEMBER)
    listed = {c.name: c for c in result[0].best.values()}
    # 8 earned, 7 spent, the reversal took back the 1 left: undo:2–4 count, not undo:1 (7
    # before, the award of undo:1 standing beside its reversal of 1).
    assert listed["刘建华"].points == 6
