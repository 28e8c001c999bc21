"""The monthly dispatch (每月一调度) of March 2025, per street and county, built on 1 April:
intake, solved, solve rate, median time to solve, satisfaction, share solved at each level,
the community ranking and the heads' activity."""

from __future__ import annotations

import datetime as dt

import pytest

from digests.models import Digest
from digests.services import digests_build

from .conftest import MONTH_BUILT

M = Digest.Kind.MONTHLY
MARCH = dt.date(2025, 3, 1)

# A: reported in March T1, T4, T9, T8, T2, T3, T7, T10 (T6 came in February); solved in
# March T9 (5 h: Tue 10:00–15:00), T8 (6 h: Wed 11:00–17:00), T4 (55 h: Tue 09:00–Thu 16:00)
# — all three reported in March too; rated: T9 satisfied by its reporter, T4 basically
# satisfied on a return call (2 of 2: Wilson lower bound 34.2 %).
# B: T5 reported; solved on Thursday but reopened on Friday (rated unsatisfied by its
# reporter): not solved.
STATS_A = {
    "intake": 8,
    "intake_solved": 3,
    "solve_rate": 37.5,
    "solved": 3,
    "median_hours": 6.0,
    "rated": 2,
    "satisfied": 2,
    "unsatisfied": 0,
    "satisfaction": 100.0,
    "satisfaction_bound": 34.2,
    "rated_resident": 1,
    "rated_call": 1,
    "not_rated": 0,
    "levels": {"grid": 2, "community": 1, "street": 0, "above": 0},  # T4 grid, T8 unit; T9
    "level_shares": {"grid": 66.7, "community": 33.3, "street": 0.0, "above": 0.0},
}
STATS_B = {
    "intake": 1,
    "intake_solved": 0,
    "solve_rate": 0.0,
    "solved": 0,
    "median_hours": None,
    "rated": 1,
    "satisfied": 0,
    "unsatisfied": 1,
    "satisfaction": 0.0,
    "satisfaction_bound": 0.0,
    "rated_resident": 1,
    "rated_call": 0,
    "not_rated": 0,
    "levels": {"grid": 0, "community": 0, "street": 0, "above": 0},
    "level_shares": {"grid": None, "community": None, "street": None, "above": None},
}
STATS_ALL = {
    **STATS_A,
    "intake": 9,
    "solve_rate": 33.3,
    "rated": 3,
    "unsatisfied": 1,
    "satisfaction": 66.7,
    "satisfaction_bound": 20.8,
    "rated_resident": 2,
}
# heads in post: A 4 (unit, building and grid heads, the community worker), B 1. Visits in
# March: A 3 (unit head once, grid head twice), B 1. Acted on: A T4, T8, T9 (the reports
# and the sweeps had no person acting); B T5. Active: all but A's building head.
ACTIVITY_A = {"heads": 4, "active_heads": 3, "visits": 3, "visitors": 2, "handled": 3}
ACTIVITY_B = {"heads": 1, "active_heads": 1, "visits": 1, "visitors": 1, "handled": 1}


@pytest.fixture
def month(rhythm):
    rhythm.play(MONTH_BUILT)
    digests_build(kind=M, day=dt.date(2025, 3, 15))
    return rhythm


def monthly(node) -> Digest:
    return Digest.objects.get(kind=M, node=node, period_start=MARCH)


def test_one_per_street_and_county(month):
    assert {d.node for d in Digest.objects.filter(kind=M)} == {month.street, month.county}
    digest = monthly(month.street)
    assert (digest.period_start, digest.period_end) == (MARCH, dt.date(2025, 3, 31))


def test_the_street_totals(month):
    assert monthly(month.street).figures["totals"] == STATS_ALL


def test_the_ranking(month):
    ranking = monthly(month.street).figures["ranking"]
    assert [(r["rank"], r["name"], r["street"]) for r in ranking] == [
        (1, "莲心社区", "莲城街道"),
        (2, "旴江社区", "莲城街道"),
    ]
    assert [r["ranked"] for r in ranking] == [True, True]
    strip = ("rank", "ranked", "name", "code", "street")
    assert {k: v for k, v in ranking[0].items() if k not in strip} == STATS_A
    assert {k: v for k, v in ranking[1].items() if k not in strip} == STATS_B


