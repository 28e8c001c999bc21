"""The area tree browser, the area picker's partials and the public notice boards, for each
persona of ``tests/conftest.py``: who sees what, the figures in the children table, what a
notice board shows and hides, and the number of queries at two sizes."""

from __future__ import annotations

import datetime as dt
import re
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from grids import services as g
from grids.rules import AreaKind as K
from grids.rules import PartyOrgKind as P
from grids.rules import PostTitle as T
from issues import services as issues
from issues.models import Category, Ticket
from issues.rules import OPEN_STATES, SYSTEM, TAKEN_ON_STATES
from residents import services as r

pytestmark = pytest.mark.django_db

IN_COMMUNITY_A = ("unit_head", "building_head", "grid_head", "community", "street", "county")


def detail(area):
    return reverse("dashboard:area_detail", args=[area.code])


def board(area):
    return reverse("grids:notice_board", args=[area.code])


def children(area):
    return reverse("grids:area_children_partial", args=[area.code])


def search(client, q, **extra):
    return client.get(reverse("grids:area_search"), {"q": q, **extra})


def html(response) -> str:
    return response.content.decode()


def picked_codes(response) -> list[str]:
    return re.findall(r'data-area-code="([^"]+)"', html(response))


def labels(response) -> dict[str, str]:
    return dict(re.findall(r'data-area-code="([^"]+)" data-area-label="([^"]+)"', html(response)))


def breadcrumb(response) -> list[str]:
    crumbs = re.search(r'<ol class="breadcrumb">(.*?)</ol>', html(response), re.S).group(1)
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li.*?</li>", crumbs)]


def children_rows(response) -> dict[str, tuple[int, int, int]]:
    """``{code: (households, open, overdue)}`` as the children table shows them."""
    table = re.search(r'<table[^>]*id="children".*?</table>', html(response), re.S).group(0)
    rows = {}
    for code, row in re.findall(r'<tr data-code="([^"]+)">(.*?)</tr>', table, re.S):
        figures = [
            int(re.search(rf'class="text-end {name}[^"]*">(\d+)<', row).group(1))
            for name in ("households", "open", "overdue")
        ]
        rows[code] = tuple(figures)
    return rows


def totals(response) -> tuple[int, int, int]:
    return tuple(
        int(re.search(rf'id="total-{name}">(\d+)<', html(response)).group(1))
        for name in ("households", "open", "overdue")
    )


@pytest.fixture
def category(db):
    return Category.objects.create(code="repair", name="公共设施维修")


def report(world, category, area, *, tier=None, when=None):
    """A problem reported (and with ``tier`` triaged) through the service; ``when`` in the
    past makes its deadline pass."""
    kwargs = dict(
        area=area,
        category=category,
        channel=Ticket.Channel.VISIT,
        description="楼道灯坏了",
        reporter=world.residents["U1"],
        tier=tier,
    )
    if when is None:
        return issues.ticket_report(**kwargs)
    with mock.patch("django.utils.timezone.now", return_value=when):
        return issues.ticket_report(**kwargs)


# --- who may see what --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", [*IN_COMMUNITY_A, "admin"])
def test_everyone_above_a_unit_sees_its_page_board_and_children(world, login_as, persona):
    client = login_as(persona)
    response = client.get(detail(world.u1))
    assert response.status_code == 200
    assert "1单元" in html(response)
    assert client.get(board(world.u1)).status_code == 200
    assert client.get(children(world.u1)).status_code == 200


@pytest.mark.parametrize("persona", ["unit_head", "building_head", "grid_head"])
def test_a_head_cannot_reach_a_sibling_or_anything_above(world, login_as, persona):
    client = login_as(persona)
    for area in (world.g2, world.u3, world.community_a, world.street, world.city):
        assert client.get(detail(area)).status_code == 404
    assert client.get(board(world.u3)).status_code == 404


def test_the_outsider_gets_404_for_another_community_and_200_for_their_own(world, login_as):
    client = login_as("outsider")
    for area in (world.community_a, world.g1, world.b1, world.u1):
        assert client.get(detail(area)).status_code == 404
        assert client.get(board(area)).status_code == 404
        assert client.get(children(area)).status_code == 404
    assert client.get(detail(world.u4)).status_code == 200
    assert client.get(board(world.u4)).status_code == 200


