import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_page_in_chinese(page, live_server, world):
    page.goto(live_server.url + reverse("login"))
    assert "登录" in page.content()
    page.fill("#id_username", "community")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator(".portal-navbar").is_visible()
