"""The households of one grid not visited in the last 30 (or 90) days, opened from the
coverage page's grid row: place path, householder (phone masked), last visit, a link to log
a visit where the viewer may; scoped like every residents page and one query per part of
the page however many households.

World households: grid G1 holds four (on U1, U2, B1 and G1 itself), G2 one (U3) and G3, in
the other community, one (U4)."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from grids import services as grid_services
from grids.rules import AreaKind
from residents import services
from residents.selectors import households_not_visited

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _visit(world, key, days_ago, visitor="grid_head"):
    services.visit_log(
        household=world.households[key],
        visitor=world.persons[visitor],
        visited_at=NOW - dt.timedelta(days=days_ago),
    )


@pytest.fixture
def visited(world):
    """In G1: U1 visited 10 days ago, U2 40 days ago, B1 200 days ago, G1 never. In G2, U3
    never; in G3, U4 never."""
    _visit(world, "U1", 10)
    _visit(world, "U1", 100)  # an older visit does not make it unvisited
    _visit(world, "U2", 40)
    _visit(world, "B1", 200)
    return world


def _keys(world, households):
    by_pk = {h.pk: key for key, h in world.households.items()}
    return [by_pk[h.pk] for h in households]


@pytest.mark.parametrize(("days", "expected"), [(30, ["U2", "B1", "G1"]), (90, ["B1", "G1"])])
def test_exactly_the_grids_households_not_visited_in_the_window(visited, days, expected):
    rows = households_not_visited(visited.users["admin"], grid=visited.g1, days=days, now=NOW)
    # in tree order: the grid's own household, the building's, then the units'
    assert _keys(visited, rows) == [k for k in ["G1", "B1", "U1", "U2"] if k in expected]


def test_the_last_visit_of_each_or_none(visited):
    found = households_not_visited(visited.users["admin"], grid=visited.g1, now=NOW)
    rows = dict(zip(_keys(visited, found), (h.last_visited_at for h in found), strict=True))
    assert rows["U2"] == NOW - dt.timedelta(days=40)
    assert rows["B1"] == NOW - dt.timedelta(days=200)
    assert rows["G1"] is None


def test_never_another_grids_households(visited):
    rows = households_not_visited(visited.users["admin"], grid=visited.g2, now=NOW)
    assert _keys(visited, rows) == ["U3"]


def test_scope_narrows_even_a_grid_given_directly(visited):
    # The selector takes the user's scope too: the other community's secretary gets nothing
    # of G1 whatever grid is asked for.
    assert list(households_not_visited(visited.users["outsider"], grid=visited.g1, now=NOW)) == []


# --- the page -------------------------------------------------------------------------------


def _url(world, grid="g1", **params):
    url = reverse("residents:unvisited", args=[getattr(world, grid).code])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _rows(html: str) -> dict[str, str]:
    """Household pk → the text of its row, tags stripped, spaces collapsed."""
    rows = {}
    for pk, tr in re.findall(r'<tr data-household="(\d+)">(.*?)</tr>', html, flags=re.S):
        rows[pk] = " ".join(re.sub(r"<[^>]+>", " ", tr).split())
    return rows


def test_the_page_lists_place_path_householder_masked_and_last_visit(visited, login_as):
    response = login_as("community").get(_url(visited, days=30))
    assert response.status_code == 200
    html = response.content.decode()
    rows = _rows(html)
    h = visited.households
    assert set(rows) == {str(h[k].pk) for k in ("U2", "B1", "G1")}
    u2 = rows[str(h["U2"].pk)]
    assert u2.startswith("莲心社区 › 第1网格 › 1栋 › 2单元 201 居民U2 137****0002")
    assert (NOW - dt.timedelta(days=40)).astimezone().strftime("%Y") in u2
    assert rows[str(h["G1"].pk)].startswith("莲心社区 › 第1网格 401 居民G1")
    assert "从未走访" in rows[str(h["G1"].pk)]
    assert "13700000002" not in html  # the phone masked, as on the residents pages
    assert "莲心社区 › 第1网格" in html  # the grid named by its path in the heading


def test_the_90_day_switch(visited, login_as):
    html = login_as("community").get(_url(visited, days=90)).content.decode()
    h = visited.households
    assert set(_rows(html)) == {str(h[k].pk) for k in ("B1", "G1")}
    assert 'href="?days=30"' in html  # the switch back


def test_a_visit_link_where_the_viewer_may_log_one(visited, login_as):
    html = login_as("community").get(_url(visited)).content.decode()
    for key in ("U2", "B1", "G1"):
        assert reverse("residents:visit_create", args=[visited.households[key].pk]) in html


def test_no_visit_link_for_a_viewer_who_may_not_log_visits(visited, login_as):
    html = login_as("street").get(_url(visited)).content.decode()
    assert len(_rows(html)) == 3
    assert "/visits/new/" not in html


def test_the_other_communitys_worker_gets_404(visited, login_as):
    assert login_as("outsider").get(_url(visited)).status_code == 404
    assert login_as("outsider").get(_url(visited, grid="g3")).status_code == 200


@pytest.mark.parametrize("persona", ["unit_head", "building_head"])
def test_a_head_below_the_grid_gets_404(visited, login_as, persona):
    assert login_as(persona).get(_url(visited)).status_code == 404


def test_a_department_handler_gets_403(visited, login_as):
    assert login_as("department").get(_url(visited)).status_code == 403


def test_not_a_grid_or_no_such_code_is_404(visited, login_as):
    client = login_as("community")
    assert client.get(_url(visited, grid="b1")).status_code == 404
    assert client.get(reverse("residents:unvisited", args=["nope"])).status_code == 404


def test_post_is_405(visited, login_as):
    assert login_as("community").post(_url(visited)).status_code == 405


def test_the_coverage_row_opens_the_grids_unvisited_households(visited, login_as):
    html = login_as("community").get(reverse("residents:coverage")).content.decode()
    link = re.search(rf'<a href="([^"]+)" data-unvisited="{visited.g1.code}">([^<]+)</a>', html)
    assert link is not None
    assert link.group(1) == _url(visited, days=30).replace("&", "&amp;")
    assert link.group(2).strip() == "3户"
    html = login_as("community").get(reverse("residents:coverage"), {"days": 90}).content
    assert f'{_url(visited, days=90)}" data-unvisited="{visited.g1.code}">2户'.encode() in html


def _measure(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(captured)


def test_queries_do_not_grow_with_the_households(visited, login_as):
    client = login_as("community")
    small, small_count = _measure(client, _url(visited))
    assert len(_rows(small.content.decode())) == 3
    building = grid_services.area_create(
        code=f"{visited.g1.code}009", name="9栋", kind=AreaKind.BUILDING, parent=visited.g1
    )
    for n in range(40):
        household = services.household_create(area=building, door=f"9{n:02d}")
        services.resident_create(
            household=household,
            name=f"户主{n}",
            id_number=_id(n),
            phone=f"1360000{n:04d}",
            is_householder=True,
        )
        if n % 2:
            services.visit_log(
                household=household,
                visitor=visited.persons["grid_head"],
                visited_at=NOW - dt.timedelta(days=60),
            )
    large, large_count = _measure(client, _url(visited))
    assert len(_rows(large.content.decode())) == 43
    assert large_count == small_count


def _id(n: int) -> str:
    from tests.conftest import _id_number

    return _id_number(100 + n)
