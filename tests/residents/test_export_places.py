"""The resident spreadsheet names each household's place by its path below the reader's
scope (``地点``, last), keeps the area code for re-import, reads the paths in a fixed number
of queries however many rows, and reads back unchanged."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grids import services as grid_services
from grids.rules import AreaKind
from residents import services
from residents.imports import residents_import
from residents.models import Household

from .helpers import HEADERS_ZH, make_id, row, table, xlsx_rows

pytestmark = pytest.mark.django_db

EXPORT = reverse("residents:resident_export")


def _sheet(client) -> tuple[list, int, bytes]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(EXPORT, {"format": "xlsx"})
    assert response.status_code == 200
    return xlsx_rows(response.content), len(captured), response.content


def _by_name(lines) -> dict[str, list]:
    return {line[4]: line for line in lines[1:]}


def test_the_place_is_its_path_below_the_readers_scope_and_the_code_is_kept(world, login_as):
    lines, _n, _data = _sheet(login_as("community"))
    assert lines[0] == [*HEADERS_ZH, "地点"]
    u2 = _by_name(lines)["居民U2"]
    assert u2[0] == world.u2.code
    assert u2[-1] == "莲心社区 › 第1网格 › 1栋 › 2单元"
    assert _by_name(lines)["居民G1"][-1] == "莲心社区 › 第1网格"
    lines, _n, _data = _sheet(login_as("grid_head"))
    assert _by_name(lines)["居民U2"][-1] == "第1网格 › 1栋 › 2单元"
    assert all(" › " in line[-1] or line[-1] == "第1网格" for line in lines[1:])


def test_an_import_takes_the_exports_place_column_and_does_not_read_it(world):
    # The export masks ID numbers and phones: what comes back is a sheet filled in from it,
    # its columns as the export wrote them, the place's cell whatever it says.
    cells = row(world.u3.code, "909", "新居民", make_id(9))
    headers = [*HEADERS_ZH, "地点"]
    report = residents_import(
        table=table([[*cells, "随便写的地点"]], headers=headers), user=world.users["community"]
    )
    assert report.created == 1
    assert Household.objects.get(door="909").area_id == world.u3.pk


def test_the_paths_cost_the_same_queries_for_many_rows(world, login_as):
    client = login_as("community")
    small, few, _data = _sheet(client)
    building = grid_services.area_create(
        code=f"{world.g2.code}009", name="9栋", kind=AreaKind.BUILDING, parent=world.g2
    )
    for n in range(30):
        unit = grid_services.area_create(
            code=f"{building.code}{n:02d}", name=f"{n}单元", kind=AreaKind.UNIT, parent=building
        )
        household = services.household_create(area=unit, door="101")
        services.resident_create(
            household=household, name=f"住户{n}", id_number=_id(n), is_householder=True
        )
    large, many, _data = _sheet(client)
    assert len(large) == len(small) + 30
    assert _by_name(large)["住户29"][-1] == "莲心社区 › 第2网格 › 9栋 › 29单元"
    assert many == few


def _id(n: int) -> str:
    from tests.conftest import _id_number

    return _id_number(300 + n)
