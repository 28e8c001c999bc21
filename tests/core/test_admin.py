"""The admin site: titled as the portal, and every admin form refuses control characters
(issue 9, point 9: "everywhere text comes in")."""

import pytest
from django.contrib import admin
from django.urls import reverse

from core.admin import PortalAdminSite, TextIntakeMixin
from grids.models import Department

PROJECT_APPS = {"core", "grids", "residents", "issues", "digests", "dashboard", "portal"}


def test_the_admin_is_the_portals_own_site():
    assert isinstance(admin.site, PortalAdminSite)
    assert str(admin.site.site_header) == "网格治理门户 管理"


def test_point9_every_project_admin_and_inline_checks_its_text_fields():
    registered = [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in PROJECT_APPS
    ]
    assert len(registered) > 10
    for model, model_admin in registered:
        assert isinstance(model_admin, TextIntakeMixin), model
        for inline in model_admin.inlines:
            assert issubclass(inline, TextIntakeMixin), (model, inline)


@pytest.mark.django_db
def test_point9_an_admin_form_refuses_a_control_character(admin_client):
    url = reverse("admin:grids_department_add")
    response = admin_client.post(url, {"code": "water2", "name": "水\x14务局", "email": ""})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "U+0014" in errors["name"][0]
    assert not Department.objects.filter(code="water2").exists()

    response = admin_client.post(url, {"code": "water2", "name": "水务局", "email": ""})
    assert response.status_code == 302
    assert Department.objects.get(code="water2").name == "水务局"
