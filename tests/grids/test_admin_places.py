"""The admin's change lists name each row's place by its path (``莲心社区 › 第1网格 › 1栋 ›
2单元``), read for the page's rows in one query however many; its searches find problems
and households by the name of their place at any level, a path as shown included."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from residents import services as resident_services

pytestmark = pytest.mark.django_db

U2 = "莲心社区 › 第1网格 › 1栋 › 2单元"


def _cells(html: str, column: str = "place") -> list[str]:
    # the first column is the row's link, a <th>
    found = re.findall(rf'<t[dh] class="field-{column}[^"]*">(.*?)</t[dh]>', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in found]


def _get(client, name, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(f"admin:{name}_changelist"), params)
    assert response.status_code == 200
    return response.content.decode(), len(captured)


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def test_households_by_their_path(world, admin):
    html, _n = _get(admin, "residents_household")
    assert U2 in _cells(html)
    assert "莲心社区 › 第1网格" in _cells(html)  # the one on the grid itself
    assert "旴江社区 › 第1网格 › 1栋 › 1单元" in _cells(html)


def test_residents_and_visits_by_their_households_path(world, admin):
    html, _n = _get(admin, "residents_resident")
    assert U2 in _cells(html)
    resident_services.visit_log(
        household=world.households["U2"], visitor=world.persons["grid_head"]
    )
    html, _n = _get(admin, "residents_visit")
    assert _cells(html) == [U2]


def test_posts_and_party_bodies_by_their_path(world, admin):
    html, _n = _get(admin, "grids_post")
    assert "莲心社区 › 第1网格 › 1栋 › 1单元" in _cells(html)  # the unit head's post
    assert "莲溪县" in _cells(html)  # above any community: from the district


def test_an_area_search_names_each_node_found_by_its_path(world, admin):
    html, _n = _get(admin, "grids_area", q="2单元")
    assert _cells(html) == [U2]
    html, _n = _get(admin, "grids_area")
    assert _cells(html) == []  # the tree itself shows where each node is by its indent


@pytest.mark.parametrize(
    ("term", "doors"),
    [
        ("2单元", {"201"}),
        ("1栋", {"101", "201", "301", "601"}),  # the buildings' own, and their units'
        ("莲心社区 › 1栋", {"101", "201", "301"}),
        ("第2网格", {"501"}),
        ("旴江社区", {"601"}),
        (U2, {"201"}),  # a path as the lists show it
        ("莲心社区 1单元", {"101", "501"}),
    ],
)
def test_the_household_search_finds_them_by_their_places_name(world, admin, term, doors):
    html, _n = _get(admin, "residents_household", q=term)
    assert set(_cells(html, "door")) == doors


def test_the_problem_search_finds_them_by_their_places_name(world, admin):
    from issues import services
    from issues.models import Category
    from issues.rules import SYSTEM

    repair = Category.objects.create(code="repair", name="维修")

    def report(area):
        return services.ticket_report(
            area=area,
            category=repair,
            channel="hotline",
            description="灯坏了",
            actor=SYSTEM,
            reporter_phone="13700000099",
        )

    at_u2, at_u4 = report(world.u2), report(world.u4)
    found = _cells(_get(admin, "issues_ticket", q="莲心社区")[0], "id")
    assert found == [str(at_u2.pk)]
    found = _cells(_get(admin, "issues_ticket", q="旴江社区 › 第1网格")[0], "id")
    assert found == [str(at_u4.pk)]
    html, _n = _get(admin, "issues_ticket")
    assert set(_cells(html)) == {U2, "旴江社区 › 第1网格 › 1栋 › 1单元"}


@pytest.mark.parametrize(
    "name", ["residents_household", "residents_resident", "grids_post", "residents_visit"]
)
def test_the_places_of_a_page_cost_one_query_however_many_rows(world, admin, name):
    from grids import services as grid_services
    from grids.rules import AreaKind

    def visit_all():
        for household in resident_services_households():
            resident_services.visit_log(household=household, visitor=world.persons["grid_head"])

    def resident_services_households():
        from residents.models import Household

        return list(Household.objects.all())

    visit_all()
    _html, few = _get(admin, name)
    building = grid_services.area_create(
        code=f"{world.g2.code}009", name="9栋", kind=AreaKind.BUILDING, parent=world.g2
    )
    for n in range(12):
        unit = grid_services.area_create(
            code=f"{building.code}{n:02d}", name=f"{n}单元", kind=AreaKind.UNIT, parent=building
        )
        household = resident_services.household_create(area=unit, door=f"9{n:02d}")
        resident_services.resident_create(
            household=household, name=f"户主{n}", id_number=_id(n), is_householder=True
        )
        resident_services.visit_log(household=household, visitor=world.persons["grid_head"])
        grid_services.post_assign(
            area=unit,
            title="unit_head",
            person=grid_services.person_get_or_create(name=f"单元长{n}", phone=f"1350000{n:04d}"),
        )
    html, many = _get(admin, name)
    assert "莲心社区 › 第2网格 › 9栋 › 11单元" in _cells(html)
    assert many == few


def _id(n: int) -> str:
    from tests.conftest import _id_number

    return _id_number(200 + n)


def test_the_heads_export_names_each_post_by_its_path_and_keeps_the_code(world, admin):
    from tests.residents.helpers import xlsx_rows

    response = admin.get(reverse("admin:grids_post_export"), {"format": "xlsx"})
    assert response.status_code == 200
    lines = xlsx_rows(response.content)
    assert lines[0][:2] == ["区域编码", "区域名称"]
    by_code = {line[0]: line for line in lines[1:]}
    assert by_code[world.u1.code][1] == "莲心社区 › 第1网格 › 1栋 › 1单元"
    assert by_code[world.g1.code][1] == "莲心社区 › 第1网格"


def test_the_heads_export_reads_the_paths_in_one_query_however_many(world):
    from grids import services as grid_services
    from grids.access import scope_for
    from grids.imports import head_export_rows
    from grids.rules import AreaKind

    user = world.users["community"]
    scope_for(user)  # built once per request, before the rows

    def export():
        with CaptureQueriesContext(connection) as captured:
            rows = list(head_export_rows(user=user))
        return rows, len(captured)

    few_rows, few = export()
    for n in range(20):
        unit = grid_services.area_create(
            code=f"{world.b2.code}{n + 10:02d}",
            name=f"{n + 10}单元",
            kind=AreaKind.UNIT,
            parent=world.b2,
        )
        person = grid_services.person_get_or_create(name=f"单元长{n}", phone=f"1350001{n:04d}")
        grid_services.post_assign(area=unit, title="unit_head", person=person)
    rows, many = export()
    assert len(rows) == len(few_rows) + 20
    assert "莲心社区 › 第2网格 › 2栋 › 29单元" in {row[1] for row in rows}
    assert many == few
