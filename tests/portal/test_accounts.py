"""Accounts for the people who work here: a head imported with a login signs in with a
one-time password and can reach nothing but the password change (and logout) until they
change it; password change and reset pages in the portal's look, both languages; reset by
SMS code or mailed link, rate limited; the admin titled as the portal; the admin's heads
import with logins, its one-time passwords shown once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from core import sms
from core.spreadsheets import Table
from grids.imports import heads_import
from grids.imports.logins import LoginDelivery
from grids.models import Person
from portal.auth import RESET_PER_TARGET
from tests.clock import Clock
from tests.conftest import PASSWORD

User = get_user_model()
MOBILE = "13500000001"
NEW_PASSWORD = "Lianxi-grid-2026"
HEADS = ["区域编码", "职务", "姓名", "手机"]


def heads_table(world, phone=MOBILE, name="赵红梅") -> Table:
    return Table(headers=HEADS, rows=[(2, [world.g2.code, "网格长", name, phone])])


@pytest.fixture
def head(world):
    """A grid head imported with a login; their one-time password as shown to the importer."""
    report = heads_import(table=heads_table(world), logins=LoginDelivery.SHOW)
    (shown,) = report.passwords
    return shown


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


# --- the forced change -----------------------------------------------------------------------


def test_the_one_time_password_signs_in_and_leads_to_the_change(client, head):
    response = sign_in(client, head.username, head.password)

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change")
    user = User.objects.get(username=MOBILE)
    # Re-hashed with the default hasher at the first sign-in.
    assert identify_hasher(user.password).algorithm != "pbkdf2_sha256_otp"


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/tickets/",
        "/notifications/",
        "/areas/",
        "/admin/",
        "/en/",
        "/accounts/password/reset/",
    ],
)
def test_until_changed_every_page_leads_to_the_change(client, head, url):
    sign_in(client, head.username, head.password)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].endswith("/accounts/password/change/")


def test_until_changed_a_post_and_htmx_are_turned_away_too(client, head):
    sign_in(client, head.username, head.password)

    assert client.post(reverse("home")).status_code == 302
    answer = client.get(reverse("home"), headers={"HX-Request": "true"})
    assert answer.status_code == 204
    assert answer["HX-Redirect"] == reverse("password_change")


def test_until_changed_the_change_logout_and_language_are_open(client, head):
    sign_in(client, head.username, head.password)

    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert b'id="password-change-required"' in page.content
    language = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert language.status_code == 302
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302  # signed out: the login page
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))


def test_once_changed_the_portal_is_open(client, head):
    sign_in(client, head.username, head.password)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": head.password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    person = Person.objects.get(phone=MOBILE)
    assert not person.password_change_required
    assert person.user.check_password(NEW_PASSWORD)
    assert not person.user.check_password(head.password)
    # The next sign-in is an ordinary one.
    client.post(reverse("logout"))
    assert sign_in(client, MOBILE, NEW_PASSWORD)["Location"] == reverse("home")


@pytest.mark.parametrize("days, opens", [(13, True), (15, False)])
def test_a_one_time_password_signs_in_for_a_limited_time(client, head, settings, days, opens):
    settings.ONE_TIME_PASSWORD_DAYS = 14
    person = Person.objects.get(phone=MOBILE)
    given = person.password_issued_at
    assert given is not None and person.password_change_required
    clock = Clock(given + dt.timedelta(days=days))
    try:
        response = sign_in(client, head.username, head.password)
    finally:
        clock.stop()

    if opens:
        assert response.status_code == 302
        assert response["Location"] == reverse("password_change")
    else:
        assert response.status_code == 200  # the login page again, with the reason
        assert "一次性密码已过期" in response.content.decode()
        assert "_auth_user_id" not in client.session
        # The right password is no failed attempt: it does not count towards the lockout.
        assert not AccessAttempt.objects.exists()


def test_an_expired_one_time_password_is_replaced_by_the_reset(
    client, head, settings, django_capture_on_commit_callbacks
):
    """Resetting by SMS code (or the holder's own change) lifts the one-time password, and
    with it its expiry."""
    person = Person.objects.get(phone=MOBILE)
    from grids.accounts import one_time_password_expired, password_set

    clock = Clock(person.password_issued_at + dt.timedelta(days=30))
    try:
        assert one_time_password_expired(person.user)
        password_set(user=person.user, password=NEW_PASSWORD)
        person.refresh_from_db()
        assert not one_time_password_expired(person.user)
        assert person.password_issued_at is None and not person.password_change_required
        assert sign_in(client, MOBILE, NEW_PASSWORD)["Location"] == reverse("home")
    finally:
        clock.stop()


def test_a_wrong_current_password_changes_nothing(client, head):
    sign_in(client, head.username, head.password)

    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    assert client.get(reverse("home")).status_code == 302


def test_a_worker_with_their_own_password_is_not_stopped(client, world):
    sign_in(client, "grid_head", PASSWORD)

    assert client.get(reverse("home")).status_code == 200


# --- the pages, in the portal's look and both languages -------------------------------------


@pytest.mark.parametrize(
    ("name", "signed_in"),
    [("password_change", True), ("password_reset", False), ("password_reset_done", False)],
)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_password_pages_in_the_portals_look(client, world, name, signed_in, language):
    if signed_in:
        client.force_login(world.users["grid_head"])
    with translation.override(language):
        url = reverse(name)
        response = client.get(url)
        expected = {
            "password_change": "Change your password",
            "password_reset": "Forgot your password?",
            "password_reset_done": "Check your mail",
        }[name]
        title = translation.gettext(expected)
        brand = translation.gettext("Grid Governance Portal")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="navbar navbar-expand-xl navbar-dark portal-navbar' in html  # base.html
    assert f"<title>{title} · {brand}</title>" in html
    assert f'<html lang="{language}">' in html
    assert (title != expected) == (language == "zh-hans")  # translated


def test_the_login_page_links_to_the_reset(client, db):
    assert reverse("password_reset").encode() in client.get(reverse("login")).content


def test_the_navbar_links_to_the_change(client, world):
    client.force_login(world.users["grid_head"])

    assert f'href="{reverse("password_change")}"' in client.get(reverse("home")).content.decode()


def test_the_change_page_needs_a_sign_in(client, db):
    response = client.get(reverse("password_change"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- reset by SMS code -----------------------------------------------------------------------


def _code(number: str) -> str:
    (message,) = [m for m in sms.outbox if m.number == f"+86{number}"]
    (code,) = re.findall(r"\d{6}", message.text)
    return code


def test_reset_by_sms_code(client, head, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"who": MOBILE})

    assert response.status_code == 302 and response["Location"] == reverse("password_reset_code")
    code = _code(MOBILE)
    assert "重设" in sms.outbox[0].text
    page = client.get(reverse("password_reset_code"))
    assert page.status_code == 200 and "135****0001" in page.content.decode()

    response = client.post(
        reverse("password_reset_code"),
        {"code": code, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302 and response["Location"] == reverse("login")
    person = Person.objects.get(phone=MOBILE)
    assert person.user.check_password(NEW_PASSWORD) and not person.password_change_required
    assert sign_in(client, MOBILE, NEW_PASSWORD)["Location"] == reverse("home")


def test_reset_with_a_wrong_code_sets_nothing(client, head, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"who": MOBILE})
    wrong = f"{(int(_code(MOBILE)) + 1) % 10**6:06d}"

    response = client.post(
        reverse("password_reset_code"),
        {"code": wrong, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200 and response.context["form"].errors["code"]
    assert not User.objects.get(username=MOBILE).check_password(NEW_PASSWORD)


def test_reset_for_a_number_with_no_login_says_the_same_and_sends_nothing(
    client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"who": "13600000000"})

    assert response["Location"] == reverse("password_reset_code")
    assert not sms.outbox


def test_reset_refuses_what_is_no_mobile_or_address(client, db):
    response = client.post(reverse("password_reset"), {"who": "12345"})

    assert response.status_code == 200 and response.context["form"].errors["who"]


def test_reset_requests_are_rate_limited(client, world):
    for _ in range(RESET_PER_TARGET):
        assert client.post(reverse("password_reset"), {"who": "13600000000"}).status_code == 302

    response = client.post(reverse("password_reset"), {"who": "13600000000"})

    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_the_code_page_without_a_request_goes_back_to_it(client, db):
    assert client.get(reverse("password_reset_code"))["Location"] == reverse("password_reset")


# --- reset by mail ---------------------------------------------------------------------------


def test_reset_by_mailed_link(client, world):
    user = world.users["community"]
    user.email = "gong@example.cn"
    user.save(update_fields=["email"])

    response = client.post(reverse("password_reset"), {"who": "GONG@example.cn"})

    assert response["Location"] == reverse("password_reset_done")
    (message,) = mail.outbox
    assert "网格治理门户" in message.subject
    # The portal's own address, whatever Host the request named (PORTAL_BASE_URL).
    assert "testserver" not in message.body
    link = re.search(re.escape(settings.PORTAL_BASE_URL) + r"(/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


# --- the admin -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "header", "index"),
    [
        ("zh-hans", "网格治理门户 管理", "门户管理"),
        ("en", "Grid Governance Portal administration", "Portal administration"),
    ],
)
def test_the_admin_is_titled_as_the_portal(client, world, language, header, index):
    client.force_login(world.users["admin"])
    with translation.override(language):
        url = reverse("admin:index")

    html = client.get(url).content.decode()

    assert f"<title>{index} | {header}</title>" in html
    assert header in html and "Django" not in html.split("<body")[1].split("</header>")[0]


def _upload(world, phone=MOBILE):
    content = f"区域编码,职务,姓名,手机\n{world.g2.code},网格长,赵红梅,{phone}\n".encode()
    return SimpleUploadedFile("heads.csv", content, content_type="text/csv")


def test_admin_import_with_shown_once_passwords(client, world):
    client.force_login(world.users["admin"])
    url = reverse("admin:grids_post_import")

    preview = client.post(url, {"file": _upload(world), "logins": LoginDelivery.SHOW})
    token = preview.context["token"]
    assert "1" in preview.context["report"].summary() and not User.objects.filter(username=MOBILE)
    answer = client.post(url, {"token": token, "filename": "heads.csv"})

    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    (shown,) = answer.context["passwords"]
    assert shown.username == MOBILE and shown.password in answer.content.decode()
    assert User.objects.get(username=MOBILE).check_password(shown.password)
    # Once: the same confirmation again finds its upload spent, and shows nothing.
    again = client.post(url, {"token": token, "filename": "heads.csv"})
    assert again.status_code == 302 and shown.password not in str(again.content)


def test_admin_import_with_sms(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.users["admin"])
    url = reverse("admin:grids_post_import")
    token = client.post(url, {"file": _upload(world), "logins": LoginDelivery.SMS}).context["token"]

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(url, {"token": token, "filename": "heads.csv"})

    assert answer.status_code == 302
    assert [m.number for m in sms.outbox] == [f"+86{MOBILE}"]
    assert Person.objects.get(phone=MOBILE).password_change_required


def test_admin_import_without_the_option_makes_no_login(client, world):
    client.force_login(world.users["admin"])
    url = reverse("admin:grids_post_import")
    token = client.post(url, {"file": _upload(world)}).context["token"]

    client.post(url, {"token": token, "filename": "heads.csv"})

    assert Person.objects.filter(phone=MOBILE, user__isnull=True).exists()
    assert not User.objects.filter(username=MOBILE).exists()
