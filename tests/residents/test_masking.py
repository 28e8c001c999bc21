"""Personal data is masked everywhere it is shown, and seen in full only through a logged
reveal.

The sweep requests every residents page, export and admin page each persona can open and
searches every body for every resident's full ID number and full phone.
"""

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from residents import services
from residents.models import AccessLog, CareTag, Resident

from .helpers import csv_bytes, make_id, mobile, row, xlsx_text

pytestmark = pytest.mark.django_db

SEES_RESIDENTS = (
    "unit_head",
    "building_head",
    "grid_head",
    "community",
    "street",
    "county",
    "admin",
    "outsider",
)


@pytest.fixture
def rich_world(world):
    """The world with care tags, visits and a logged reveal, so every part of a page shows."""
    tags = list(CareTag.objects.filter(name__in=["独居老人", "残疾人"]))
    for key, resident in world.residents.items():
        resident.care_tags.set(tags)
        services.visit_log(
            household=world.households[key],
            visitor=world.persons["grid_head"],
            findings=f"{resident.name}家中一切正常",
        )
    services.personal_field_reveal(
        user=world.users["admin"], resident=world.residents["U1"], field="phone"
    )
    return world


def _secrets(world, extra=()):
    values = {r.id_number for r in Resident.objects.all()}
    values |= {r.phone for r in Resident.objects.all() if r.phone}
    values |= set(extra)
    assert all(len(v) >= 11 for v in values)
    return values


def _leaks(body: str, secrets) -> list[str]:
    return sorted(v for v in secrets if v in body)


def _upload_rows(world, persona):
    """A valid import for ``persona``'s area: one change to a resident they hold and two new
    residents, with phones."""
    if persona == "outsider":
        key, unit = "U4", world.u4
    else:
        key, unit = "U3", world.u3
    existing = world.residents[key]
    return [
        row(unit.code, world.households[key].door, existing.name + "改", existing.id_number),
        row(unit.code, "880", "新甲", make_id(501), phone=mobile(501)),
        row(unit.code, "881", "新乙", make_id(502, male=False), phone=mobile(502)),
    ]


def _pages(world, persona, client, upload_dir):
    """(label, body) for every residents page, export and upload preview ``persona`` opens."""
    from residents.selectors import households_visible_to, residents_visible_to

    user = world.users[persona]
    urls = [
        reverse("residents:resident_list"),
        reverse("residents:household_list"),
        reverse("residents:coverage"),
        reverse("residents:resident_import"),
    ]
    for resident in residents_visible_to(user):
        urls += [
            reverse("residents:resident_detail", args=[resident.pk]),
            reverse("residents:resident_edit", args=[resident.pk]),
        ]
    for household in households_visible_to(user):
        urls += [
            reverse("residents:household_detail", args=[household.pk]),
            reverse("residents:household_edit", args=[household.pk]),
            reverse("residents:visit_create", args=[household.pk]),
        ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 403), url
        yield url, response.status_code, response.content.decode()
    export = reverse("residents:resident_export")
    csv_response = client.get(export, {"format": "csv"})
    yield "export.csv", csv_response.status_code, csv_response.content.decode("utf-8-sig")
    xlsx_response = client.get(export, {"format": "xlsx"})
    if xlsx_response.status_code == 200:
        yield "export.xlsx", 200, xlsx_text(xlsx_response.content)
    else:
        yield "export.xlsx", xlsx_response.status_code, xlsx_response.content.decode()
    upload = SimpleUploadedFile("居民.csv", csv_bytes(_upload_rows(world, persona)))
    response = client.post(reverse("residents:resident_import"), {"file": upload})
    yield "import preview", response.status_code, response.content.decode()


@pytest.mark.parametrize("persona", SEES_RESIDENTS)
def test_no_page_shows_a_full_id_number_or_phone(rich_world, login_as, upload_dir, persona):
    world = rich_world
    client = login_as(persona)
    uploaded = {make_id(501), make_id(502, male=False), mobile(501), mobile(502)}
    secrets = _secrets(world, uploaded)
    seen = {}
    for label, status, body in _pages(world, persona, client, upload_dir):
        assert _leaks(body, secrets) == [], (persona, label)
        seen[label] = status
    # The sweep did look at real pages: the list and its export (or 403 by role).
    assert seen[reverse("residents:resident_list")] == 200
    assert seen["export.csv"] == (200 if persona not in ("unit_head", "building_head") else 403)
    may_import = persona in ("community", "admin", "outsider")
    assert seen["import preview"] == (200 if may_import else 403)


