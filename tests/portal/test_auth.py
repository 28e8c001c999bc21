"""Signing in: the lockout after wrong passwords (django-axes, one username from one address
together, the admin's login as well as the portal's, a cool-off, an admin unlock), how long a
session lasts, logout by POST only, and the portal's error pages."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.clock import Clock
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

X, Y = "198.51.100.7", "203.0.113.9"
WRONG = "wrong-password"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock():
    clock = Clock(timezone.now())
    yield clock
    clock.stop()


def _login(client, username, password, ip=X, **extra):
    data = {"username": username, "password": password}
    return client.post(reverse("login"), data, REMOTE_ADDR=ip, **extra)


def _admin_login(client, username, password, ip=X):
    data = {"username": username, "password": password, "next": reverse("admin:index")}
    return client.post(reverse("admin:login"), data, REMOTE_ADDR=ip)


def _fail(client, username, times, ip=X):
    for _ in range(times):
        _login(client, username, WRONG, ip)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_login_and_logout(client, world):
    response = _login(client, "community", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # logging out changes state: POST
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_wrong_passwords_lock_that_login_at_that_address(client, world):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for attempt in range(1, limit):
        response = _login(client, "community", WRONG)
        assert response.status_code == 200, attempt  # the form again, with its error
    response = _login(client, "community", WRONG)  # the fifth: locked from here on
    assert response.status_code == 429
    response = _login(client, "community", PASSWORD)
    assert response.status_code == 429
    assert not _signed_in(client)
    assert int(response["Retry-After"]) == 15 * 60
    html = response.content.decode()
    assert "portal-navbar" in html and 'id="too-many"' in html and "15" in html


def test_the_same_login_still_signs_in_from_another_address(client, world):
    _fail(client, "community", 5, ip=X)
    assert _login(client, "community", PASSWORD, ip=X).status_code == 429
    assert _login(client, "community", PASSWORD, ip=Y).status_code == 302
    assert _signed_in(client)


def test_another_login_still_signs_in_from_the_locked_address(client, world):
    """One office behind one NAT: a colleague's wrong passwords lock no one else out."""
    _fail(client, "community", 5, ip=X)
    assert _login(client, "grid_head", PASSWORD, ip=X).status_code == 302
    assert _signed_in(client)


def test_the_address_is_the_one_the_trusted_proxy_saw(client, world, settings):
    """Behind one nginx the lockout keys on X-Forwarded-For's last hop (core.requests
    .client_ip): a client naming other addresses in front of it changes nothing."""
    settings.TRUSTED_PROXY_HOPS = 1
    proxy = "10.0.0.1"
    for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"):
        _login(client, "community", WRONG, ip=proxy, HTTP_X_FORWARDED_FOR=f"{forged}, {X}")
    response = _login(client, "community", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=X)
    assert response.status_code == 429
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.ip_address == X and attempt.username == "community"
    # Another client behind the same proxy is another address.
    assert (
        _login(client, "community", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=Y).status_code == 302
    )


def test_the_admin_login_is_locked_the_same_way(client, world):
    for _ in range(4):
        assert _admin_login(client, "admin", WRONG).status_code == 200
    assert _admin_login(client, "admin", WRONG).status_code == 429
    response = _admin_login(client, "admin", PASSWORD)
    assert response.status_code == 429 and not _signed_in(client)
    assert 'id="too-many"' in response.content.decode()
    # One count for both doors: the portal's login is locked for that pair too.
    assert _login(client, "admin", PASSWORD).status_code == 429
    assert _admin_login(client, "admin", PASSWORD, ip=Y).status_code == 302


def test_a_username_too_long_for_any_login_is_refused_by_the_form(client, world):
    """The portal's form checks the length its field advertises (Django's AuthenticationForm
    only sets the widget's maxlength), so no attempt is counted under a name no user has."""
    response = _login(client, "字" * 300, WRONG)
    assert response.status_code == 200
    assert response.context["form"].errors["username"]
    assert not AccessAttempt.objects.exists()


