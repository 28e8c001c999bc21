"""Guard rails of ``load_demo`` (portal/management/commands/load_demo.py): refused on a
production configuration unless told, never the well-known password there, and all or
nothing — a run that fails half-way leaves every table as it was and sends nothing."""

from __future__ import annotations

import io
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dashboard import points_demo
from grids.models import Area, Person
from issues import demo as issues_demo
from portal.management.commands import load_demo
from portal.management.commands.load_demo import DEMO_PASSWORD, production_reasons
from residents import demo as residents_demo

pytestmark = pytest.mark.django_db

SQLITE = "django.db.backends.sqlite3"
POSTGRES = "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("debug_off", "engine", "name", "production"),
    [
        (False, SQLITE, "/srv/portal/var/db.sqlite3", False),
        (False, POSTGRES, "portal_demo", False),
        (False, POSTGRES, "demo-county", False),
        (False, POSTGRES, "test_portal", False),  # the test runner's
        (False, POSTGRES, "test_portal_gw1", False),
        (False, POSTGRES, "grid_dev", False),
        (False, POSTGRES, "portal_dev2", False),
        (False, POSTGRES, "portal", True),
        (False, POSTGRES, "guangchang", True),
        (False, POSTGRES, "portal_latest", True),  # "test" inside a word is not a test database
        (False, POSTGRES, "devices", True),
        (False, POSTGRES, "", True),
        (True, SQLITE, "/srv/portal/var/db.sqlite3", True),
        (True, POSTGRES, "portal_demo", True),
    ],
)
def test_what_counts_as_production(debug_off, engine, name, production):
    database = {"ENGINE": engine, "NAME": name}
    reasons = production_reasons(production=debug_off, database=database)
    assert bool(reasons) is production, reasons


def test_both_reasons_are_named():
    reasons = production_reasons(production=True, database={"ENGINE": POSTGRES, "NAME": "portal"})
    assert reasons == [
        "DJANGO_DEBUG is false",
        "the database 'portal' is not SQLite and its name does not say demo, test or dev",
    ]


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_refused_when_debug_is_off(settings):
    settings.PRODUCTION = True  # DJANGO_DEBUG=false
    before = _row_counts()
    with pytest.raises(CommandError) as refused:
        call_command("load_demo", stdout=io.StringIO())
    message = str(refused.value)
    assert "DJANGO_DEBUG is false" in message and "--allow-production" in message
    assert "Nothing was loaded" in message
    assert _row_counts() == before


def test_refused_on_a_database_not_named_for_a_demo(db, monkeypatch):
    # Only the command's check reads these; the open test connection is left as it is.
    monkeypatch.setitem(connection.settings_dict, "ENGINE", POSTGRES)
    monkeypatch.setitem(connection.settings_dict, "NAME", "guangchang")
    with pytest.raises(CommandError, match="the database 'guangchang' is not SQLite"):
        call_command("load_demo", stdout=io.StringIO())
    monkeypatch.undo()
    assert not Area.objects.exists()


class Broke(Exception):
    pass


def test_a_run_that_fails_half_way_leaves_everything_as_it_was(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    """The areas, heads, Party organisations are written, then the residents' step fails:
    every table holds what it held before and no after-commit send is left queued."""
    steps = []

    def failing(write):
        steps.append(Area.objects.count())
        raise Broke("the residents' demo failed")

    monkeypatch.setattr(residents_demo, "load", failing)
    before = _row_counts()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(Broke):
        call_command("load_demo", stdout=io.StringIO())
    assert steps and steps[0] > 4000  # it did fail half-way, with the county written
    assert _row_counts() == before
    assert callbacks == []


def _without_the_long_steps(monkeypatch):
    """The areas, heads, Party organisations and logins only: the steps after them are
    left out (their all-or-nothing is the test above's)."""
    monkeypatch.setattr(residents_demo, "load", lambda write: None)
    monkeypatch.setattr(issues_demo, "load", lambda write: None)
    for module in (load_demo.wishes_demo, load_demo.deliberation_demo, load_demo.councils_demo):
        monkeypatch.setattr(module, "load", lambda write: None)
    monkeypatch.setattr(points_demo, "load", lambda write: None)
    monkeypatch.setattr(load_demo.Command, "_digests", lambda self: "digests: left out")


def _passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^login (\S+) / (.+?): ", output, flags=re.MULTILINE))


def test_allowed_on_production_without_the_well_known_password(db, monkeypatch, settings):
    _without_the_long_steps(monkeypatch)
    settings.PRODUCTION = True  # DJANGO_DEBUG=false
    User = get_user_model()
    out = io.StringIO()
    call_command("load_demo", "--allow-production", stdout=out)
    printed = _passwords(out.getvalue())
    assert "admin" in printed and len(printed) >= 5
    assert len(set(printed.values())) == len(printed)  # one of its own per login
    for username, password in printed.items():
        user = User.objects.get(username=username)
        assert not user.check_password(DEMO_PASSWORD), username
        assert user.check_password(password) and len(password) >= 16, username
    assert DEMO_PASSWORD not in out.getvalue()
    assert User.objects.get(username="admin").is_superuser
    assert Person.objects.filter(user__username="grid_head").exists()

    # A second run keeps the passwords set, and replaces a well-known one left from a load
    # on this database before it was production.
    grid_head = User.objects.get(username="grid_head")
    grid_head.set_password(DEMO_PASSWORD)
    grid_head.save()
    again = io.StringIO()
    call_command("load_demo", "--allow-production", stdout=again)
    second = _passwords(again.getvalue())
    assert second["admin"] == "(password unchanged)"
    assert User.objects.get(username="admin").check_password(printed["admin"])
    assert second["grid_head"] not in (DEMO_PASSWORD, "(password unchanged)")
    assert User.objects.get(username="grid_head").check_password(second["grid_head"])


def test_the_embedded_demo_keeps_the_readme_password(db, monkeypatch):
    _without_the_long_steps(monkeypatch)
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    printed = _passwords(out.getvalue())
    assert printed and set(printed.values()) == {DEMO_PASSWORD}
    assert get_user_model().objects.get(username="admin").check_password(DEMO_PASSWORD)