def test_the_heads_activity(month):
    activity = {
        row["name"]: {k: row[k] for k in ACTIVITY_A}
        for row in monthly(month.street).figures["activity"]
    }
    assert activity == {"莲心社区": ACTIVITY_A, "旴江社区": ACTIVITY_B}


def test_the_county_has_the_street_rows(month):
    f = monthly(month.county).figures
    assert f["totals"] == STATS_ALL
    (street,) = f["streets"]
    assert street["name"] == "莲城街道"
    assert {k: v for k, v in street.items() if k not in ("name", "code")} == STATS_ALL
    assert [r["name"] for r in f["ranking"]] == ["莲心社区", "旴江社区"]
    assert len(f["activity"]) == 2


def test_february_is_another_month(month):
    """T6 (reported 28 February) and the unit head's February visit are February's."""
    digests_build(kind=M, day=dt.date(2025, 2, 10))
    feb = Digest.objects.get(kind=M, node=month.street, period_start=dt.date(2025, 2, 1))
    assert feb.figures["totals"]["intake"] == 1
    assert feb.figures["totals"]["solved"] == 0
    activity = {row["name"]: row for row in feb.figures["activity"]}
    assert (activity["莲心社区"]["visits"], activity["莲心社区"]["active_heads"]) == (1, 1)


def test_the_text_carries_the_ranking(month):
    text = monthly(month.street).text
    assert "1. 莲心社区" in text and "2. 旴江社区" in text
    assert "37.5%" in text and "66.7%" in text


def test_the_engagement_of_each_community(rhythm):
    """Wishes posted, claimed and confirmed, regular meetings held, household votes closed
    and points earned during the month, per community; February's stay in February."""
    from django.db.models import Sum

    from councils import services as councils
    from dashboard.best_heads import NOT_EARNED
    from points.models import PointEntry
    from wishes import services as wishes

    from .conftest import local

    w = rhythm  # the world through the rhythm
    community = rhythm.user("community")

    def wish(title):
        return wishes.wish_post(area=w.u1, title=title, resident=w.residents["U1"], actor=community)

    with rhythm.clock.at(local(2025, 2, 27, 10, 0)):
        wish("二月的心愿")
    rhythm.play(MONTH_BUILT)
    with rhythm.clock.at(local(2025, 3, 10, 10, 0)):
        wish("帮忙买一袋面粉")
        wish("修一盏楼道灯")
    with rhythm.clock.at(local(2025, 3, 12, 19, 0)):
        meeting = councils.meeting_plan(
            area=w.b3, date=dt.date(2025, 3, 12), actor=rhythm.user("outsider")
        )
        councils.meeting_hold(
            meeting=meeting,
            actor=rhythm.user("outsider"),
            attendees=[w.persons["outsider"]],
            minutes="楼栋周例会",
        )
    digests_build(kind=M, day=dt.date(2025, 3, 15))
    figures = monthly(rhythm.street).figures
    rows = {row["name"]: row for row in figures["engagement"]}
    assert (rows["莲心社区"]["wishes_posted"], rows["莲心社区"]["meetings_held"]) == (2, 0)
    assert (rows["旴江社区"]["wishes_posted"], rows["旴江社区"]["meetings_held"]) == (0, 1)
    march = PointEntry.objects.filter(at__gte=local(2025, 3, 1), at__lt=local(2025, 4, 1))
    march = march.exclude(NOT_EARNED)
    for name, area in (("莲心社区", w.community_a), ("旴江社区", w.community_b)):
        earned = march.filter(community=area).aggregate(n=Sum("amount"))["n"] or 0
        assert rows[name]["points_earned"] == earned
    assert rows["莲心社区"]["points_earned"] > 0  # the March visits and solved problems
    totals = figures["engagement_totals"]
    assert (totals["wishes_posted"], totals["meetings_held"]) == (2, 1)
    assert "微心愿：发布 2 个" in monthly(rhythm.street).text
