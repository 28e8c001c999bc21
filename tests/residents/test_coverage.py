"""Visit coverage per grid: households, those visited in the last N days, those in the online
group; scoped to the user and computed in one query however many grids there are.

World households: grid G1 holds four (on U1, U2, B1 and G1 itself), G2 one (U3) and G3, in
the other community, one (U4).
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from grids import services as grid_services
from grids.access import scope_for
from grids.models import Area
from grids.rules import AreaKind
from residents import services
from residents.selectors import grid_coverage

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
    """Visits inside and outside a 30-day window, and two households in the online group."""
    _visit(world, "U1", 1)
    _visit(world, "U1", 3, visitor="unit_head")  # the same household twice: counts once
    _visit(world, "B1", 45)  # outside 30 days, inside 60
    _visit(world, "G1", 200)  # outside both
    _visit(world, "U3", 29)
    _visit(world, "U4", 2)
    for key in ("U1", "G1", "U4"):
        services.household_update(household=world.households[key], in_online_group=True)
    return world


def _figures(user, **kwargs):
    return {
        grid.code: (grid.household_count, grid.visited_count, grid.online_count)
        for grid in grid_coverage(user, now=NOW, **kwargs)
    }


def _expected(world, days=30):
    return {
        world.g1.code: (4, 2 if days >= 45 else 1, 2),
        world.g2.code: (1, 1 if days >= 29 else 0, 0),
        world.g3.code: (1, 1, 1),
    }


@pytest.mark.parametrize(
    ("persona", "grids"),
    [
        ("admin", ("g1", "g2", "g3")),
        ("county", ("g1", "g2", "g3")),
        ("street", ("g1", "g2", "g3")),
        ("community", ("g1", "g2")),
        ("grid_head", ("g1",)),
        ("outsider", ("g3",)),
    ],
)
def test_figures_per_grid_in_the_users_scope(visited, persona, grids):
    expected = _expected(visited)
    codes = [getattr(visited, g).code for g in grids]
    assert _figures(visited.users[persona]) == {code: expected[code] for code in codes}


@pytest.mark.parametrize("persona", ["unit_head", "building_head", "department"])
def test_no_grid_at_or_under_the_users_node_means_no_rows(visited, persona):
    # A unit or building head's subtree holds no grid (the grid is above them), and a
    # department handler holds no area: coverage is a grid-level figure, so they get none,
    # rather than the grid that happens to contain them.
    assert _figures(visited.users[persona]) == {}


def test_grids_come_in_tree_order(visited):
    codes = [g.code for g in grid_coverage(visited.users["admin"], now=NOW)]
    assert codes == [visited.g1.code, visited.g2.code, visited.g3.code]


@pytest.mark.parametrize("days", [7, 30, 60, 365])
def test_the_window_decides_which_visits_count(visited, days):
    figures = _figures(visited.users["admin"], days=days)
    g1_visited = sum(1 for ago in (1, 45, 200) if ago <= days)  # U1 (twice), B1, G1
    assert figures[visited.g1.code] == (4, g1_visited, 2)
    assert figures[visited.g2.code][1] == (1 if days >= 29 else 0)
    assert figures[visited.g3.code][1] == (1 if days >= 2 else 0)


def test_visits_after_now_are_not_counted(visited):
    # Seen from ten days ago, only the visits in the 30 days before that count.
    earlier = NOW - dt.timedelta(days=10)
    figures = {g.code: g.visited_count for g in grid_coverage(visited.users["admin"], now=earlier)}
    assert figures == {visited.g1.code: 0, visited.g2.code: 1, visited.g3.code: 0}


def test_root_narrows_to_a_subtree(visited):
    def fresh(area):  # the fixture's instances carry tree numbers from before later inserts
        return Area.objects.get(pk=area.pk)

    admin = visited.users["admin"]
    assert set(_figures(admin, root=fresh(visited.community_b))) == {visited.g3.code}
    assert set(_figures(admin, root=fresh(visited.g2))) == {visited.g2.code}
    assert _figures(admin, root=fresh(visited.u1)) == {}
    # root never widens a scope
    assert set(_figures(visited.users["community"], root=fresh(visited.street))) == {
        visited.g1.code,
        visited.g2.code,
    }


def test_an_empty_grid_counts_zero(visited):
    empty = grid_services.area_create(
        code=f"{visited.community_a.code}009",
        name="空网格",
        kind=AreaKind.GRID,
        parent=visited.community_a,
    )
    assert _figures(visited.users["community"])[empty.code] == (0, 0, 0)


def test_one_query(visited):
    user = visited.users["community"]
    scope_for(user)  # built once per request, before the figures
    with CaptureQueriesContext(connection) as captured:
        rows = list(grid_coverage(user, now=NOW))
    assert len(rows) == 2
    assert len(captured) == 1


# --- the page -------------------------------------------------------------------------------


def _row_text(html: str, code: str) -> str:
    """The text of the table row naming grid ``code``, tags stripped, spaces collapsed."""
    for tr in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S):
        if code in tr:
            return " ".join(re.sub(r"<[^>]+>", " ", tr).split())
    raise AssertionError(f"no row for {code}")


def test_the_page_shows_the_figures(visited, login_as):
    client = login_as("community")
    response = client.get(reverse("residents:coverage"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _row_text(html, visited.g1.code) == (
        f"莲心社区 › 第1网格 {visited.g1.code} 4 1 (25%) 2 (50%) 3户"
    )
    assert _row_text(html, visited.g2.code) == (
        f"莲心社区 › 第2网格 {visited.g2.code} 1 1 (100%) 0 (0%) 0户"
    )
    assert visited.g3.code not in html


def test_the_page_takes_the_window_in_days(visited, login_as):
    client = login_as("community")
    html = client.get(reverse("residents:coverage"), {"days": 60}).content.decode()
    assert _row_text(html, visited.g1.code) == (
        f"莲心社区 › 第1网格 {visited.g1.code} 4 2 (50%) 2 (50%) 2户"
    )
    # A value out of range falls back to 30 days.
    html = client.get(reverse("residents:coverage"), {"days": 9999}).content.decode()
    assert _row_text(html, visited.g1.code).split()[5] == "1"


def test_the_page_for_a_unit_head_says_there_is_no_grid(visited, login_as):
    response = login_as("unit_head").get(reverse("residents:coverage"))
    assert response.status_code == 200
    assert list(response.context["page"]) == []


def test_the_page_is_refused_to_a_department_handler(visited, login_as):
    assert login_as("department").get(reverse("residents:coverage")).status_code == 403


def _measure_page(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("residents:coverage"))
    assert response.status_code == 200
    return response, len(captured)


def test_the_page_needs_as_many_queries_for_30_grids_as_for_3(visited, login_as):
    client = login_as("admin")
    small, small_count = _measure_page(client)
    assert len(small.context["page"]) == 3
    for n in range(27):
        community = visited.community_a if n % 2 else visited.community_b
        grid = grid_services.area_create(
            code=f"{community.code}1{n:02d}",
            name=f"扩展网格{n}",
            kind=AreaKind.GRID,
            parent=community,
        )
        household = services.household_create(area=grid, door="1", in_online_group=bool(n % 3))
        services.visit_log(household=household, visitor=visited.persons["grid_head"])
    large, large_count = _measure_page(client)
    assert len(large.context["page"]) == 30
    assert large_count == small_count
    extra = {g.code: g for g in large.context["page"] if g.name.startswith("扩展网格")}
    assert len(extra) == 27
    assert all(g.household_count == 1 and g.visited_count == 1 for g in extra.values())
