"""Server errors the property tests found, each kept as a plain test of its own."""

import pytest
from django.contrib import admin
from django.urls import reverse


def _autocompleted():
    from django.apps import apps

    apps.check_apps_ready()
    return [
        (model, name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.autocomplete_fields
    ]


@pytest.mark.parametrize("value", ["abc", "\x00", "1.5", "-", "9223372036854775808"])
def test_an_admin_form_sent_back_with_no_key_in_an_autocomplete_field_shows_its_error(
    world, client, value
):
    """Django's autocomplete widget looked every posted value up as a key of the related
    model: an add form posted with "abc" there answered 500, not the field's error."""
    client.force_login(world.users["admin"])
    fields = _autocompleted()
    assert len(fields) >= 8
    for model, name in fields:
        if value.isdigit() and model._meta.get_field(name).many_to_many:
            # Django's own check of a multiple choice looks the keys up with ``__in``, which
            # on SQLite fails for a key beyond 64 bits (reported, not the widget's doing).
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        response = client.post(url, {name: value})
        assert response.status_code == 200, (model, name, response.status_code)
        assert name in response.context["adminform"].form.errors, (model, name)


def test_a_place_code_with_a_nul_character_is_no_place_not_a_server_error(world, client):
    """PostgreSQL refuses a NUL character in a query: a code holding one, looked up as it
    came (a problem's or a meeting's form sent back, a place in the address), answered 500.
    It names no place."""
    client.force_login(world.users["community"])
    for url in (
        reverse("grids:notice_board", args=["\x00"]),
        reverse("dashboard:area_detail", args=["36\x0099"]),
        reverse("home") + "?node=%00",
    ):
        assert client.get(url).status_code in (200, 302, 404), url
    response = client.post(reverse("issues:report"), {"area": "\x00", "description": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors
    client.force_login(world.users["building_head"])
    response = client.post(reverse("councils:plan"), {"area": "\x00", "date": "2026-03-10"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_a_care_tag_key_beyond_64_bits_is_a_field_error(world, client):
    """The resident's edit form looked a posted care tag key up with ``__in``: on SQLite a
    key beyond 64 bits failed with a server error instead of "not one of the choices"."""
    client.force_login(world.users["community"])
    url = reverse("residents:resident_edit", args=[world.residents["U1"].pk])
    response = client.post(url, {"name": "居民U1", "care_tags": "9223372036854775808"})
    assert response.status_code == 200
    assert "care_tags" in response.context["form"].errors


def test_a_good_deed_refused_for_a_new_saver_leaves_no_person_behind(world, client):
    """储蓄登记 by mobile number wrote the resident's person and balance, and then the deed
    was refused (a day in the future): the person and its balance stayed."""
    from grids.models import Person
    from points.models import PointBalance

    client.force_login(world.users["community"])
    before = (Person.objects.count(), PointBalance.objects.count())
    response = client.post(
        reverse("points:deed_new"),
        {"phone": world.residents["U1"].phone, "what": "扫楼道", "done_on": "2999-01-01"},
    )
    assert response.status_code == 302
    assert (Person.objects.count(), PointBalance.objects.count()) == before
    world.residents["U1"].refresh_from_db()
    assert world.residents["U1"].person_id is None
