import pytest

from grids import services
from grids.models import Area
from grids.rules import AreaKind

from .helpers import COUNTY_ROWS


class County(dict):
    """code -> Area, as created. Tests that restructure re-read with ``fresh``."""

    def fresh(self, code: str) -> Area:
        return Area.objects.get(code=code)


@pytest.fixture
def county(db) -> County:
    """COUNTY_ROWS, created one node at a time through ``services.area_create``."""
    made = County()
    for code, name, kind, parent, grid_type, households in COUNTY_ROWS:
        made[code] = services.area_create(
            code=code,
            name=name,
            kind=kind,
            parent=made[parent] if parent else None,
            grid_type=grid_type,
            households=households,
        )
    assert Area.objects.filter(kind=AreaKind.DISTRICT).count() == 3
    return made
