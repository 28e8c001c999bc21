"""The digest pages: the history list and the digest page through the user's scope (a digest
of a node outside it is 404), the XLSX exports, the monthly charts, the admin."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext
from openpyxl import load_workbook

from digests.models import Digest
from digests.rendering import render_digest
from digests.services import digests_build
from issues.models import Level

from .conftest import MONTH_BUILT, THURSDAY, THURSDAY_EVENING, WEEK_BUILT


@pytest.fixture
def built(rhythm, client):
    """Thursday's daily digests, the week's and the month's, all stored."""
    rhythm.play(THURSDAY_EVENING)
    digests_build(kind="daily", day=THURSDAY)
    rhythm.play(WEEK_BUILT)
    digests_build(kind="weekly", day=THURSDAY)
    rhythm.play(MONTH_BUILT)
    digests_build(kind="monthly", day=THURSDAY)
    return rhythm


def digest(kind, node) -> Digest:
    return Digest.objects.get(kind=kind, node=node)


def login(client, rhythm, persona):
    client.force_login(rhythm.user(persona))
    return client


def listed(client, **params) -> set[tuple[str, str]]:
    response = client.get(reverse("digests:digest_list"), params)
    assert response.status_code == 200
    return {(d.kind, d.node.name) for d in response.context["page"].object_list}


DAILY_A = {("daily", "莲心社区"), ("daily", "第1网格"), ("daily", "第2网格")}
DAILY_B = {("daily", "旴江社区"), ("daily", "第1网格")}
WEEKLY_A = {("weekly", "莲心社区")}  # the community's own rectification list
WEEKLY_B = {("weekly", "旴江社区")}
STREET = {("weekly", "莲城街道"), ("monthly", "莲城街道")}
COUNTY = {("weekly", "莲溪县"), ("monthly", "莲溪县")}


@pytest.mark.parametrize(
    "persona, expected",
    [
        ("community", DAILY_A | WEEKLY_A),
        ("outsider", DAILY_B | WEEKLY_B),
        ("grid_head", {("daily", "第1网格")}),
        ("street", DAILY_A | DAILY_B | WEEKLY_A | WEEKLY_B | STREET),
        ("county", DAILY_A | DAILY_B | WEEKLY_A | WEEKLY_B | STREET | COUNTY),
        ("admin", DAILY_A | DAILY_B | WEEKLY_A | WEEKLY_B | STREET | COUNTY),
        ("unit_head", set()),
    ],
)
def test_the_list_holds_what_the_user_may_read(built, client, persona, expected):
    login(client, built, persona)
    assert listed(client) == expected
    assert listed(client, kind="weekly") == {row for row in expected if row[0] == "weekly"}


def test_the_list_needs_a_login_a_known_kind_and_a_safe_method(built, client):
    url = reverse("digests:digest_list")
    assert client.get(url).status_code == 302
    login(client, built, "department")
    assert client.get(url).status_code == 403  # digests are per area: a department has none
    login(client, built, "community")
    assert client.get(url, {"kind": "hourly"}).status_code == 404
    assert client.post(url).status_code == 405


def test_the_list_puts_the_own_level_first_says_the_full_place_and_filters(built, client):
    login(client, built, "street")
    rows = client.get(reverse("digests:digest_list")).context["page"].object_list
    own = [d for d in rows if d.node.name == "莲城街道"]
    assert own and rows[: len(own)] == own  # the street officer's own digests lead
    page = client.get(reverse("digests:digest_list")).content.decode()
    assert "莲心社区 › 第1网格" in page and "旴江社区 › 第1网格" in page  # not two bare 第1网格

    friday = THURSDAY + dt.timedelta(days=1)
    weeks = WEEKLY_A | WEEKLY_B
    assert listed(client, day=THURSDAY.isoformat()) == DAILY_A | DAILY_B | weeks | STREET
    assert {kind for kind, _n in listed(client, day=friday.isoformat())} == {"weekly", "monthly"}
    community_a = built.world.community_a.code
    assert listed(client, area=community_a) == DAILY_A | WEEKLY_A
    assert listed(client, area=community_a, kind="weekly") == WEEKLY_A
    response = client.get(reverse("digests:digest_list"), {"area": "nowhere", "day": "soon"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"area", "day"}  # said, not a 404


def test_the_list_costs_the_same_for_few_and_many(built, client):
    login(client, built, "county")
    url = reverse("digests:digest_list")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for day in range(1, 6):
        built.clock.set(dt.datetime(2025, 3, day, 18, tzinfo=THURSDAY_EVENING.tzinfo))
        digests_build(kind="daily", day=dt.date(2025, 3, day))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["page"].object_list) == 30
    assert len(many) == len(few)


