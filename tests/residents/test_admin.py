"""Point 4: the residents admin writes through the services (their errors on the form) or is
read-only: visits are logged through ``visit_log`` and never edited or deleted, households
through ``household_create``/``household_update``, residents through ``resident_update``."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from residents import services
from residents.models import Household, Resident, Visit

pytestmark = pytest.mark.django_db


def _inline_management(response) -> dict[str, str]:
    """The inlines of an admin page as the browser posts them unchanged: each management
    form and each row's fields."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value() or 0)
        for form in inline.formset.forms:
            for field in form:
                value = field.value()
                if value not in (None, False):
                    data[field.html_name] = str(value)
    return data


def _visit_form(world, visited_at: dt.datetime) -> dict[str, str]:
    local = timezone.localtime(visited_at)
    return {
        "household": str(world.households["U1"].pk),
        "visitor": str(world.persons["grid_head"].pk),
        "visited_at_0": local.strftime("%Y-%m-%d"),
        "visited_at_1": local.strftime("%H:%M:%S"),
        "channel": Visit.Channel.DOOR_KNOCK,
    }


class TestVisits:
    def test_shape_a_future_visit_is_refused_with_the_services_message(self, world, login_as):
        client = login_as("admin")
        future = timezone.now() + dt.timedelta(days=3)
        response = client.post(reverse("admin:residents_visit_add"), _visit_form(world, future))
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        with translation.override(response.wsgi_request.LANGUAGE_CODE):
            assert errors["visited_at"] == [gettext("a visit cannot be in the future")]
        assert not Visit.objects.exists()

    def test_shape_a_visit_added_in_the_admin_is_logged_through_visit_log(
        self, world, login_as, monkeypatch
    ):
        calls = []
        real = services.visit_log
        monkeypatch.setattr(services, "visit_log", lambda **kw: calls.append(kw) or real(**kw))
        client = login_as("admin")
        past = timezone.now() - dt.timedelta(hours=2)
        response = client.post(reverse("admin:residents_visit_add"), _visit_form(world, past))
        assert response.status_code == 302, response.content.decode()[:2000]
        visit = Visit.objects.get()
        assert [c["household"] for c in calls] == [world.households["U1"]]
        assert (visit.visitor, visit.channel) == (world.persons["grid_head"], "door_knock")
        assert abs(visit.visited_at - past) < dt.timedelta(seconds=1)

    def test_shape_a_visit_is_history_neither_edited_nor_deleted(self, world, login_as):
        visit = services.visit_log(
            household=world.households["U1"], visitor=world.persons["grid_head"]
        )
        before = (visit.household_id, visit.visitor_id, visit.visited_at, visit.channel)
        client = login_as("admin")
        change = reverse("admin:residents_visit_change", args=[visit.pk])
        page = client.get(change)
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        future = timezone.now() + dt.timedelta(days=3)
        assert client.post(change, _visit_form(world, future)).status_code == 403
        delete = reverse("admin:residents_visit_delete", args=[visit.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        visit.refresh_from_db()
        assert (visit.household_id, visit.visitor_id, visit.visited_at, visit.channel) == before


class TestHouseholds:
    def test_shape_a_household_is_added_through_household_create(
        self, world, login_as, monkeypatch
    ):
        calls = []
        real = services.household_create
        monkeypatch.setattr(
            services, "household_create", lambda **kw: calls.append(kw) or real(**kw)
        )
        client = login_as("admin")
        url = reverse("admin:residents_household_add")
        data = {
            "area": str(world.u2.pk),
            "door": " 902 ",
            "address": " 2单元902 ",
            **_inline_management(client.get(url)),
        }
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        household = Household.objects.get(area=world.u2, door="902")
        assert household.address == "2单元902" and len(calls) == 1

    def test_shape_a_change_goes_through_household_update_door_and_area_fixed(
        self, world, login_as
    ):
        household = world.households["U1"]
        client = login_as("admin")
        url = reverse("admin:residents_household_change", args=[household.pk])
        page = client.get(url)
        form = page.context["adminform"].form
        assert "door" not in form.fields and "area" not in form.fields
        data = {"address": " 新地址 ", "in_online_group": "on", **_inline_management(page)}
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        household.refresh_from_db()
        assert (household.address, household.in_online_group) == ("新地址", True)

    def test_shape_a_household_is_not_deleted_in_the_admin(self, world, login_as):
        household = world.households["U4"]
        client = login_as("admin")
        delete = reverse("admin:residents_household_delete", args=[household.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert Household.objects.filter(pk=household.pk).exists()


class TestResidents:
    def test_shape_a_change_goes_through_resident_update(self, world, login_as, monkeypatch):
        resident = world.residents["U1"]
        calls = []
        real = services.resident_update
        monkeypatch.setattr(
            services, "resident_update", lambda **kw: calls.append(kw) or real(**kw)
        )
        client = login_as("admin")
        url = reverse("admin:residents_resident_change", args=[resident.pk])
        page = client.get(url)
        form = page.context["adminform"].form
        assert "household" not in form.fields and "person" not in form.fields
        response = client.post(url, {"name": " 居民甲 ", "is_householder": ""})
        assert response.status_code == 302, response.content.decode()[:2000]
        resident.refresh_from_db()
        assert (resident.name, resident.is_householder) == ("居民甲", False)
        assert [c["resident"].pk for c in calls] == [resident.pk]

    def test_shape_a_resident_is_not_deleted_in_the_admin(self, world, login_as):
        resident = world.residents["U4"]
        client = login_as("admin")
        delete = reverse("admin:residents_resident_delete", args=[resident.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert Resident.objects.filter(pk=resident.pk).exists()
