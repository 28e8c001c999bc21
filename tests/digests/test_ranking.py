"""The monthly ranking: a minimum of ratings to be ranked, the order by the lower bound of
the Wilson interval, where the ratings came from; and declined reports in no digest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from digests.figures import MonthStats, Node, _ranking
from digests.models import Digest
from digests.services import digests_build
from issues import services
from issues.models import Ticket

from .conftest import MONTH_BUILT, THURSDAY, THURSDAY_EVENING, WEEK_BUILT, local
from .test_daily import counts as daily_counts
from .test_monthly import STATS_ALL
from .test_weekly import ALL as WEEKLY_ALL

M = Digest.Kind.MONTHLY
MARCH = dt.date(2025, 3, 1)


# --- the order, on figures made by hand ------------------------------------------------------


class FakeForest:
    """What ``_ranking`` asks of the forest: the street over a community (none here)."""

    def holder(self, layer, tree_id, lft):
        return None


def community(i: int) -> Node:
    return Node(
        pk=i,
        code=f"C{i}",
        name=f"社区{i}",
        kind="community",
        tree_id=1,
        lft=10 * i,
        rght=10 * i + 1,
    )


def stats(satisfied: int, unsatisfied: int, *, intake: int = 10, solved: int = 5) -> MonthStats:
    return MonthStats(
        intake=intake, intake_solved=solved, satisfied=satisfied, unsatisfied=unsatisfied
    )


def order(figures: dict[int, MonthStats]) -> list[tuple]:
    nodes = [community(i) for i in sorted(figures)]
    return [(r["code"], r["rank"]) for r in _ranking(FakeForest(), nodes, figures)]


def test_one_of_one_does_not_outrank_ninety_nine_of_a_hundred(settings):
    settings.RANKING_MIN_RATED = 1
    # C1: 1 of 1 satisfied (100 %, bound 20.7 %); C2: 99 of 100 (99 %, bound 94.6 %); C3:
    # 18 of 20 (90 %, bound 69.9 %).
    assert order({1: stats(1, 0), 2: stats(99, 1), 3: stats(18, 2)}) == [
        ("C2", 1),
        ("C3", 2),
        ("C1", 3),
    ]


def test_the_bound_before_the_solve_rate_and_the_solve_rate_on_a_tie(settings):
    settings.RANKING_MIN_RATED = 1
    # C1 solves more but has the lower bound; C2 and C3 have the same bound, C3 solves more.
    figures = {1: stats(6, 4, solved=10), 2: stats(9, 1, solved=2), 3: stats(9, 1, solved=5)}
    assert order(figures) == [("C3", 1), ("C2", 2), ("C1", 3)]


def test_below_the_minimum_listed_after_the_ranked_without_a_rank(settings):
    settings.RANKING_MIN_RATED = 5
    # C1 1 of 1, C2 4 of 4, C3 no rating at all: too few; C4 5 of 5 and C5 4 of 6 ranked.
    figures = {1: stats(1, 0), 2: stats(4, 0), 3: stats(0, 0), 4: stats(5, 0), 5: stats(4, 2)}
    nodes = [community(i) for i in sorted(figures)]
    rows = _ranking(FakeForest(), nodes, figures)
    assert [(r["code"], r["rank"], r["ranked"]) for r in rows] == [
        ("C4", 1, True),
        ("C5", 2, True),
        ("C2", None, False),  # 4 of 4: bound 51.0 %
        ("C1", None, False),  # 1 of 1: bound 20.7 %
        ("C3", None, False),  # nothing to divide: last
    ]
    assert [(r["satisfaction"], r["satisfaction_bound"]) for r in rows[:2]] == [
        (100.0, 56.6),
        (66.7, 30.0),
    ]


# --- the scripted month, at the default minimum ----------------------------------------------


@pytest.fixture
def month_default(rhythm, settings):
    settings.RANKING_MIN_RATED = 5  # the default: the scripted month has 2 and 1 ratings
    rhythm.play(MONTH_BUILT)
    digests_build(kind=M, day=dt.date(2025, 3, 15))
    return rhythm


def test_the_default_minimum_keeps_two_and_one_ratings_unranked(month_default):
    f = Digest.objects.get(kind=M, node=month_default.street, period_start=MARCH).figures
    assert f["ranking_min_rated"] == 5
    assert [(r["name"], r["rank"], r["ranked"], r["rated"]) for r in f["ranking"]] == [
        ("莲心社区", None, False, 2),
        ("旴江社区", None, False, 1),
    ]


def test_the_page_shows_the_sources_the_bound_and_too_few(month_default, client):
    digest = Digest.objects.get(kind=M, node=month_default.street, period_start=MARCH)
    client.force_login(month_default.user("street"))
    with translation.override("en"):
        page = client.get(reverse("digests:digest_detail", args=[digest.pk])).content.decode()
    assert 'id="ranking-too-few" data-count="2"' in page
    assert "2 communities with too few ratings to rank (fewer than 5 in the month)" in page
    assert page.count('data-ranked="0"') == 2 and 'data-ranked="1"' not in page
    assert 'id="ranking-none"' in page  # nobody ranked: no empty table
    # the unranked are a compact list (names, reported, solved, rated): A's lower bound
    # (34.2 %, 2 of 2 satisfied) is in the text digest and the XLSX, not on the page
    # the month: T9 and T5 rated by their reporter, T4 on a return call
    assert 'id="rated-resident">2<' in page and 'id="rated-call">1<' in page
    assert 'id="not-rated">0<' in page
    assert "by return call" in page


def test_the_mail_and_the_text_show_the_sources(month_default):
    digest = Digest.objects.get(kind=M, node=month_default.street, period_start=MARCH)
    assert 'id="rated-resident">2<' in digest.html and 'id="rated-call">1<' in digest.html
    assert "34.2%" in digest.text
    # unranked: listed with a dash, not a rank
    assert "- 莲心社区" in digest.text and "1. 莲心社区" not in digest.text


def test_a_problem_closed_not_rated_is_counted_beside_the_rate(rhythm, settings):
    rhythm.play(MONTH_BUILT)
    t1 = rhythm.fresh("T1")
    Ticket.objects.filter(pk=t1.pk).update(
        state=Ticket.State.CLOSED, rating=Ticket.Rating.NOT_RATED, closed_at=local(2025, 3, 20)
    )
    digests_build(kind=M, day=dt.date(2025, 3, 15))
    totals = Digest.objects.get(kind=M, node=rhythm.street, period_start=MARCH).figures["totals"]
    assert (totals["not_rated"], totals["rated"], totals["satisfaction"]) == (1, 3, 66.7)


# --- declined reports ------------------------------------------------------------------------


def test_declined_and_merged_reports_are_in_no_digest(rhythm):
    """Thursday afternoon two more reports come in at U1: community A declines one and merges
    the other into T2. Every figure of the day, the week and the month is as without them."""
    rhythm.play(local(2025, 3, 6, 17, 30))
    community = rhythm.user("community")
    rhythm.report("X1", rhythm.world.u1)
    rhythm.report("X2", rhythm.world.u1)
    services.ticket_decline(
        ticket=rhythm.fresh("X1"),
        actor=community,
        reason=Ticket.DeclineReason.ALREADY_SOLVED,
        note="已于上周修好",
    )
    services.ticket_merge(ticket=rhythm.fresh("X2"), into=rhythm.fresh("T2"), actor=community)

    rhythm.play(THURSDAY_EVENING)
    digests_build(kind="daily", day=THURSDAY)
    daily = Digest.objects.get(kind="daily", node=rhythm.community_a, period_start=THURSDAY)
    assert daily.figures["totals"] == daily_counts(new=3, moved=5, solved=1, overdue=1)
    listed = {t["id"] for t in daily.figures["tickets"]}
    assert not listed & set(rhythm.ids("X1", "X2"))

    rhythm.play(WEEK_BUILT)
    digests_build(kind="weekly", day=THURSDAY)
    rhythm.play(MONTH_BUILT)
    digests_build(kind=M, day=THURSDAY)
    weekly = Digest.objects.get(kind="weekly", node=rhythm.street)
    assert weekly.figures["totals"] == WEEKLY_ALL
    monthly = Digest.objects.get(kind=M, node=rhythm.street, period_start=MARCH)
    assert monthly.figures["totals"] == STATS_ALL
