"""Issue 9, point 2: full ID numbers must not be rebuilt from what the pages show.

The mask keeps the first and the last character only, the birth date is shown only to roles
that may reveal the number, and the full-number search (portal and admin, POST only) is
rate limited per user and per address and logged like a reveal."""

import csv
import io
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from residents import services
from residents.models import AccessLog

pytestmark = pytest.mark.django_db

FIND = reverse("residents:resident_find")
ADMIN_FIND = "/admin/residents/resident/find/"
NOT_REVEALING = ("unit_head", "building_head", "street", "county")
REVEALING = ("grid_head", "community", "admin")
# Runs of ID characters around a mask of at least eight stars, as on every page.
ID_MASK = re.compile(r"[0-9X]*\*{8,}[0-9X]*")


def _shown_id_characters(html: str) -> list[int]:
    return [len(m.replace("*", "")) for m in ID_MASK.findall(html)]


def _birth_texts(resident) -> list[str]:
    b = resident.birth_date
    return [f"{b.year}年{b.month}月{b.day}日", b.isoformat(), b.strftime("%Y%m%d")]


@pytest.mark.parametrize("persona", NOT_REVEALING)
def test_point2_detail_to_a_non_revealing_role_shows_no_birth_date_and_two_characters(
    world, login_as, persona
):
    resident = world.residents["U1"]
    response = login_as(persona).get(reverse("residents:resident_detail", args=[resident.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert not any(text in html for text in _birth_texts(resident))
    assert 'id="birth-date"' not in html
    assert resident.masked_id_number in html
    assert resident.masked_id_number == resident.id_number[0] + "*" * 16 + resident.id_number[-1]
    assert _shown_id_characters(html) and max(_shown_id_characters(html)) <= 2
    assert resident.id_number[:4] + "*" not in html and "*" + resident.id_number[-4:] not in html


@pytest.mark.parametrize("persona", REVEALING)
def test_point2_a_revealing_role_still_sees_the_birth_date(world, login_as, persona):
    resident = world.residents["U1"]
    html = (
        login_as(persona)
        .get(reverse("residents:resident_detail", args=[resident.pk]))
        .content.decode()
    )
    assert 'id="birth-date"' in html and _birth_texts(resident)[0] in html


@pytest.mark.parametrize("persona", ["unit_head", "street", "community"])
def test_point2_lists_and_household_pages_show_two_characters_of_an_id(world, login_as, persona):
    client = login_as(persona)
    household = world.households["U1"]
    for url in (
        reverse("residents:resident_list"),
        reverse("residents:household_detail", args=[household.pk]),
        reverse("residents:resident_edit", args=[world.residents["U1"].pk]),
    ):
        response = client.get(url)
        if response.status_code == 403:
            continue
        assert max(_shown_id_characters(response.content.decode())) <= 2, url


@pytest.mark.parametrize(("persona", "shows"), [("street", False), ("community", True)])
def test_point2_the_export_gives_birth_dates_only_to_who_may_reveal(
    world, login_as, persona, shows
):
    response = login_as(persona).get(reverse("residents:resident_export"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    u1 = world.residents["U1"]
    (row,) = [r for r in rows if r[4] == u1.name]
    assert row[6] == (u1.birth_date.isoformat() if shows else "")
    assert row[7] == u1.masked_id_number


def test_point2_the_admin_shows_birth_dates_to_superusers_only(world, client):
    staff = User.objects.create_user("clerk", password="pw-for-tests-1", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_resident"))
    u1 = world.residents["U1"]
    birth = u1.birth_date
    for user, shows in ((staff, False), (world.users["admin"], True)):
        client.force_login(user)
        for url in ("/admin/residents/resident/", f"/admin/residents/resident/{u1.pk}/change/"):
            html = client.get(url).content.decode()
            assert (f"{birth.year}年{birth.month}月{birth.day}日" in html) is shows, (user, url)
            assert max(_shown_id_characters(html)) <= 2


# --- the portal's full-number search -------------------------------------------------------


def test_point2_find_is_rate_limited_per_user_with_429(world, login_as):
    client = login_as("community")
    resident = world.residents["U1"]
    for _ in range(services.FIND_PER_USER):
        response = client.post(FIND, {"id_number": resident.id_number})
        assert response.status_code == 302
    response = client.post(FIND, {"id_number": resident.id_number})
    assert response.status_code == 429
    assert int(response["Retry-After"]) == services.FIND_WINDOW
    html = response.content.decode()
    assert 'id="too-many"' in html and "10" in html
    assert AccessLog.objects.filter(field="id_search").count() == services.FIND_PER_USER
    # Someone else from the same office is not held up by one user's searches.
    response = login_as("grid_head").post(FIND, {"id_number": resident.id_number})
    assert response.status_code == 302


def test_point2_find_is_rate_limited_per_address(world, login_as):
    resident = world.residents["U1"]
    users = ("unit_head", "building_head", "grid_head", "street")
    per_user = services.FIND_PER_USER
    assert 3 * per_user == services.FIND_PER_ADDRESS
    for persona in users[:3]:
        client = login_as(persona)
        for _ in range(per_user):
            response = client.post(FIND, {"id_number": resident.id_number}, REMOTE_ADDR="10.1.1.1")
            assert response.status_code == 302
    client = login_as(users[3])
    assert (
        client.post(FIND, {"id_number": resident.id_number}, REMOTE_ADDR="10.1.1.1").status_code
        == 429
    )
    assert (
        client.post(FIND, {"id_number": resident.id_number}, REMOTE_ADDR="10.1.1.2").status_code
        == 302
    )


def test_point2_an_htmx_find_over_the_limit_gets_the_message_alone(world, login_as):
    client = login_as("community")
    for _ in range(services.FIND_PER_USER):
        client.post(FIND, {"id_number": "x"})
    response = client.post(FIND, {"id_number": "x"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    html = response.content.decode()
    assert 'id="too-many"' in html and "<html" not in html


def test_point2_every_find_writes_one_access_log_row_without_the_value(world, login_as):
    client = login_as("community")
    found, outside = world.residents["U1"], world.residents["U4"]
    client.post(
        FIND,
        {"id_number": found.id_number},
        REMOTE_ADDR="203.0.113.9",
        headers={"user-agent": "测试浏览器"},
    )
    client.post(FIND, {"id_number": outside.id_number}, REMOTE_ADDR="203.0.113.9")
    client.post(FIND, {"id_number": "369921198001019999"}, REMOTE_ADDR="203.0.113.9")
    rows = list(AccessLog.objects.order_by("pk"))
    assert [(r.field, r.resident) for r in rows] == [
        ("id_search", found),
        ("id_search", None),  # out of scope: found no one
        ("id_search", None),
    ]
    assert all(r.viewer == world.users["community"] and r.ip == "203.0.113.9" for r in rows)
    assert rows[0].user_agent == "测试浏览器" and rows[0].at is not None
    searched = (found.id_number, outside.id_number, "369921198001019999")
    for row in rows:
        stored = [str(f.value_from_object(row)) for f in AccessLog._meta.concrete_fields]
        assert not any(number in value for number in searched for value in stored)


def test_point2_an_empty_find_is_neither_counted_nor_logged(world, login_as):
    client = login_as("community")
    response = client.post(FIND, {"id_number": "  "})
    assert response.status_code == 302
    assert not AccessLog.objects.exists()


def test_point2_find_needs_the_list_permission(world, login_as):
    response = login_as("department").post(FIND, {"id_number": world.residents["U1"].id_number})
    assert response.status_code == 403
    assert not AccessLog.objects.exists()


# --- the admin ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        lambda r: r.id_number,
        lambda r: r.id_number.lower(),
        lambda r: f"{r.id_number[:6]} {r.id_number[6:14]} {r.id_number[14:]}",
        lambda r: r.id_number[:4] + "*" * 10 + r.id_number[-4:],  # the former, wider mask
    ],
)
def test_point2_admin_get_q_with_a_full_id_does_not_search(world, login_as, term):
    client = login_as("admin")
    u2 = world.residents["U2"]
    response = client.get("/admin/residents/resident/", {"q": term(u2)})
    assert response.status_code == 200
    html = response.content.decode()
    assert u2.name not in html
    assert not AccessLog.objects.exists()


def test_point2_admin_get_q_with_a_full_id_says_where_to_search(world, login_as):
    client = login_as("admin")
    u2 = world.residents["U2"]
    html = client.get("/admin/residents/resident/", {"q": u2.id_number}).content.decode()
    assert ADMIN_FIND in html  # the message and the object tool point to the POST form


def test_point2_admin_post_find_form_works_and_logs(world, login_as):
    client = login_as("admin")
    u2 = world.residents["U2"]
    form = client.get(ADMIN_FIND)
    assert form.status_code == 200
    html = form.content.decode()
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    response = client.post(ADMIN_FIND, {"id_number": u2.id_number.lower()}, REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/residents/resident/{u2.pk}/change/"
    assert u2.id_number not in response["Location"]
    log = AccessLog.objects.get()
    assert (log.viewer, log.resident, log.field, log.ip) == (
        world.users["admin"],
        u2,
        "id_search",
        "10.0.0.7",
    )
    missing = client.post(ADMIN_FIND, {"id_number": "369921198001019999"})
    assert missing.status_code == 404 and 'id="find-error"' in missing.content.decode()
    assert AccessLog.objects.filter(resident=None, field="id_search").count() == 1
    assert client.put(ADMIN_FIND).status_code == 405


def test_point2_admin_find_is_rate_limited_with_the_portal(world, login_as):
    client = login_as("admin")
    u2 = world.residents["U2"]
    for _ in range(services.FIND_PER_USER - 1):
        assert client.post(FIND, {"id_number": u2.id_number}).status_code == 302
    assert client.post(ADMIN_FIND, {"id_number": u2.id_number}).status_code == 302
    response = client.post(ADMIN_FIND, {"id_number": u2.id_number})
    assert response.status_code == 429 and 'id="find-error"' in response.content.decode()
    assert AccessLog.objects.count() == services.FIND_PER_USER


def test_point2_admin_find_needs_the_view_permission_and_csrf(world, client):
    staff = User.objects.create_user("clerk", password="pw-for-tests-1", is_staff=True)
    client.force_login(staff)
    assert client.get(ADMIN_FIND).status_code == 403
    client.logout()
    assert client.get(ADMIN_FIND).status_code == 302  # to the admin login
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.users["admin"])
    response = strict.post(ADMIN_FIND, {"id_number": world.residents["U1"].id_number})
    assert response.status_code == 403
    assert not AccessLog.objects.exists()
