"""The notification list at phone width: the unread count in the navbar without opening the
menu, the list, opening a notification to its problem, the count gone afterwards."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from issues import services
from issues.models import Category, Ticket

from .support import PHONE, Sessions, no_sideways_scroll

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


def test_a_unit_head_sees_the_count_opens_the_problem_and_the_count_goes(
    sessions, world, artifacts
):
    category = Category.objects.create(code="light", name="楼道照明")
    ticket = services.ticket_report(
        area=world.u1,
        category=category,
        channel=Ticket.Channel.HOTLINE,
        description="楼道灯不亮",
        reporter=world.residents["U1"],
        tier="simple",
    )
    page = sessions.login("unit_head", viewport=PHONE)
    badge = page.locator("#notification-badge")
    expect(badge).to_be_visible()  # on a phone too, outside the collapsed menu
    expect(badge).to_have_attribute("data-unread", "1")
    expect(badge.locator(".badge")).to_have_text(re.compile(r"^1\b"))

    badge.click()
    page.wait_for_url(sessions.url(reverse("notifications:list")))
    item = page.locator("[data-notification]")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-unread", "1")
    assert no_sideways_scroll(page)
    page.screenshot(path=artifacts / "notifications-phone.png", full_page=True)

    item.locator("button").click()
    page.wait_for_url(sessions.url(reverse("issues:ticket_detail", args=[ticket.pk])))
    expect(page.locator("#notification-badge")).to_have_attribute("data-unread", "0")
    page.goto(sessions.url(reverse("notifications:list")))
    expect(page.locator("[data-notification]")).to_have_attribute("data-unread", "0")
