import os

import pytest
from django.db import connection

# What the suite states at the end of a run (tests/summaries.py), summed over pytest-xdist's
# workers and printed by the controller, which reads this conftest.
from tests.summaries import (  # noqa: E402, F401
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_testnodedown,
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """Transactional tests (the browser's live server, the races) empty every table when
    they end, the rows the data migrations wrote included (the care tags, the SMS and workflow
    settings …): they run after the plain tests (pytest-django's order, which pytest-xdist's
    ``--dist load`` keeps in each process), the browser's last.

    Tests marked ``postgres`` need PostgreSQL. Locally on SQLite they are skipped; in CI a
    missing PostgreSQL is a failure, never a quiet skip."""
    items.sort(key=lambda item: "tests/browser/" in str(item.fspath))
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    needing = [item for item in items if "postgres" in item.keywords]
    if needing and IN_CI:
        raise pytest.UsageError(
            f"{len(needing)} tests need PostgreSQL and CI must run them: set DATABASE_URL"
        )
    for item in needing:
        item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))


@pytest.fixture(autouse=True)
def _chinese(settings):
    """Tests read messages in the default language, as a worker would."""
    from django.utils import translation

    with translation.override("zh-hans"):
        yield


@pytest.fixture(autouse=True)
def _broker_up():
    """Each test starts with the broker taken as up: a test that stopped a broker (or a
    worker's shutdown) leaves the outbox's 30-second "broker down" mark behind, and the next
    test's messages would wait for the sweep."""
    from core.outbox import outbox_broker_reset

    outbox_broker_reset()
    yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters kept in the cache (rate limits, lockouts) start from zero in every test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fresh_db(db):
    """The default connection on a new, empty database for this test (tests/migrating.py):
    for data migrations, migrated forward from nothing."""
    from tests.migrating import fresh_database

    with fresh_database() as fresh:
        yield fresh


@pytest.fixture
def vendor():
    return connection.vendor


# --- the named personas, in one small world ----------------------------------------------------
#
#   抚阳市 (city) › 莲溪县 (county) › 莲城街道 (street)
#     ├─ 莲心社区 (community A)
#     │    ├─ 第1网格 G1 ─ 1栋 B1 ─ 1单元 U1, 2单元 U2
#     │    └─ 第2网格 G2 ─ 2栋 B2 ─ 1单元 U3
#     └─ 旴江社区 (community B) ─ 第1网格 G3 ─ 1栋 B3 ─ 1单元 U4
#
# Households: one in each unit, one hanging directly on B1 and one on G1 (places without units).

PASSWORD = "pw-for-tests-1"


def _id_number(serial: int, birth: str = "19800101", male: bool = True) -> str:
    from residents.identity import id_check_digit

    seq = f"{serial * 2 + (1 if male else 0):03d}"[-3:]
    body = f"369921{birth}{seq}"
    return body + id_check_digit(body)