def test_a_department_handler_reaches_no_node(world, login_as):
    client = login_as("department")
    for area in (world.city, world.county, world.street, world.community_a, world.u1):
        assert client.get(detail(area)).status_code == 404
        assert client.get(children(area)).status_code == 404
    assert client.get(board(world.u1)).status_code == 404
    assert picked_codes(search(client, "1")) == []
    # Issue 13: a page whose link the navbar leaves out answers 403 (tests/portal/test_menu.py).
    assert client.get(reverse("grids:area_root")).status_code == 403


def test_a_missing_code_is_404(world, login_as):
    assert login_as("admin").get(reverse("dashboard:area_detail", args=["nope"])).status_code == 404


def test_a_board_exists_only_from_the_community_down(world, login_as):
    client = login_as("county")
    for area in (world.city, world.county, world.street):
        assert client.get(board(area)).status_code == 404
    for area in (world.community_a, world.g1, world.b1, world.u1):
        assert client.get(board(area)).status_code == 200


def _all_urls(world):
    return [
        reverse("grids:area_root"),
        reverse("grids:area_search") + "?q=1",
        reverse("grids:area_root_children"),
        detail(world.u1),
        children(world.b1),
        board(world.u1),
    ]


def test_anonymous_visitors_are_sent_to_log_in(world, client):
    for url in _all_urls(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_the_pages_answer_get_only(world, login_as):
    client = login_as("community")
    for url in _all_urls(world):
        assert client.post(url).status_code == 405, url


# --- where the tree starts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "node"),
    [("unit_head", "u1"), ("grid_head", "g1"), ("community", "community_a"), ("county", "county")],
)
def test_one_grant_goes_straight_to_its_node(world, login_as, persona, node):
    response = login_as(persona).get(reverse("grids:area_root"))
    assert response.status_code == 302
    assert response["Location"] == detail(getattr(world, node))


def test_a_grant_inside_another_is_not_a_root_of_its_own(world, login_as):
    g.post_assign(area=world.g2, title=T.GRID_WORKER, person=world.persons["community"])
    response = login_as("community").get(reverse("grids:area_root"))
    assert response["Location"] == detail(world.community_a)


def test_several_grants_are_listed(world, login_as):
    g.post_assign(area=world.g3, title=T.GRID_WORKER, person=world.persons["grid_head"])
    response = login_as("grid_head").get(reverse("grids:area_root"))
    assert response.status_code == 200
    assert [a.code for a in response.context["roots"]] == [world.g1.code, world.g3.code]
    assert detail(world.g1) in html(response) and detail(world.g3) in html(response)


def test_an_admin_without_posts_starts_at_the_top_of_the_tree(world, login_as):
    lone = g.area_create(code="369999", name="独立县", kind=K.DISTRICT)
    response = login_as("admin").get(reverse("grids:area_root"))
    assert response.status_code == 200
    assert [a.code for a in response.context["roots"]] == [world.city.code, lone.code]


# --- breadcrumbs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("unit_head", ["1单元"]),
        ("building_head", ["1栋", "1单元"]),
        ("grid_head", ["第1网格", "1栋", "1单元"]),
        ("community", ["莲心社区", "第1网格", "1栋", "1单元"]),
        ("county", ["莲溪县", "莲城街道", "莲心社区", "第1网格", "1栋", "1单元"]),
        ("admin", ["抚阳市", "莲溪县", "莲城街道", "莲心社区", "第1网格", "1栋", "1单元"]),
    ],
)
def test_breadcrumbs_start_at_the_users_scope_root(world, login_as, persona, expected):
    response = login_as(persona).get(detail(world.u1))
    assert breadcrumb(response) == expected
    assert [a.name for a in response.context["path"]] == expected


def test_breadcrumbs_start_at_the_widest_of_two_nested_grants(world, login_as):
    g.post_assign(area=world.b1, title=T.BUILDING_HEAD, person=world.persons["community"])
    response = login_as("community").get(detail(world.u1))
    assert breadcrumb(response) == ["莲心社区", "第1网格", "1栋", "1单元"]