@pytest.mark.parametrize("persona", ["community", "admin"])
def test_the_import_preview_names_rows_by_masked_id(world, login_as, upload_dir, persona):
    client = login_as(persona)
    upload = SimpleUploadedFile("居民.csv", csv_bytes(_upload_rows(world, persona)))
    response = client.post(reverse("residents:resident_import"), {"file": upload})
    html = response.content.decode()
    number = make_id(501)
    assert f"新甲 {number[0]}{'*' * 16}{number[-1]}" in html
    u3 = world.residents["U3"]
    assert u3.masked_id_number in html and u3.id_number not in html


def test_the_export_shows_masks_in_place_of_the_values(rich_world, login_as):
    client = login_as("admin")
    text = client.get(reverse("residents:resident_export"), {"format": "csv"}).content.decode(
        "utf-8-sig"
    )
    xlsx = xlsx_text(client.get(reverse("residents:resident_export"), {"format": "xlsx"}).content)
    for resident in rich_world.residents.values():
        assert resident.masked_id_number in text and resident.masked_phone in text
        assert resident.masked_id_number in xlsx and resident.masked_phone in xlsx


# --- the admin ------------------------------------------------------------------------------


def test_no_admin_page_shows_a_full_id_number_or_phone(rich_world, login_as):
    world = rich_world
    client = login_as("admin")
    secrets = _secrets(world)
    urls = [
        "/admin/residents/resident/",
        "/admin/residents/household/",
        "/admin/residents/visit/",
        "/admin/residents/accesslog/",
    ]
    for resident in world.residents.values():
        urls.append(f"/admin/residents/resident/{resident.pk}/change/")
        urls.append(f"/admin/residents/resident/?q={resident.masked_id_number}")
        urls.append(f"/admin/residents/resident/?q={resident.name}")
    for household in world.households.values():
        urls.append(f"/admin/residents/household/{household.pk}/change/")
    for log in AccessLog.objects.all():
        urls.append(f"/admin/residents/accesslog/{log.pk}/change/")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert _leaks(body, secrets) == [], url


def test_the_admin_lists_and_inlines_show_masks(rich_world, login_as):
    world = rich_world
    client = login_as("admin")
    listing = client.get("/admin/residents/resident/").content.decode()
    household = world.households["U1"]
    inline = client.get(f"/admin/residents/household/{household.pk}/change/").content.decode()
    for resident in world.residents.values():
        assert resident.masked_id_number in listing and resident.masked_phone in listing
    u1 = world.residents["U1"]
    assert u1.masked_id_number in inline and u1.masked_phone in inline
    assert u1.name in inline


def test_the_admin_finds_a_resident_by_the_masked_id_as_displayed(world, login_as):
    client = login_as("admin")
    for key, resident in world.residents.items():
        masked = resident.masked_id_number
        assert masked == resident.id_number[0] + "*" * 16 + resident.id_number[-1]
        response = client.get("/admin/residents/resident/", {"q": masked})
        html = response.content.decode()
        assert response.status_code == 200
        found = {k for k, r in world.residents.items() if r.name in html}
        # The mask shows two characters: it finds everyone who shares them, no one else.
        sharing = {k for k, r in world.residents.items() if r.masked_id_number == masked}
        assert found == sharing and key in found, masked


def test_the_admin_finds_a_resident_by_name(world, login_as):
    client = login_as("admin")
    html = client.get("/admin/residents/resident/", {"q": "居民U2"}).content.decode()
    assert {k for k, r in world.residents.items() if r.name in html} == {"U2"}


def test_the_admin_cannot_add_residents(world, login_as):
    client = login_as("admin")
    assert client.get("/admin/residents/resident/add/").status_code == 403