class World:
    """Areas, people, logins and residents, built through the services."""

    def __init__(self):
        from django.contrib.auth.models import User

        from grids import services as g
        from grids.models import Department
        from grids.rules import AreaKind as K
        from grids.rules import PostTitle as T
        from residents import services as r

        self.city = g.area_create(code="3699", name="抚阳市", kind=K.CITY)
        self.county = g.area_create(code="369921", name="莲溪县", kind=K.DISTRICT, parent=self.city)
        self.street = g.area_create(
            code="369921001", name="莲城街道", kind=K.STREET, parent=self.county
        )
        self.community_a = g.area_create(
            code="369921001001", name="莲心社区", kind=K.COMMUNITY, parent=self.street
        )
        self.community_b = g.area_create(
            code="369921001002", name="旴江社区", kind=K.COMMUNITY, parent=self.street
        )

        def grid(code, name, parent):
            return g.area_create(code=code, name=name, kind=K.GRID, parent=parent)

        def building(code, name, parent):
            return g.area_create(code=code, name=name, kind=K.BUILDING, parent=parent)

        def unit(code, name, parent):
            return g.area_create(code=code, name=name, kind=K.UNIT, parent=parent)

        a, b = self.community_a.code, self.community_b.code
        self.g1 = grid(f"{a}001", "第1网格", self.community_a)
        self.g2 = grid(f"{a}002", "第2网格", self.community_a)
        self.g3 = grid(f"{b}001", "第1网格", self.community_b)
        self.b1 = building(f"{self.g1.code}001", "1栋", self.g1)
        self.b2 = building(f"{self.g2.code}002", "2栋", self.g2)
        self.b3 = building(f"{self.g3.code}001", "1栋", self.g3)
        self.u1 = unit(f"{self.b1.code}01", "1单元", self.b1)
        self.u2 = unit(f"{self.b1.code}02", "2单元", self.b1)
        self.u3 = unit(f"{self.b2.code}01", "1单元", self.b2)
        self.u4 = unit(f"{self.b3.code}01", "1单元", self.b3)

        self.users = {}
        self.persons = {}
        phones = iter(f"1390000{i:04d}" for i in range(1, 100))

        def login(key, name, area=None, title=None):
            user = User.objects.create_user(key, password=PASSWORD)
            person = g.person_get_or_create(name=name, phone=next(phones))
            person.user = user
            person.save(update_fields=["user"])
            if area is not None:
                g.post_assign(area=area, title=title, person=person)
            self.users[key] = user
            self.persons[key] = person
            return user

        login("unit_head", "严福", self.u1, T.UNIT_HEAD)
        login("building_head", "朱英水", self.b1, T.BUILDING_HEAD)
        login("grid_head", "李雪永", self.g1, T.GRID_HEAD)
        login("community", "龚忠连", self.community_a, T.COMMUNITY_WORKER)
        login("street", "周立新", self.street, T.STREET_OFFICER)
        login("county", "陈志远", self.county, T.COUNTY_OFFICER)
        login("outsider", "龚根水", self.community_b, T.COMMUNITY_SECRETARY)
        login("department", "王建华")
        self.department = Department.objects.create(code="housing", name="住建局")
        self.department.handlers.add(self.persons["department"])
        self.users["admin"] = User.objects.create_superuser("admin", password=PASSWORD)

        self.households = {}
        self.residents = {}
        places = {
            "U1": self.u1,
            "U2": self.u2,
            "B1": self.b1,
            "G1": self.g1,
            "U3": self.u3,
            "U4": self.u4,
        }
        for serial, (key, area) in enumerate(places.items(), start=1):
            household = r.household_create(area=area, door=f"{serial}01", address=f"{area.name}")
            self.households[key] = household
            self.residents[key] = r.resident_create(
                household=household,
                name=f"居民{key}",
                id_number=_id_number(serial),
                phone=f"1370000{serial:04d}",
                is_householder=True,
            )


@pytest.fixture
def world(db):
    """The named personas' world: built once per process and local date, restored into each
    test (tests/world_snapshot.py)."""
    from tests.world_snapshot import restored_world

    return restored_world(World)


PERSONAS = (
    "unit_head",
    "building_head",
    "grid_head",
    "community",
    "street",
    "county",
    "department",
    "admin",
    "outsider",
)


@pytest.fixture
def login_as(client, world):
    def _login(persona: str):
        client.force_login(world.users[persona])
        return client

    return _login


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    """Text messages sent with the test backend (``core.sms.LocmemBackend``) start from none
    in every test, like ``django.core.mail.outbox``."""
    from core import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def point_rules(db):
    """The points rules the data migration seeds: a transactional test before this one
    emptied the table (every table), so they are put back."""
    import importlib

    from points.models import PointRule

    for code, points, description in importlib.import_module("points.migrations.0002_rules").RULES:
        PointRule.objects.get_or_create(
            code=code, defaults={"points": points, "description": description}
        )