def test_a_city_officer_sees_the_city_and_below(world, login_as):
    g.post_assign(area=world.city, title=T.COUNTY_OFFICER, person=world.persons["county"])
    client = login_as("county")
    assert breadcrumb(client.get(detail(world.street))) == ["抚阳市", "莲溪县", "莲城街道"]
    response = client.get(detail(world.city))
    assert response.status_code == 200
    assert list(children_rows(response)) == [world.county.code]


# --- the page of a node ------------------------------------------------------------------------


def test_the_children_table_counts_each_subtree(world, login_as, category):
    # Households from the world: U1, U2, B1, G1 under G1; U3 under G2; U4 in community B.
    r.household_create(area=world.u3, door="302")
    r.household_create(area=world.g2, door="9")
    past = timezone.now() - dt.timedelta(days=40)
    report(world, category, world.u1)  # open, no deadline yet
    report(world, category, world.b1, tier="simple")  # open, deadline ahead
    report(world, category, world.u3, tier="simple", when=past)  # overdue
    report(world, category, world.g2, tier="complex", when=past)  # overdue
    done = report(world, category, world.u2, tier="simple", when=past)
    issues.ticket_resolve(ticket=done, actor=SYSTEM, feedback="已修好")  # not open any more
    report(world, category, world.u4, tier="simple", when=past)  # community B
    report(world, category, world.community_a)  # on the community itself

    response = login_as("community").get(detail(world.community_a))
    assert response.status_code == 200
    assert children_rows(response) == {world.g1.code: (4, 2, 0), world.g2.code: (3, 2, 2)}
    assert totals(response) == (7, 5, 2)

    county = login_as("county").get(detail(world.street))
    assert children_rows(county) == {
        world.community_a.code: (7, 5, 2),
        world.community_b.code: (1, 1, 1),
    }
    city = login_as("admin").get(detail(world.city))
    assert children_rows(city) == {world.county.code: (8, 6, 3)}
    assert totals(city) == (8, 6, 3)


def test_open_means_not_yet_resolved():
    """Open: taken on and not yet resolved. A declined report (受理/核实 refused it, or
    merged it into another) was never taken on, so it is neither open nor solved."""
    S = Ticket.State
    assert set(OPEN_STATES) == {s for s in S.values if s not in (S.RESOLVED, S.CLOSED, S.DECLINED)}
    assert S.DECLINED not in TAKEN_ON_STATES
    assert set(OPEN_STATES) <= TAKEN_ON_STATES


def test_a_node_shows_its_heads_marks_deputies_and_hides_private_phones(world, login_as):
    deputy = g.person_get_or_create(name="副组长甲", phone="13811110001")
    private = g.person_get_or_create(name="不公开乙", phone="13811110002")
    g.post_assign(area=world.g1, title=T.GRID_HEAD, person=deputy, is_deputy=True)
    g.post_assign(area=world.g1, title=T.GRID_WORKER, person=private, is_public=False)
    response = login_as("community").get(detail(world.g1))
    heads = re.search(r'<table[^>]*id="heads".*?</table>', html(response), re.S).group(0)
    assert "李雪永" in heads and world.persons["grid_head"].phone in heads
    assert "副组长甲" in heads
    assert re.search(rf"{gettext('Grid head')}\s*<span class=\"tag\">{gettext('deputy')}", heads)
    assert "不公开乙" in heads and "13811110002" not in heads


def test_a_node_shows_its_party_body(world, login_as):
    committee = g.party_org_create(
        name="莲城街道党工委", kind=P.WORKING_COMMITTEE, area=world.street
    )
    org = g.party_org_create(
        name="莲心社区党委", kind=P.COMMUNITY_ORG, area=world.community_a, parent=committee
    )
    g.party_org_create(
        name="第1网格党支部",
        kind=P.GRID_BRANCH,
        area=world.g1,
        parent=org,
        secretary=world.persons["grid_head"],
    )
    response = login_as("grid_head").get(detail(world.g1))
    party = re.search(r'id="party-org".*?</dl>', html(response), re.S).group(0)
    assert "第1网格党支部" in party and "李雪永" in party
    assert str(P.GRID_BRANCH.label) in party


