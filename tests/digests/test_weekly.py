"""The weekly supervision (每周一督促) of 3–9 March, per street and for the county office,
built on Wednesday 12 March at 09:00 (a worker that was down; no overdue sweep ran since
Friday): what happened during the week, and the open and overdue problems, the
rectification list and the reopened ones as of that moment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from digests.models import Digest
from digests.services import digests_build, digests_deliver

from .conftest import WEEK_BUILT

W = Digest.Kind.WEEKLY
MONDAY = dt.date(2025, 3, 3)
COUNTS = ("new", "solved", "open", "overdue", "rectification", "reopened")


def counts(new=0, solved=0, open=0, overdue=0, rectification=0, reopened=0) -> dict:
    return {
        "new": new,
        "solved": solved,
        "open": open,
        "overdue": overdue,
        "rectification": rectification,
        "reopened": reopened,
    }


def only_counts(row: dict) -> dict:
    return {k: row[k] for k in COUNTS}


@pytest.fixture
def week(rhythm):
    rhythm.play(WEEK_BUILT)
    result = digests_build(kind=W, day=dt.date(2025, 3, 5))
    return rhythm, result


def weekly(node) -> Digest:
    return Digest.objects.get(kind=W, node=node, period_start=MONDAY)


# A: reported T1, T4, T9, T8, T2, T3, T7, T10; solved T4, T8, T9; open T1, T2, T3, T6, T7,
# T10, of which T2, T6, T7 and T10 are past their Tuesday deadline; T1 and T6 on the
# rectification list. B: reported T5, reopened on Friday, open (deadline Wednesday night).
A = counts(new=8, solved=3, open=6, overdue=4, rectification=2)
B = counts(new=1, open=1, reopened=1)
ALL = counts(new=9, solved=3, open=7, overdue=4, rectification=2, reopened=1)


def test_one_per_community_street_and_county(week):
    rhythm, result = week
    digests = Digest.objects.filter(kind=W)
    assert {d.node for d in digests} == {
        rhythm.community_a,
        rhythm.world.community_b,
        rhythm.street,
        rhythm.county,
    }
    assert result.created == 4
    digest = weekly(rhythm.street)
    assert (digest.period_start, digest.period_end) == (MONDAY, dt.date(2025, 3, 9))
    assert digest.figures["snapshot_at"] == WEEK_BUILT.isoformat()


def test_the_street_by_community(week):
    rhythm, _result = week
    f = weekly(rhythm.street).figures
    assert f["totals"] == ALL
    rows = {row["name"]: only_counts(row) for row in f["communities"]}
    assert rows == {"莲心社区": A, "旴江社区": B}
    assert f["rest"] == counts()
    assert f["streets"] == []


def test_every_open_problem_by_community_overdue_first(week):
    rhythm, _result = week
    f = weekly(rhythm.street).figures
    listed = [(t["id"], t["community"], t["overdue"]) for t in f["open_tickets"]]
    t = rhythm.t
    assert listed == [
        (t["T6"].pk, "莲心社区", True),  # the four due Tuesday night, in report order
        (t["T2"].pk, "莲心社区", True),
        (t["T7"].pk, "莲心社区", True),
        (t["T10"].pk, "莲心社区", True),
        (t["T1"].pk, "莲心社区", False),  # due Wednesday night
        (t["T3"].pk, "莲心社区", False),  # not triaged: no deadline
        (t["T5"].pk, "旴江社区", False),
    ]


def test_the_rectification_list_with_its_new_deadlines(week):
    rhythm, _result = week
    f = weekly(rhythm.street).figures
    rows = [
        (t["id"], t["level"], t["handler"], t["deadline"], t["escalations"], t["overdue"])
        for t in f["rectification"]
    ]
    assert rows == [
        (rhythm.t["T6"].pk, "building", "1栋", "2025-03-11T23:59:59+08:00", 1, True),
        (rhythm.t["T1"].pk, "building", "1栋", "2025-03-12T23:59:59+08:00", 1, False),
    ]


def test_reopened_and_low_rated(week):
    rhythm, _result = week
    f = weekly(rhythm.street).figures
    (reopened,) = f["reopened"]
    assert (reopened["id"], reopened["community"], reopened["state"]) == (
        rhythm.t["T5"].pk,
        "旴江社区",
        "in_progress",
    )
    assert (reopened["reopens_in_week"], reopened["reopen_count"]) == (1, 1)
    assert reopened["rating_comment"] == "还是漏水"
    assert [t["id"] for t in f["unsatisfied_open"]] == rhythm.ids("T5")


def test_the_county_office_sees_the_same_by_street(week):
    rhythm, _result = week
    f = weekly(rhythm.county).figures
    assert f["totals"] == ALL
    assert [(row["name"], only_counts(row)) for row in f["streets"]] == [("莲城街道", ALL)]
    rows = {row["name"]: (row["street"], only_counts(row)) for row in f["communities"]}
    assert rows == {"莲心社区": ("莲城街道", A), "旴江社区": ("莲城街道", B)}
    assert len(f["open_tickets"]) == 7 and len(f["rectification"]) == 2


def test_mailed_to_the_communities_the_street_and_the_county_officer(week):
    rhythm, _result = week
    assert digests_deliver(kind=W) == 4
    assert sorted(m.to[0] for m in mail.outbox) == [
        "community@grid.example.org",  # community A's secretary: A's own list
        "county@grid.example.org",
        "outsider@grid.example.org",  # community B's secretary: B's
        "street@grid.example.org",
    ]
    text = weekly(rhythm.street).text
    assert "莲心社区: 8 / 3 / 6 / 4 / 2 / 0" in text
    assert "还是漏水" in text


def test_a_long_list_keeps_the_most_urgent_and_counts_the_rest(rhythm, monkeypatch):
    """A district of a city holds thousands of open problems: each list of the weekly
    digest keeps the most urgent (overdue first, then the nearest deadline) and says how
    many more there are, which the inbox lists in full."""
    from digests import figures as digest_figures
    from digests.rendering import render_digest

    monkeypatch.setattr(digest_figures, "WEEKLY_LISTED", 3)
    rhythm.play(WEEK_BUILT)
    digests_build(kind=W, day=dt.date(2025, 3, 5))
    digest = weekly(rhythm.street)
    f = digest.figures
    t = rhythm.t
    # Of the seven open ones, the four overdue by deadline; the three kept in community order.
    assert [x["id"] for x in f["open_tickets"]] == [t["T6"].pk, t["T2"].pk, t["T7"].pk]
    assert f["open_tickets_more"] == 4
    assert f["totals"]["open"] == 7  # the counts are whole
    assert f["rectification_more"] == 0 and len(f["rectification"]) == 2
    text, html = render_digest(digest)
    assert "还有 4 个" in text and "/tickets/" in text
    assert "还有 4 个" in html and 'href="' in html
