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