def test_a_community_worker_reads_the_community_s_digest(built, client):
    login(client, built, "community")
    a = digest("daily", built.community_a)
    response = client.get(reverse("digests:digest_detail", args=[a.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "莲心社区" in page and 'id="daily-grids"' in page
    assert "旴江社区" not in page
    assert client.post(reverse("digests:digest_detail", args=[a.pk])).status_code == 405


@pytest.mark.parametrize(
    "persona, kind, node, status",
    [
        ("community", "daily", "community_b", 404),  # another community's
        ("outsider", "daily", "community_a", 404),
        ("grid_head", "daily", "community_a", 404),  # above the grid head's scope
        ("grid_head", "daily", "g1", 200),
        ("grid_head", "daily", "g2", 404),
        ("community", "weekly", "street", 404),
        ("street", "weekly", "street", 200),
        ("street", "monthly", "county", 404),
        ("county", "monthly", "county", 200),
        ("department", "daily", "community_a", 404),
        ("admin", "weekly", "county", 200),
    ],
)
def test_a_digest_outside_the_scope_is_404(built, client, persona, kind, node, status):
    login(client, built, persona)
    target = digest(kind, getattr(built.world, node))
    assert client.get(reverse("digests:digest_detail", args=[target.pk])).status_code == status
    assert client.get(reverse("digests:digest_detail", args=[999999])).status_code == 404


def test_the_monthly_page_has_its_charts(built, client):
    login(client, built, "street")
    response = client.get(
        reverse("digests:digest_detail", args=[digest("monthly", built.street).pk])
    )
    page = response.content.decode()
    assert 'id="chart-rates"' in page and 'id="chart-levels"' in page
    assert "echarts.min.js" in page and "digests/digests.js" in page
    assert "digests/digests.css" in page  # with its print (A4) rules
    data = response.context["chart_data"]
    assert data["rates"]["names"] == ["莲心社区", "旴江社区"]
    assert data["rates"]["values"] == [37.5, 0.0]
    assert [item["value"] for item in data["levels"]["items"]] == [2, 1, 0, 0]
    assert json.dumps(data["rates"]["values"]) in page


def test_the_page_speaks_english_too(built, client):
    login(client, built, "street")
    response = client.get(
        "/en" + reverse("digests:digest_detail", args=[digest("weekly", built.street).pk])
    )
    page = response.content.decode()
    assert "Rectification list" in page and "weekly supervision" in page


def _sheet(response) -> list[list]:
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_the_rectification_list_exports_to_xlsx(built, client):
    login(client, built, "street")
    weekly = digest("weekly", built.street)
    response = client.get(reverse("digests:digest_export", args=[weekly.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "rectification-369921001-20250303.xlsx" in response["Content-Disposition"]
    header, *rows = _sheet(response)
    assert len(header) == 10
    t6, t1 = built.t["T6"].pk, built.t["T1"].pk
    assert [row[2] for row in rows] == [t6, t1]
    assert rows[0][:2] == ["莲城街道", "莲心社区"]
    assert rows[0][3:] == [
        "公共设施维修",
        "第1网格 › 1栋 › 1单元",  # from below the community
        str(Level.BUILDING.label),
        "1栋",
        "2025-03-11 23:59",
        gettext("yes"),
        1,
    ]
    assert rows[1][7:] == ["2025-03-12 23:59", gettext("no"), 1]


def test_the_ranking_exports_to_xlsx(built, client):
    login(client, built, "county")
    monthly = digest("monthly", built.county)
    header, *rows = _sheet(client.get(reverse("digests:digest_export", args=[monthly.pk])))
    assert [row[:6] for row in rows] == [
        [1, "莲城街道", "莲心社区", 8, 3, "37.5"],
        [2, "莲城街道", "旴江社区", 1, 0, "0.0"],
    ]
    # median hours, rated, satisfaction, its Wilson lower bound, by the resident, by
    # return call, closed not rated
    assert rows[0][6:] == [6, 2, "100.0", "34.2", 1, 1, 0]
    assert rows[1][6:] == [None, 1, "0.0", "0.0", 1, 0, 0]


def test_no_export_for_a_daily_digest_or_outside_the_scope(built, client):
    login(client, built, "community")
    daily = digest("daily", built.community_a)
    assert client.get(reverse("digests:digest_export", args=[daily.pk])).status_code == 404
    weekly = digest("weekly", built.street)
    assert client.get(reverse("digests:digest_export", args=[weekly.pk])).status_code == 404


def test_the_admin_shows_digests_and_deliveries_read_only(built, client):
    login(client, built, "admin")
    weekly = digest("weekly", built.street)
    assert client.get(reverse("admin:digests_digest_changelist")).status_code == 200
    change = client.get(reverse("admin:digests_digest_change", args=[weekly.pk]))
    assert change.status_code == 200 and "莲城街道" in change.content.decode()
    assert client.get(reverse("admin:digests_digest_add")).status_code == 403
    assert client.get(reverse("admin:digests_digestdelivery_changelist")).status_code == 200
    assert client.post(reverse("admin:digests_digest_delete", args=[weekly.pk])).status_code == 403


@pytest.mark.parametrize("kind, persona", [("weekly", "street"), ("monthly", "county")])
def test_point8_digest_exports_escape_every_formula_payload(built, client, kind, persona):
    from tests.spreadsheet_checks import FORMULA_PAYLOADS, assert_no_formula

    stored = digest(kind, built.street if kind == "weekly" else built.county)
    figures = stored.figures
    items = figures["rectification"] if kind == "weekly" else figures["ranking"]
    assert items
    payloads = iter((FORMULA_PAYLOADS[7:] + FORMULA_PAYLOADS) * 3)  # full-width first
    for item in items:
        for key in ("street", "community", "name", "category", "place", "handler"):
            if key in item:
                item[key] = next(payloads)
    Digest.objects.filter(pk=stored.pk).update(figures=figures)
    login(client, built, persona)
    response = client.get(reverse("digests:digest_export", args=[stored.pk]))
    assert response.status_code == 200
    assert assert_no_formula(response.content, "xlsx") >= 2


def test_the_monthly_page_folds_the_unranked_and_charts_only_where_something_was_reported(
    built, client
):
    monthly = digest("monthly", built.street)
    first = monthly.figures["ranking"][0]
    idle = {**first, "code": "X1", "name": "空社区", "intake": 0, "solved": 0, "rated": 0}
    idle.update(solve_rate=None, satisfaction=None, satisfaction_bound=None)
    idle.update(rank=None, ranked=False)
    monthly.figures["ranking"].append(idle)
    monthly.save(update_fields=["figures"])
    login(client, built, "street")
    response = client.get(reverse("digests:digest_detail", args=[monthly.pk]))
    page = response.content.decode()
    assert response.context["chart_data"]["rates"]["names"] == ["莲心社区", "旴江社区"]
    assert 'id="chart-left-out" data-count="1"' in page
    assert [r["name"] for r in response.context["ranked"]] == ["莲心社区", "旴江社区"]
    assert 'id="ranking-too-few" data-count="1">' in page  # folded on the page
    assert '<li data-ranked="0" data-code="X1">' in page
    # The e-mail shares the partial, the list open there.
    assert (
        'id="ranking-too-few" data-count="1" open>'
        in render_digest(Digest.objects.get(pk=monthly.pk))[1]
    )


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_the_language_menus_name_each_language_in_itself(built, client, prefix):
    login(client, built, "street")
    pages = [
        reverse("digests:digest_detail", args=[digest("monthly", built.street).pk]),
        reverse("citizens:privacy"),
    ]
    for path in pages:
        page = client.get(prefix + path).content.decode()
        assert '<option value="zh-hans" lang="zh-hans"' in page
        assert ">简体中文</option>" in page and ">English</option>" in page
        assert "英语" not in page and "Simplified Chinese" not in page
        assert 'rel="icon" href="/static/portal/favicon.svg"' in page