def test_the_access_log_admin_is_read_only(rich_world, login_as):
    client = login_as("admin")
    log = AccessLog.objects.get()
    before = (log.viewer_id, log.resident_id, log.field, log.at, log.ip, log.user_agent)
    base = "/admin/residents/accesslog/"
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}add/", {"field": "phone"}).status_code == 403
    change = f"{base}{log.pk}/change/"
    view = client.get(change)
    assert view.status_code == 200  # view-only, no form to save
    assert 'name="_save"' not in view.content.decode()
    assert client.post(change, {"field": "id_number", "ip": "10.0.0.1"}).status_code == 403
    assert client.get(f"{base}{log.pk}/delete/").status_code == 403
    assert client.post(f"{base}{log.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = client.get(base).content.decode()
    assert "delete_selected" not in listing
    response = client.post(base, {"action": "delete_selected", "_selected_action": [log.pk]})
    assert response.status_code in (200, 302)
    log.refresh_from_db()
    assert (log.viewer_id, log.resident_id, log.field, log.at, log.ip, log.user_agent) == before
    assert AccessLog.objects.count() == 1


# --- the reveal -----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["id_number", "phone"])
def test_a_reveal_returns_the_value_and_logs_exactly_one_row(world, login_as, field):
    client = login_as("community")
    resident = world.residents["U3"]
    url = reverse("residents:resident_reveal", args=[resident.pk, field])
    response = client.post(
        url, REMOTE_ADDR="203.0.113.9", headers={"user-agent": "Mozilla/5.0 (测试浏览器)"}
    )
    assert response.status_code == 200
    value = getattr(resident, field)
    assert value in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    log = AccessLog.objects.get()
    assert (log.viewer, log.resident, log.field) == (world.users["community"], resident, field)
    assert (log.ip, log.user_agent) == ("203.0.113.9", "Mozilla/5.0 (测试浏览器)")
    # Each reveal is one more row; nothing else is logged.
    client.post(url, REMOTE_ADDR="203.0.113.9")
    assert AccessLog.objects.count() == 2


def test_the_access_log_has_no_field_that_could_hold_the_value(world):
    names = {f.name for f in AccessLog._meta.get_fields()}
    # ticket_link: issues.TicketAccess, which names the problem a look was for (no value).
    # scope and rows: an export's places, filters and row count (no value either).
    assert names == {
        *("id", "viewer", "resident", "ticket_link", "field", "at", "ip", "user_agent"),
        *("scope", "rows"),
    }
    resident = world.residents["U1"]
    for field in ("id_number", "phone"):
        value = services.personal_field_reveal(
            user=world.users["admin"],
            resident=resident,
            field=field,
            ip="10.0.0.1",
            user_agent="agent",
        )
        assert value == getattr(resident, field)
    for log in AccessLog.objects.all():
        stored = [str(f.value_from_object(log)) for f in AccessLog._meta.concrete_fields]
        assert not any(resident.id_number in s or resident.phone in s for s in stored)


def test_an_unknown_field_is_refused_and_not_logged(world, login_as):
    client = login_as("admin")
    resident = world.residents["U1"]
    for field in ("name", "gender", "birth_date", "household"):
        url = reverse("residents:resident_reveal", args=[resident.pk, field])
        assert client.post(url).status_code == 403
    assert not AccessLog.objects.exists()


def test_the_user_agent_is_cut_to_the_column(world, login_as):
    client = login_as("admin")
    url = reverse("residents:resident_reveal", args=[world.residents["U1"].pk, "phone"])
    assert client.post(url, headers={"user-agent": "A" * 500}).status_code == 200
    assert AccessLog.objects.get().user_agent == "A" * 200


def test_no_log_record_holds_a_full_value(world, login_as, upload_dir, caplog):
    caplog.set_level(logging.DEBUG)
    client = login_as("community")
    for resident in (world.residents["U1"], world.residents["U3"]):
        for field in ("id_number", "phone"):
            url = reverse("residents:resident_reveal", args=[resident.pk, field])
            assert client.post(url, REMOTE_ADDR="10.0.0.2").status_code == 200
    # A refused reveal (out of scope) and a refused import, which Django logs as warnings.
    u4 = world.residents["U4"]
    assert (
        client.post(reverse("residents:resident_reveal", args=[u4.pk, "phone"])).status_code == 404
    )
    rows = _upload_rows(world, "community")
    upload = SimpleUploadedFile("居民.csv", csv_bytes(rows))
    response = client.post(reverse("residents:resident_import"), {"file": upload})
    token = response.context["token"]
    response = client.post(
        reverse("residents:resident_import"), {"token": token, "filename": "居民.csv"}
    )
    assert response.status_code == 302
    assert Resident.objects.filter(id_number=make_id(501)).exists()
    bad = [*rows, row(world.u4.code, "1", "越界", u4.id_number, phone=u4.phone)]
    upload = SimpleUploadedFile("坏.csv", csv_bytes(bad))
    client.post(reverse("residents:resident_import"), {"file": upload})
    login_as("grid_head").post(reverse("residents:resident_import"))  # 403

    secrets = _secrets(world, {make_id(502, male=False), mobile(501), mobile(502)})
    assert caplog.records, "the capture saw nothing: the test would prove nothing"
    for record in caplog.records:
        text = " ".join(
            [record.getMessage(), repr(record.args), str(record.exc_text or "")]
            + [repr(v) for k, v in vars(record).items() if k == "request"]
        )
        assert _leaks(text, secrets) == [], record.name


# --- one logging function ---------------------------------------------------------------------


def test_shape_a_look_that_names_no_one_is_refused(world):
    with pytest.raises(ValueError, match="names whose"):
        services.access_log_record(viewer=world.users["admin"], field=AccessLog.Field.PHONE)
    assert not AccessLog.objects.exists()


def test_shape_the_link_of_a_look_is_written_in_the_same_transaction(world):
    seen = []

    def link(log):
        seen.append(log.pk)
        raise RuntimeError("the link could not be written")

    with pytest.raises(RuntimeError):
        services.access_log_record(
            viewer=world.users["admin"], field=AccessLog.Field.DESCRIPTION, link=link
        )
    assert seen and not AccessLog.objects.exists()  # the log row went with the link
