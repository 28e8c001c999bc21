"""The ranking at scale: ordered as its indexes are (most earned, then the larger balance,
then who started first), numbered pages over its top ``RANKED_CAP`` only, and two queries
for the rows whatever the scope's size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grids.services import person_get_or_create
from points import selectors, services


def _saver(world, i: int, earned: int, redeemed: int = 0):
    person = person_get_or_create(name=f"储户{i:03d}", phone=f"1370000{i:04d}")
    worker = world.users["community"]
    services.points_adjust(
        person=person, amount=earned, reason="好人好事", actor=worker, area=world.u1
    )
    if redeemed:
        item = services.reward_item_create(
            community=world.community_a, name="洗衣液", cost=redeemed, stock=1, actor=worker
        )
        services.reward_redeem(item=item, person=person, actor=worker)
    return person


def test_ties_go_to_the_larger_balance_then_to_who_started_first(world):
    spent = _saver(world, 1, 10, redeemed=4)  # earned 10, balance 6: redeeming is not earning
    second = _saver(world, 2, 10)
    third = _saver(world, 3, 12)
    fourth = _saver(world, 4, 10)
    rows = list(selectors.ranking(world.users["community"]))
    assert [row.person_id for row in rows] == [third.pk, second.pk, fourth.pk, spent.pk]
    assert [(row.earned, row.balance) for row in rows] == [(12, 12), (10, 10), (10, 10), (10, 6)]


def test_the_page_lists_its_top_and_stops_at_the_cap(client, world, monkeypatch):
    monkeypatch.setattr(selectors, "RANKED_CAP", 5)
    people = [_saver(world, i, 20 - i) for i in range(7)]
    client.force_login(world.users["community"])
    page = client.get(reverse("points:index"), {"page": 2, "size": 25})
    # With pages of 25 the cap of 5 is one page: page 2 is page 1, five rows, ranks 1–5.
    ranking = page.context["page"]
    assert [row.person_id for row in ranking] == [p.pk for p in people[:5]]
    assert ranking.number == 1 and ranking.num_pages == 1 and ranking.count_capped
    assert page.context["first_rank"] == 1
    text = page.content.decode()
    assert "储户005" not in text and "储户000" in text
    assert 'data-count="6"' in text  # counted up to the cap and one more


def test_numbered_pages_go_to_the_cap_and_no_further(world, monkeypatch):
    monkeypatch.setattr(selectors, "RANKED_CAP", 5)
    people = [_saver(world, i, 20 - i) for i in range(7)]
    rows = selectors.ranking(world.users["community"])
    page = selectors.ranking_page(rows, number="2", size=2)
    assert [r.person_id for r in page] == [p.pk for p in people[2:4]]
    assert (page.first_rank, page.num_pages, page.has_next, page.has_previous) == (3, 3, True, True)
    last = selectors.ranking_page(rows, number="9", size=2)  # past the cap: the last page
    assert [r.person_id for r in last] == [people[4].pk]
    assert (last.number, last.first_rank, last.has_next) == (3, 5, False)
    assert selectors.ranking_page(rows, number="x", size=2).number == 1


@pytest.mark.parametrize("size", [3, 30])
def test_the_page_reads_two_queries_for_its_rows(world, size):
    for i in range(size):
        _saver(world, i, 5 + i % 4)
    rows = selectors.ranking(world.users["community"])
    selectors.ranking_page(rows, number="1", size=25)  # the scope warm
    with CaptureQueriesContext(connection) as queries:
        page = selectors.ranking_page(rows, number="1", size=25)
        [row.person.name for row in page]
        [row.area.name for row in page]
    assert len(queries) == 2
    assert len(page) == min(size, 25)
    assert "LIMIT 1001" in queries[0]["sql"]
