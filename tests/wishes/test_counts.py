"""wish_counts: posted / claimed / fulfilled / confirmed / open and the wish list's outcomes
per community and grid, in three queries at any size, scoped."""

import pytest

from wishes import services
from wishes.models import Outcome
from wishes.selectors import wish_counts

pytestmark = pytest.mark.django_db


def _spread(wt, n):
    for i in range(n):
        wish = wt.post(area=(wt.w.u1, wt.w.u3, wt.w.u4)[i % 3], title=f"心愿{i}")
        if i % 3 == 2:
            services.wish_claim(wish=wish, person=wt.volunteer)
            continue
        if i % 4 == 0:
            services.wish_claim(wish=wish, person=wt.member)
            services.wish_fulfil(wish=wish, person=wt.member, note="好了")
            services.wish_confirm(wish=wish, account=wt.poster)
        elif i % 4 == 1:
            services.wish_sort(
                wish=wish, outcome=Outcome.RENOVATION, note="改造", actor=wt.user("community")
            )


def test_the_counts_of_a_small_world(wt):
    _spread(wt, 6)  # 0:U1 done, 1:U3 plan, 2:U4 claimed, 3:U1 open, 4:U3 done, 5:U4 claimed
    counts = wish_counts(area=wt.w.street)
    by = {row["area"].pk: row for row in counts.communities}
    a, b = by[wt.w.community_a.pk], by[wt.w.community_b.pk]
    assert (a["posted"], a["claimed"], a["fulfilled"], a["confirmed"]) == (4, 2, 2, 2)
    assert (a["renovation"], a["open"], a["done_at_once"]) == (1, 1, 0)
    assert (b["posted"], b["claimed"], b["open"]) == (2, 2, 2)
    grids = {row["area"].pk: row["posted"] for row in counts.grids}
    assert grids == {wt.w.g1.pk: 2, wt.w.g2.pk: 2, wt.w.g3.pk: 2}
    assert counts.total["posted"] == 6
    scoped = wish_counts(user=wt.user("community"))
    assert [row["area"] for row in scoped.communities] == [wt.w.community_a]


@pytest.mark.parametrize("size", [3, 24])
def test_the_counts_read_three_queries(wt, django_assert_num_queries, size):
    _spread(wt, size)
    with django_assert_num_queries(3):
        counts = wish_counts(area=wt.w.street)
    assert counts.total["posted"] == size