def test_links_to_the_board_from_the_community_down(world, login_as):
    client = login_as("county")
    street = html(client.get(detail(world.street)))
    assert board(world.street) not in street
    assert board(world.community_a) in street
    assert board(world.g1) in html(client.get(detail(world.g1)))


def test_more_than_100_children_are_paged(world, login_as):
    for n in range(101):
        g.area_create(code=f"{world.b2.code}{n:03d}", name=f"{n}号", kind=K.UNIT, parent=world.b2)
    client = login_as("community")
    first = client.get(detail(world.b2))
    assert len(children_rows(first)) == 100
    assert "page=2" in html(first)
    second = client.get(detail(world.b2), {"page": 2})
    assert len(children_rows(second)) == 2  # U3 and the 101st


# --- the notice board --------------------------------------------------------------------------


def test_the_board_shows_the_public_heads_from_the_community_down(world, login_as):
    secret = g.person_get_or_create(name="隐身丙", phone="13811110003")
    g.post_assign(area=world.u1, title=T.UNIT_HEAD, person=secret, is_deputy=True, is_public=False)
    response = login_as("unit_head").get(board(world.u1))
    page = html(response)
    assert response.status_code == 200
    assert "抚阳市 › 莲溪县 › 莲城街道 › 莲心社区 › 第1网格 › 1栋 › 1单元" in page
    heads = re.search(r'<table[^>]*id="board-heads".*?</table>', page, re.S).group(0)
    shown = [
        ("龚忠连", "community"),
        ("李雪永", "grid_head"),
        ("朱英水", "building_head"),
        ("严福", "unit_head"),
    ]
    for name, persona in shown:
        assert name in heads
        assert world.persons[persona].phone in heads
    # Top down: the community first, the unit head last.
    assert [heads.index(name) for name, _ in shown] == sorted(heads.index(n) for n, _ in shown)
    assert "周立新" not in page  # the street is above the community
    assert "隐身丙" not in page and "13811110003" not in page
    for channel in (
        "Post it in the WeChat group of your grid, building or unit.",
        "Report it in the mini-program.",
        "Call the hotline 12345.",
        "Walk in at the community service centre.",
        "Tell your unit head or building head (see above).",
    ):
        assert gettext(channel) in page
    # The print button and the A4 layout, as files the Content Security Policy allows.
    assert "data-print" in page and "portal/print.js" in page and "portal/notice-board.css" in page
    today = timezone.localdate()
    assert f"{today.year}年{today.month}月{today.day}日" in page


def test_the_board_hides_a_head_taken_off_it(world, login_as):
    g.post_assign(
        area=world.b1,
        title=T.BUILDING_HEAD,
        person=world.persons["building_head"],
        is_public=False,
    )
    page = html(login_as("grid_head").get(board(world.u1)))
    assert "朱英水" not in page
    assert world.persons["building_head"].phone not in page


def test_the_board_lists_the_party_bodies_on_the_way(world, login_as):
    committee = g.party_org_create(
        name="莲城街道党工委", kind=P.WORKING_COMMITTEE, area=world.street
    )
    org = g.party_org_create(
        name="莲心社区党委",
        kind=P.COMMUNITY_ORG,
        area=world.community_a,
        parent=committee,
        secretary=world.persons["community"],
    )
    g.party_org_create(name="第1网格党支部", kind=P.GRID_BRANCH, area=world.g1, parent=org)
    page = html(login_as("building_head").get(board(world.b1)))
    party = re.search(r'id="board-party".*?</ul>', page, re.S).group(0)
    assert "莲心社区党委" in party and "第1网格党支部" in party and "龚忠连" in party
    assert "莲城街道党工委" not in party


def test_the_board_speaks_english_under_en(world, login_as):
    client = login_as("unit_head")
    page = html(client.get("/en" + board(world.u1)))
    assert "Public notice board" in page and "Call the hotline 12345." in page


# --- the area picker ---------------------------------------------------------------------------