def test_a_long_username_at_the_admin_login_is_counted_cut_to_its_column(client, world):
    """The admin's login form does not bound the username; axes' attempt row holds 255
    characters, and a longer name is counted under its first 255, not a server error."""
    for _ in range(5):
        response = _admin_login(client, "字" * 300, WRONG)
    assert response.status_code == 429
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.username == "字" * 255 and attempt.failures_since_start == 5


def test_both_logins_count_together(client, world):
    _fail(client, "admin", 3)
    for _ in range(2):
        _admin_login(client, "admin", WRONG)
    assert _admin_login(client, "admin", PASSWORD).status_code == 429


def test_the_lock_ends_after_the_cool_off(client, world, clock):
    started = clock.moment
    _fail(client, "community", 5)
    clock.set(started + dt.timedelta(minutes=14))
    assert _login(client, "community", PASSWORD).status_code == 429
    clock.set(started + dt.timedelta(minutes=16))
    assert _login(client, "community", PASSWORD).status_code == 302


def test_tries_while_locked_do_not_extend_the_lock(client, world, clock):
    started = clock.moment
    _fail(client, "community", 5)
    clock.set(started + dt.timedelta(minutes=10))
    _fail(client, "community", 3)
    clock.set(started + dt.timedelta(minutes=16))
    assert _login(client, "community", PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, world):
    _fail(client, "community", 4)
    assert _login(client, "community", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    _fail(client, "community", 4)
    assert _login(client, "community", PASSWORD).status_code == 302


def test_an_admin_unlocks_a_login_in_the_admin(client, world):
    from django.test import Client

    _fail(client, "community", 5)
    assert _login(client, "community", PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(world.users["admin"])
    changelist = reverse("admin:axes_accessattempt_changelist")
    page = admin.get(changelist, {"locked_out": "yes"})
    assert page.status_code == 200 and "community" in page.content.decode()
    (attempt,) = AccessAttempt.objects.all()
    response = admin.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert _login(client, "community", PASSWORD).status_code == 302


def test_the_lockout_admin_is_on_the_portals_site():
    from axes.models import AccessFailureLog, AccessLog
    from django.contrib import admin

    from core.admin import PortalAdminSite

    assert isinstance(admin.site, PortalAdminSite)
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        assert admin.site.is_registered(model)


@pytest.mark.parametrize(
    "language, words",
    [("zh-hans", "此登录名在您的地址已被锁定"), ("en", "It is locked here for 15 minutes")],
)
def test_the_locked_page_speaks_the_visitors_language(client, world, language, words):
    from django.utils import translation

    with translation.override(language):  # the login page's address names the language
        _fail(client, "community", 5)
        response = _login(client, "community", PASSWORD)
    assert response.status_code == 429
    assert words in response.content.decode()


def test_a_locked_login_can_still_ask_for_a_password_reset(client, world):
    _fail(client, "community", 5)
    response = client.post(reverse("password_reset"), {"who": "13900000001"}, REMOTE_ADDR=X)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_code")


def test_a_password_reset_by_sms_code_ends_the_lock(
    client, world, django_capture_on_commit_callbacks
):
    import re

    from django.contrib.auth import get_user_model

    from core import sms

    phone = "13500000009"  # a login whose username is its mobile number
    user = get_user_model().objects.create_user(phone, password=PASSWORD)
    _fail(client, user.username, 5)
    assert _login(client, user.username, PASSWORD).status_code == 429
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"who": phone}, REMOTE_ADDR=X)
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", sms.outbox[-1].text)[1]
    new = "Lianxi-grid-2026"
    data = {"code": code, "new_password1": new, "new_password2": new}
    response = client.post(reverse("password_reset_code"), data, REMOTE_ADDR=X)
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not AccessAttempt.objects.filter(username=user.username).exists()
    assert _login(client, user.username, new).status_code == 302


