"""Login, the lockout after repeated failures, logout by POST only, and the portal's error
pages."""

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse

from portal.auth import MAX_FAILURES
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_and_logout(client, world):
    response = _login(client, "community", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # logging out changes state: POST
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_lockout_after_repeated_failures(client, world):
    for _ in range(MAX_FAILURES):
        response = _login(client, "community", "wrong-password")
        assert response.status_code == 200
    response = _login(client, "community", PASSWORD)
    assert response.status_code == 200
    assert "15" in response.content.decode()  # the locked message says for how long
    assert "_auth_user_id" not in client.session
    cache.clear()  # the window has passed
    assert _login(client, "community", PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, world):
    for _ in range(MAX_FAILURES - 1):
        _login(client, "community", "wrong-password")
    assert _login(client, "community", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(MAX_FAILURES - 1):
        _login(client, "community", "wrong-password")
    assert _login(client, "community", PASSWORD).status_code == 302


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


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound, read and released."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_point6_sign_in_works_with_redis_down_and_says_so(client, world, caplog):
    import logging
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
    caplog.set_level(logging.WARNING, logger="portal.auth")
    with override_settings(CACHES=down):
        assert type(caches["default"]).__name__ == "RedisCache"
        started = time.monotonic()
        assert _login(client, "community", "wrong-password").status_code == 200
        assert _login(client, "community", PASSWORD).status_code == 302
        assert time.monotonic() - started < 5
    assert "_auth_user_id" in client.session
    assert "login lockout" in caplog.text and "cache unreachable" in caplog.text
