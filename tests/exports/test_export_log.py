"""Resident exports are logged like reveals (issue 15, point 4): one access-log row per
export -- who, which scope and filters, how many rows, when, from where -- on every path
that exports residents, shown in the access log's admin."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from residents.models import AccessLog
from tests.spreadsheet_checks import cells_of

pytestmark = pytest.mark.django_db

EXPORT = reverse("residents:resident_export")


def _exports():
    return list(AccessLog.objects.filter(field=AccessLog.Field.EXPORT))


def _data_rows(content: bytes, fmt: str) -> int:
    return len(cells_of(content, fmt)) - 1  # the header row


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_portal_export_writes_one_row_with_who_what_how_many_and_where(world, client, fmt):
    client.force_login(world.users["community"])
    response = client.get(
        EXPORT, {"format": fmt}, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 200

    (log,) = _exports()
    assert log.viewer == world.users["community"] and log.resident is None
    assert log.rows == _data_rows(response.content, fmt) == 5  # community A's five
    assert log.scope == "scope 莲心社区 (369921001001)"
    assert (log.ip, log.user_agent) == ("203.0.113.7", "Firefox/140")
    assert log.at is not None


def test_the_filters_are_in_the_scope_but_never_the_text_searched_for(world, client):
    client.force_login(world.users["community"])
    response = client.get(EXPORT, {"format": "csv", "area": world.g1.code, "q": "居民U1"})
    assert response.status_code == 200

    (log,) = _exports()
    assert log.scope == f"scope 莲心社区 (369921001001); area {world.g1.code}; search"
    assert "居民U1" not in log.scope
    assert log.rows == _data_rows(response.content, "csv") == 1


def test_an_admin_export_says_it_covered_everyone(world, client):
    client.force_login(world.users["admin"])
    response = client.get(EXPORT, {"format": "xlsx"})
    (log,) = _exports()
    assert log.scope == "all (admin)" and log.rows == _data_rows(response.content, "xlsx") == 6


def test_each_export_is_its_own_row(world, client):
    client.force_login(world.users["street"])
    for _ in range(3):
        assert client.get(EXPORT, {"format": "csv"}).status_code == 200
    assert len(_exports()) == 3


@pytest.mark.parametrize("persona", ["unit_head", "department", "outsider_anonymous"])
def test_a_refused_export_writes_nothing(world, client, persona):
    if persona != "outsider_anonymous":
        client.force_login(world.users[persona])
    response = client.get(EXPORT, {"format": "csv"})
    assert response.status_code in (302, 403)
    assert not _exports()


def test_the_command_names_who_exports_and_logs_once(world, tmp_path):
    path = tmp_path / "residents.csv"
    with pytest.raises(CommandError):
        call_command("export_residents", str(path), stdout=io.StringIO())  # --user required
    with pytest.raises(CommandError, match="no login"):
        call_command("export_residents", str(path), "--user", "nobody", stdout=io.StringIO())
    assert not _exports()

    call_command("export_residents", str(path), "--user", "admin", stdout=io.StringIO())
    (log,) = _exports()
    assert log.viewer == world.users["admin"] and log.scope == "all (command line)"
    assert log.rows == _data_rows(path.read_bytes(), "csv") == 6


def test_the_access_log_admin_shows_the_exports(world, client):
    client.force_login(world.users["community"])
    client.get(EXPORT, {"format": "csv"})
    client.force_login(world.users["admin"])
    page = client.get(reverse("admin:residents_accesslog_changelist"), {"field": "export"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "莲心社区 (369921001001)" in html and ">5<" in html
    log = _exports()[0]
    change = client.get(reverse("admin:residents_accesslog_change", args=[log.pk]))
    assert change.status_code == 200 and "莲心社区 (369921001001)" in change.content.decode()


def test_the_log_row_is_append_only_in_the_admin(world, client):
    client.force_login(world.users["community"])
    client.get(EXPORT, {"format": "csv"})
    log = _exports()[0]
    client.force_login(world.users["admin"])
    delete = reverse("admin:residents_accesslog_delete", args=[log.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AccessLog.objects.filter(pk=log.pk).exists()


def test_an_export_row_without_a_count_is_refused_by_the_database(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLog.objects.create(viewer=world.users["admin"], field=AccessLog.Field.EXPORT)
