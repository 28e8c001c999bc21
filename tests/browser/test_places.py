"""Places a person can recognise, in Chromium: the notification list and the ticket page
name each place by its path below the worker's own scope (``莲心社区 › 第1网格 › 1栋 ›
2单元``), never by the unit's bare name; and the coverage page's grid row opens that grid's
households not visited in 30 days, then 90."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from issues import services
from issues.models import Category, Ticket
from issues.rules import SYSTEM
from residents import services as resident_services

from .support import DESKTOP, PHONE, Sessions, no_sideways_scroll

pytestmark = pytest.mark.django_db(transaction=True)

U2_FROM_COMMUNITY = "莲心社区 › 第1网格 › 1栋 › 2单元"


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


def test_the_notifications_and_the_ticket_page_name_places_by_their_path(
    sessions, world, artifacts
):
    category = Category.objects.create(code="light", name="楼道照明")
    ticket = services.ticket_report(
        area=world.u2,
        category=category,
        channel=Ticket.Channel.HOTLINE,
        description="2单元楼道灯不亮",
        reporter=world.residents["U2"],
        tier="simple",
    )
    services.ticket_escalate(ticket=ticket, actor=SYSTEM, note="楼栋长处理不了")
    services.notify(
        ticket=ticket, users=[world.users["community"]], subject="请关注", body="楼道灯"
    )
    page = sessions.login("community", viewport=PHONE)
    page.goto(sessions.url(reverse("notifications:list")))
    place = page.locator("[data-notification] [data-place]")
    expect(place).to_have_count(1)
    expect(place).to_have_text(f"地点: {U2_FROM_COMMUNITY}")
    assert no_sideways_scroll(page)
    page.screenshot(path=artifacts / "places-notifications-phone.png", full_page=True)

    page.locator("[data-notification] button").click()
    page.wait_for_url(sessions.url(reverse("issues:ticket_detail", args=[ticket.pk])))
    expect(page.locator("#place")).to_contain_text(U2_FROM_COMMUNITY)
    expect(page.locator("#handled-at")).to_contain_text("莲心社区 › 第1网格")
    steps = page.locator("#timeline [data-handled-at]")
    expect(steps.first).to_be_attached()
    for text in steps.all_inner_texts():
        assert text.startswith("莲心社区 › 第1网格"), text  # a path, never "2单元" alone
    # First the building (2单元 has no head of its own), then lifted to the grid.
    assert steps.all_inner_texts()[-2:] == ["莲心社区 › 第1网格 › 1栋", "莲心社区 › 第1网格"]
    page.screenshot(path=artifacts / "places-ticket-phone.png", full_page=True)


def test_coverage_opens_a_grids_households_not_visited(sessions, world, artifacts):
    now = timezone.now()
    for key, days in (("U1", 10), ("U2", 40), ("B1", 200)):
        resident_services.visit_log(
            household=world.households[key],
            visitor=world.persons["grid_head"],
            visited_at=now - dt.timedelta(days=days),
        )
    page = sessions.login("community", viewport=DESKTOP)
    page.goto(sessions.url(reverse("residents:coverage")))
    link = page.locator(f"[data-unvisited='{world.g1.code}']")
    expect(link).to_have_text("3户")  # U2, B1 and G1's own household
    link.click()
    page.wait_for_url(f"**{reverse('residents:unvisited', args=[world.g1.code])}?days=30")
    expect(page.locator("#unvisited-grid")).to_have_text("莲心社区 › 第1网格")
    rows = page.locator("#unvisited tbody tr[data-household]")
    expect(rows).to_have_count(3)
    u2 = page.locator(f"tr[data-household='{world.households['U2'].pk}']")
    expect(u2).to_contain_text(U2_FROM_COMMUNITY)
    expect(u2).to_contain_text("137****0002")  # the householder's phone masked
    g1 = page.locator(f"tr[data-household='{world.households['G1'].pk}']")
    expect(g1).to_contain_text("从未走访")
    page.screenshot(path=artifacts / "coverage-unvisited-30.png", full_page=True)

    page.get_by_role("link", name="90天").click()
    page.wait_for_url("**?days=90")
    expect(rows).to_have_count(2)  # U2, visited 40 days ago, is not
    expect(u2).to_have_count(0)

    g1.get_by_role("link", name="记录走访").click()
    page.wait_for_url(
        sessions.url(reverse("residents:visit_create", args=[world.households["G1"].pk]))
    )
