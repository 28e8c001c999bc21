import os

import pytest
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL. Locally on SQLite they are skipped; in CI a
    missing PostgreSQL is a failure, never a quiet skip."""
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


@pytest.fixture
def vendor():
    return connection.vendor
