"""``manage.py db_grants ROLE`` (portal/management/commands/db_grants.py): the services'
role gets the rows of every table and only reading and adding on the audit history; a role
that cannot be bound by grants (the owner, a superuser, none) is refused with the reason.
The whole deployment with two roles: tests/production/test_deploy.py."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.management.commands.db_grants import history_tables

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROLE = "portal_grants_test_app"


def _privileges(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'])"
            " AS p WHERE has_table_privilege(%s, %s, p)",
            [ROLE, table],
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_services_role_gets_rows_and_the_history_only_to_read_and_add():
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE} LOGIN")  # rolled back with the test
    out = io.StringIO()
    call_command("db_grants", ROLE, stdout=out)
    assert "history tables read and added to only" in out.getvalue()
    assert _privileges("grids_area") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert _privileges("issues_ticket") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    histories = history_tables()
    assert {"grids_areahistory", "issues_tickethistory"} <= set(histories)
    for table in histories:
        assert _privileges(table) == {"SELECT", "INSERT"}, table


def test_a_role_that_grants_cannot_bind_is_refused():
    with pytest.raises(CommandError, match="there is no database role"):
        call_command("db_grants", "no_such_role_here")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
        cursor.execute(f"CREATE ROLE {ROLE}_super SUPERUSER")
    with pytest.raises(CommandError, match="owns the tables"):
        call_command("db_grants", owner)
    with pytest.raises(CommandError, match="is a superuser"):
        call_command("db_grants", f"{ROLE}_super")
