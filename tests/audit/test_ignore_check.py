"""pgtrigger's check at the top of every trigger function, replaced after every migrate by
one without a subtransaction (core.audit.FAST_IGNORE_CHECK): the same answers, and no
BEGIN … EXCEPTION block, which cost a subtransaction per written row (quadratic in the rows
of one statement). Its cost at size: ``python -m bench --tree-only`` (the area import)."""

from __future__ import annotations

import pgtrigger
import pytest
from django.core.management import call_command
from django.db import connection

from core import audit
from grids import services as grids
from grids.models import Area
from grids.rules import AreaKind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _definition() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('public._pgtrigger_should_ignore'::regproc)")
        return cursor.fetchone()[0]


def test_migrate_leaves_the_check_without_a_subtransaction():
    assert "EXCEPTION" not in _definition().upper()
    # A migration that installs a trigger writes pgtrigger's own version back; the next
    # migrate's end replaces it again.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name NAME)"
            " RETURNS BOOLEAN AS $$ BEGIN BEGIN PERFORM 1; EXCEPTION WHEN OTHERS THEN END;"
            " RETURN FALSE; END; $$ LANGUAGE plpgsql"
        )
    call_command("migrate", verbosity=0)
    assert "EXCEPTION" not in _definition().upper()


def test_the_check_answers_as_pgtriggers_own():
    with connection.cursor() as cursor:
        cursor.execute("SELECT public._pgtrigger_should_ignore('t')")
        assert cursor.fetchone()[0] is False  # never set
        cursor.execute("SET LOCAL pgtrigger.ignore = '{t,\"u v\"}'")
        cursor.execute(
            "SELECT public._pgtrigger_should_ignore('t'), public._pgtrigger_should_ignore('u v'),"
            " public._pgtrigger_should_ignore('w')"
        )
        assert cursor.fetchone() == (True, True, False)
        cursor.execute("RESET pgtrigger.ignore")
        cursor.execute("SELECT public._pgtrigger_should_ignore('t')")
        assert cursor.fetchone()[0] is False  # set, then reset to ''


def test_pgtrigger_ignore_still_skips_a_history_trigger():
    history = audit.history_model(Area)
    with pgtrigger.ignore("grids.Area:history_insert"):
        skipped = grids.area_create(code="9901", name="甲市", kind=AreaKind.CITY)
    kept = grids.area_create(code="9902", name="乙市", kind=AreaKind.CITY)
    written = set(history.objects.values_list("pgh_obj_id", flat=True))
    assert kept.pk in written and skipped.pk not in written
