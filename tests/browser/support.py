"""Helpers for the browser tests: one fresh browser context per persona, logged in through
the real login form, and the checks every page should pass at phone width."""

from __future__ import annotations

from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


class Sessions:
    """Browser contexts, one per persona, closed together at the end of the test."""

    def __init__(self, browser: Browser, context_args: dict, base_url: str):
        self.browser = browser
        self.context_args = context_args
        self.base_url = base_url
        self._contexts = []

    def url(self, path: str) -> str:
        return self.base_url + path

    def login(self, username: str, *, viewport: dict | None = None) -> Page:
        """A new context (zh-CN, Asia/Shanghai), logged in as ``username`` through the form."""
        args = {**self.context_args}
        if viewport:
            args["viewport"] = viewport
        context = self.browser.new_context(**args)
        self._contexts.append(context)
        page = context.new_page()
        page.goto(self.url(reverse("login")))
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(self.url(reverse("home")))
        # Logged in: the navbar carries the logout form (collapsed on a phone, so "attached").
        expect(page.locator(f".portal-navbar form[action='{reverse('logout')}']")).to_be_attached()
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def choose_action(page: Page, action: str) -> None:
    """Choose ``action`` on the ticket page's action bar: its fields show."""
    page.locator(f"#action-bar label[for=act-{action}]").click()
    expect(page.locator(f"#form-{action}")).to_be_visible()


def take_action(page: Page, action: str) -> int:
    """Send the action bar with ``action`` chosen; the answer's status (302 when done)."""
    expect(page.locator(f"#act-{action}")).to_be_checked()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#action-bar button[type=submit]").click()
    return answer.value.status