def test_a_sign_in_without_a_request_is_not_watched(world):
    """A shell or a command checking a password has no client to lock out."""
    from django.contrib.auth import authenticate

    assert authenticate(username="community", password=PASSWORD) == world.users["community"]
    assert authenticate(username="community", password=WRONG) is None
    assert not AccessAttempt.objects.exists()


def test_login_page_has_csrf(client, world):
    html = client.get(reverse("login")).content.decode()
    assert "csrfmiddlewaretoken" in html


def test_error_pages_in_the_portal_style(client, world, login_as):
    client = login_as("community")
    response = client.get(reverse("issues:ticket_detail", args=[999999]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "portal-navbar" in html and "404" in html
    response = client.get(reverse("issues:meeting_list"))
    assert response.status_code == 403
    assert "portal-navbar" in response.content.decode()
    assert "500" in render_to_string("500.html")


# --- how long a session lasts ----------------------------------------------------------------


def _session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_ends_after_its_lifetime_however_busy(client, world, clock):
    assert settings.SIGNED_IN_SESSION_AGE == 12 * 60 * 60
    started = clock.moment
    assert _login(client, "community", PASSWORD).status_code == 302
    # The cookie of a signed-in session lives as long as the session may.
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 60 * 60
    for hours in range(1, 12):
        clock.set(started + dt.timedelta(hours=hours))
        assert client.get(reverse("home")).status_code == 200
    clock.set(started + dt.timedelta(hours=12, minutes=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not _signed_in(client)


def test_a_session_ends_when_idle(client, world, clock):
    assert settings.SESSION_IDLE_SECONDS == 120 * 60
    started = clock.moment
    _login(client, "community", PASSWORD)
    clock.set(started + dt.timedelta(minutes=119))
    assert client.get(reverse("home")).status_code == 200  # seen again: idle from here
    clock.set(started + dt.timedelta(minutes=119 + 119))
    assert client.get(reverse("home")).status_code == 200
    clock.set(started + dt.timedelta(minutes=119 + 119 + 121))
    assert client.get(reverse("home")).status_code == 302
    assert not _signed_in(client)


def test_an_htmx_request_of_an_expired_session_goes_to_the_login(client, world, clock):
    started = clock.moment
    _login(client, "community", PASSWORD)
    clock.set(started + dt.timedelta(hours=3))
    response = client.get(reverse("home"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_the_admin_session_ends_the_same_way(client, world, clock):
    started = clock.moment
    assert _admin_login(client, "admin", PASSWORD).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    clock.set(started + dt.timedelta(hours=12, minutes=1))
    assert client.get(reverse("admin:index")).status_code == 302
    assert not _signed_in(client)


def test_pages_within_five_minutes_write_the_session_once_at_most(client, world, clock):
    """The last-seen time is written every five minutes, not on every page: a worker paging
    through the inbox costs no session write per page."""
    started = clock.moment
    _login(client, "community", PASSWORD)
    client.get(reverse("home"))
    expires = _session_row(client).expire_date
    for seconds in (30, 60, 120, 290):
        clock.set(started + dt.timedelta(seconds=seconds))
        client.get(reverse("home"))
        assert _session_row(client).expire_date == expires  # not saved again
    clock.set(started + dt.timedelta(minutes=6))
    client.get(reverse("home"))
    assert _session_row(client).expire_date > expires  # seen: saved once


def test_a_new_sign_in_starts_a_new_lifetime(client, world, clock):
    started = clock.moment
    _login(client, "community", PASSWORD)
    clock.set(started + dt.timedelta(hours=11))
    client.get(reverse("home"))
    client.post(reverse("logout"))
    _login(client, "community", PASSWORD)
    clock.set(started + dt.timedelta(hours=13))
    assert client.get(reverse("home")).status_code == 200


def test_sign_in_works_with_redis_down(client, world):
    """Attempts are database rows: a cache that cannot be reached changes nothing."""
    import time

    from django.core.cache import caches
    from django.test import override_settings

    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/1",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=down):
        assert type(caches["default"]).__name__ == "RedisCache"
        started = time.monotonic()
        assert _login(client, "community", WRONG).status_code == 200
        assert _login(client, "community", PASSWORD).status_code == 302
        assert time.monotonic() - started < 5
        assert _signed_in(client)
        client.post(reverse("logout"))
        _fail(client, "community", 5)
        assert _login(client, "community", PASSWORD).status_code == 429  # still locked


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound, read and released."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sign_in_logs_are_pruned_after_their_keep_and_spent_lockouts_dropped(client, world, clock):
    from axes.models import AccessFailureLog, AccessLog

    from portal import auth
    from portal.tasks import sign_in_logs_prune

    start = clock.moment
    _fail(client, "community", 5)  # a lockout, and five failure-log rows
    assert _login(Client(), "grid_head", PASSWORD, ip=Y).status_code == 302
    assert AccessLog.objects.count() == 1 and AccessFailureLog.objects.count() == 5
    # While the lock holds nothing goes: the counter still locks, the logs are young.
    assert auth.sign_in_logs_prune() == {"access logs": 0, "failure logs": 0, "attempts": 0}
    assert _login(client, "community", PASSWORD).status_code == 429
    # After the cool-off the spent counter goes; the logs stay their 180 days.
    clock.set(start + dt.timedelta(minutes=16))
    assert sign_in_logs_prune.delay().get() == {
        "access logs": 0,
        "failure logs": 0,
        "attempts": 1,
    }
    assert AccessFailureLog.objects.count() == 5
    clock.set(start + dt.timedelta(days=settings.SIGN_IN_LOG_KEEP_DAYS, minutes=1))
    assert auth.sign_in_logs_prune() == {"access logs": 1, "failure logs": 5, "attempts": 0}
    assert not AccessLog.objects.exists() and not AccessFailureLog.objects.exists()


def test_wrong_passwords_for_many_logins_from_one_address_brake_that_address(
    client, world, settings
):
    """The pair lockout counts each username apart; an address with wrong passwords for
    SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR different logins is braked, for everyone there,
    while other addresses sign in as before."""
    settings.SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR = 4
    for name in ("a1", "a2", "a3", "A3 ", "a4"):  # four logins: "A3 " is a3 again
        assert _login(client, name, WRONG).status_code == 200
    response = _login(client, "community", PASSWORD)
    assert response.status_code == 429 and not _signed_in(client)
    assert response["Retry-After"] == str(60 * 60)
    assert "多个账号" in response.content.decode()
    assert _admin_login(Client(), "admin", PASSWORD).status_code == 429  # the admin's door too
    assert _login(Client(), "community", PASSWORD, ip=Y).status_code == 302


def test_one_login_typed_wrong_again_and_again_brakes_only_itself(client, world, settings):
    """One name's wrong passwords, however many, lock that pair (axes) and count once
    towards the address: a colleague behind the same address still signs in."""
    settings.SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR = 3
    for _ in range(8):
        _login(client, "community", WRONG)
    _login(client, "a1", WRONG)
    assert _login(client, "community", PASSWORD).status_code == 429  # the pair's lockout
    assert _login(Client(), "grid_head", PASSWORD).status_code == 302


def test_the_address_brake_leaves_out_loopback(client, world, settings):
    """Behind a proxy whose TRUSTED_PROXY_HOPS is not set every client is 127.0.0.1: the brake
    would stop everyone at once, so it does not count there."""
    settings.SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR = 3
    for name in ("b1", "b2", "b3", "b4"):
        _login(client, name, WRONG, ip="127.0.0.1")
    assert _login(client, "community", PASSWORD, ip="127.0.0.1").status_code == 302


def test_the_address_brake_fails_open_with_the_cache_down(client, world, settings):
    from tests.portal.test_rate_limits import _down_cache

    settings.SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR = 3
    with _down_cache():
        for name in ("b1", "b2", "b3", "b4"):
            assert _login(client, name, WRONG).status_code == 200
        assert _login(client, "community", PASSWORD).status_code == 302