def test_search_finds_only_what_is_in_scope(world, login_as):
    response = search(login_as("community"), "1栋")
    assert response.status_code == 200
    assert picked_codes(response) == [world.b1.code]
    assert labels(response) == {world.b1.code: "莲心社区 › 第1网格 › 1栋"}
    assert (
        '<button type="button" class="list-group-item list-group-item-action text-break" '
        f'data-area-code="{world.b1.code}"' in html(response)
    )
    assert picked_codes(search(login_as("outsider"), "1栋")) == [world.b3.code]


def test_search_labels_start_at_the_community_or_the_users_own_root(world, login_as):
    county = labels(search(login_as("county"), "第1网格"))
    assert county == {world.g1.code: "莲心社区 › 第1网格", world.g3.code: "旴江社区 › 第1网格"}
    assert labels(search(login_as("grid_head"), "1单元")) == {
        world.u1.code: "第1网格 › 1栋 › 1单元"
    }
    admin = labels(search(login_as("admin"), "莲城"))
    assert admin == {world.street.code: "莲溪县 › 莲城街道"}


def test_search_by_code_and_kind(world, login_as):
    client = login_as("community")
    assert picked_codes(search(client, world.b1.code)) == [
        world.b1.code,
        world.u1.code,
        world.u2.code,
    ]
    assert picked_codes(search(client, "网格", kind="grid")) == [world.g1.code, world.g2.code]
    assert picked_codes(search(client, "网格", kind="nonsense")) == []
    assert picked_codes(search(client, "   ")) == []


def test_search_shows_at_most_20(world, login_as):
    for n in range(25):
        g.area_create(code=f"{world.b2.code}{n:03d}", name=f"{n}号", kind=K.UNIT, parent=world.b2)
    response = search(login_as("community"), "号")
    assert len(picked_codes(response)) == 20
    assert len(re.findall(r"data-area-code", html(response))) == 20
    assert 'class="list-group-item small text-muted"' in html(response)


def test_walking_down_the_tree(world, login_as):
    client = login_as("community")
    response = client.get(children(world.community_a))
    assert response.status_code == 200
    page = html(response)
    assert picked_codes(response) == [world.community_a.code, world.g1.code, world.g2.code]
    assert labels(response)[world.g1.code] == "莲心社区 › 第1网格"
    assert children(world.g1) in page  # walk down
    assert reverse("grids:area_root_children") in page  # back to the top: no parent in scope

    units = client.get(children(world.b1))
    assert picked_codes(units) == [world.b1.code, world.u1.code, world.u2.code]
    assert children(world.u1) not in html(units)  # nothing below a unit
    assert children(world.g1) in html(units)  # up one level


def test_walking_starts_at_the_scope_roots(world, login_as):
    response = login_as("building_head").get(reverse("grids:area_root_children"))
    assert picked_codes(response) == [world.b1.code]
    assert children(world.b1) in html(response)
    admin = login_as("admin").get(reverse("grids:area_root_children"))
    assert picked_codes(admin) == [world.city.code]
    assert children(world.city) in html(admin)


# --- the number of queries does not grow with the children ------------------------------------


def _grow(world, category, community, start, stop):
    for n in range(start, stop):
        grid = g.area_create(
            code=f"{community.code}{n:03d}", name=f"测试网格{n}", kind=K.GRID, parent=community
        )
        r.household_create(area=grid, door="1")
        report(world, category, grid)


def _queries(client, url, data=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["county", "admin"])
def test_queries_do_not_grow_with_the_children(world, login_as, category, persona):
    community = g.area_create(
        code="369921001009", name="测试社区", kind=K.COMMUNITY, parent=world.street
    )
    client = login_as(persona)
    _grow(world, category, community, 0, 3)
    small = {
        "detail": _queries(client, detail(community)),
        "search": _queries(client, reverse("grids:area_search"), {"q": "测试网格"}),
        "children": _queries(client, children(community)),
        "board": _queries(client, board(community)),
    }
    _grow(world, category, community, 3, 30)
    large = {
        "detail": _queries(client, detail(community)),
        "search": _queries(client, reverse("grids:area_search"), {"q": "测试网格"}),
        "children": _queries(client, children(community)),
        "board": _queries(client, board(community)),
    }
    assert len(children_rows(client.get(detail(community)))) == 30
    assert small == large
