"""Each community's own weekly supervision (每周一督促): the county office's rectification list
(整改清单) of that community only, each problem named from below the community with its
level and new deadline, grid by grid; mailed to the community's people, read and exported
by them, and built for a whole city at a cost that does not grow with its communities.

The week of 3–9 March (``conftest``), built on Thursday 13 March just after the overdue
sweep of that night: community A's T2, T7 and T10 (due Tuesday night), T1 and T6 (due again
Wednesday and Tuesday night) are lifted onto the list, and community B's T5 (reopened on
Friday, due Wednesday night) with them."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from digests.models import Digest
from digests.services import digests_build, digests_deliver
from issues import services
from issues.models import Ticket
from issues.rules import OPEN_STATES

from .conftest import WEEK_BUILT, local
from .test_queries import DAY, grow

W = Digest.Kind.WEEKLY
MONDAY = dt.date(2025, 3, 3)
SWEPT = local(2025, 3, 13, 0, 5)
BUILT = local(2025, 3, 13, 8, 0)


@pytest.fixture
def week(rhythm):
    rhythm.play(WEEK_BUILT)
    rhythm.clock.set(SWEPT)
    services.tickets_escalate_overdue()
    rhythm.clock.set(BUILT)
    digests_build(kind=W, day=MONDAY)
    return rhythm


def weekly(node) -> Digest:
    return Digest.objects.get(kind=W, node=node, period_start=MONDAY)


def listed(community) -> set[int]:
    """What the tickets themselves say is on the community's rectification list."""
    return set(
        Ticket.objects.filter(
            community_id=community.pk,  # the problem's ancestor key
            state__in=OPEN_STATES,
            on_rectification_list=True,
        ).values_list("pk", flat=True)
    )


def test_each_community_lists_exactly_its_own_rectification_problems(week):
    a, b = week.community_a, week.world.community_b
    on_a = {t["id"] for t in weekly(a).figures["rectification"]}
    on_b = {t["id"] for t in weekly(b).figures["rectification"]}
    assert on_a == set(week.ids("T1", "T2", "T6", "T7", "T10")) == listed(a)
    assert on_b == set(week.ids("T5")) == listed(b)
    # the street's list is the two together
    assert {t["id"] for t in weekly(week.street).figures["rectification"]} == on_a | on_b


def test_each_problem_with_its_place_below_the_community_level_and_new_deadline(week):
    rows = {t["id"]: t for t in weekly(week.community_a).figures["rectification"]}
    paths = {name: rows[week.t[name].pk]["path"] for name in ("T1", "T2", "T7")}
    assert paths == {
        "T1": "第1网格 › 1栋 › 1单元",
        "T2": "第1网格 › 1栋 › 2单元",
        "T7": "",  # at the community itself: named as its place
    }
    for pk, row in rows.items():
        ticket = Ticket.objects.get(pk=pk)
        assert row["level"] == ticket.level
        assert row["deadline"] == ticket.deadline.astimezone(BUILT.tzinfo).isoformat()
        assert row["deadline"] > BUILT.isoformat()  # the new deadline
        assert row["community"] == "莲心社区"


def test_the_community_s_table_is_grid_by_grid(week):
    f = weekly(week.community_a).figures
    assert f["communities"] == [] and f["streets"] == []
    grids = {row["name"]: row for row in f["grids"]}
    assert set(grids) == {"第1网格", "第2网格"}
    # T1, T2, T6, T10 under 第1网格; T7 at the community itself, in no grid
    assert grids["第1网格"]["rectification"] == 4
    assert f["rest"]["rectification"] == 1
    assert f["totals"]["rectification"] == 5


def test_mailed_to_the_community_s_people(week):
    assert digests_deliver(kind=W) == 4
    to = {m.to[0]: m for m in mail.outbox}
    assert set(to) == {
        "community@grid.example.org",
        "outsider@grid.example.org",
        "street@grid.example.org",
        "county@grid.example.org",
    }
    own = to["community@grid.example.org"]
    assert own.subject.startswith("莲心社区")
    assert "第1网格 › 1栋 › 2单元" in own.body
    assert f"#{week.t['T5'].pk} " not in own.body  # community B's, not in A's mail
    assert f"#{week.t['T5'].pk} " in to["outsider@grid.example.org"].body


def test_the_community_reads_its_page_and_not_the_other_s(week, client):
    client.force_login(week.user("community"))
    page = client.get(reverse("digests:digest_detail", args=[weekly(week.community_a).pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="weekly-grids"' in html and 'id="weekly-communities"' not in html
    assert "第1网格 › 1栋 › 2单元" in html
    other = weekly(week.world.community_b).pk
    assert client.get(reverse("digests:digest_detail", args=[other])).status_code == 404
    assert client.get(reverse("digests:digest_export", args=[other])).status_code == 404


def test_the_community_s_rectification_list_exports_to_xlsx(week, client):
    client.force_login(week.user("community"))
    digest = weekly(week.community_a)
    response = client.get(reverse("digests:digest_export", args=[digest.pk]))
    assert response.status_code == 200
    code = week.community_a.code
    assert f"rectification-{code}-20250303.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    header, *rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert len(header) == 10
    assert {row[2] for row in rows} == set(week.ids("T1", "T2", "T6", "T7", "T10"))
    by_id = {row[2]: row for row in rows}
    t2 = by_id[week.t["T2"].pk]
    assert t2[:2] == ["莲城街道", "莲心社区"] and t2[4] == "第1网格 › 1栋 › 2单元"
    assert by_id[week.t["T7"].pk][4] == "莲心社区"  # at the community itself


def _count(run) -> int:
    with CaptureQueriesContext(connection) as queries:
        run()
    return len(queries)


def test_the_whole_city_s_weekly_run_costs_the_same_for_2_and_8_more_communities(rhythm):
    grow(rhythm, "369931", 2)
    small = _count(lambda: digests_build(kind=W, day=DAY))
    grow(rhythm, "369932", 8)
    large = _count(lambda: digests_build(kind=W, day=DAY + dt.timedelta(days=7)))
    assert large == small
    per_week = Digest.objects.filter(kind=W).values_list("period_start").distinct().count()
    assert per_week == 2
    # the world's 2 communities, street and county; then 2 and 8 communities with their
    # street and district each
    second = Digest.objects.filter(kind=W, period_start=MONDAY + dt.timedelta(days=7))
    assert second.count() == 4 + (2 + 2) + (8 + 2)
    community_digests = second.filter(node__kind="community")
    assert community_digests.count() == 12
    assert all(d.deliveries.exists() for d in community_digests)  # its worker's row
