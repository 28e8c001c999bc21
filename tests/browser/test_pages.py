"""Quick page checks in Chromium: the printable notice board, the language switch, the htmx
reveal of a resident's ID number — and, marked xfail, gaps the worker flow ran into."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from playwright.sync_api import expect

from issues import services
from issues.models import Category, Ticket
from residents.models import AccessLog

from .support import DESKTOP, Sessions

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


def test_notice_board_of_a_grid_prints(sessions, world):
    page = sessions.login("community")
    board = reverse("grids:notice_board", args=[world.g1.code])
    page.goto(sessions.url(reverse("dashboard:area_detail", args=[world.g1.code])))
    page.locator(f"main a[href='{board}']").first.click()
    page.wait_for_url(sessions.url(board))

    expect(page.locator("#board-area")).to_contain_text("莲心社区")
    expect(page.locator("#board-area")).to_contain_text("第1网格")
    heads = page.locator("#board-heads")
    expect(heads).to_contain_text("李雪永")  # the grid head, with a phone to call
    expect(heads.locator("a[href^='tel:']").first).to_be_visible()
    printer = page.get_by_role("button", name=_("Print"), exact=True)
    expect(printer).to_be_visible()
    expect(printer).to_have_attribute("data-print", "")  # static/portal/print.js prints

    # On paper only the board is left: no navbar, no buttons.
    page.emulate_media(media="print")
    expect(printer).to_be_hidden()
    expect(page.locator(".portal-navbar")).to_be_hidden()
    expect(page.locator(".notice-board")).to_be_visible()


def test_language_switch_turns_the_dashboard_into_english(sessions, world):
    page = sessions.login("county", viewport=DESKTOP)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".language-select")).to_have_value("zh-hans")
    solved_today = page.locator("#kpis .card-body:has(#kpi-solved-today) > .text-muted").first
    expect(solved_today).to_have_text(_("Solved today"))

    page.locator(".language-select").select_option("en")
    page.wait_for_url(sessions.url("/en/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".language-select")).to_have_value("en")
    expect(solved_today).to_have_text("Solved today")
    expect(page.locator("#level-shares h2")).to_have_text("Where problems were solved")
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
    page.locator(".portal-navbar .who").click()  # the signed-in person's menu
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Escape")
    expect(page.locator("main h1")).to_have_text("莲溪县")  # names stay as they are

    # The choice sticks: the next page is English too.
    page.get_by_role("link", name="Problems", exact=True).click()
    page.wait_for_url(sessions.url("/en/tickets/"))
    expect(page.locator("main h1")).to_have_text("Problems")

    # And back: 简体中文 on an English page returns to the same page in Chinese.
    page.locator(".language-select").select_option("zh-hans")
    page.wait_for_url(sessions.url("/tickets/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".language-select")).to_have_value("zh-hans")
    expect(page.locator("main h1")).to_have_text(_("Problems"))
    page.get_by_role("link", name=_("Dashboard"), exact=True).click()
    page.wait_for_url(sessions.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


def test_reveal_the_id_number_with_htmx(sessions, world):
    resident = world.residents["U1"]
    page = sessions.login("community")
    page.goto(sessions.url(reverse("residents:resident_detail", args=[resident.pk])))
    masked = page.locator("#id-number")
    expect(masked).to_have_text(resident.masked_id_number)
    expect(page.locator("main")).not_to_contain_text(resident.id_number)

    reveal = reverse("residents:resident_reveal", args=[resident.pk, "id_number"])
    with page.expect_response(lambda r: r.url.endswith(reveal)) as answer:
        page.locator(f"form[hx-post='{reveal}'] button").click()
    assert answer.value.status == 200
    assert answer.value.headers["cache-control"] == "no-store"

    revealed = page.locator("dd .masked.revealed")
    expect(revealed).to_have_text(resident.id_number)
    expect(page.locator("main")).not_to_contain_text(resident.masked_id_number)
    assert page.url.endswith(reverse("residents:resident_detail", args=[resident.pk]))  # no reload
    assert AccessLog.objects.filter(resident=resident, field="id_number").count() == 1
    # The mobile number is still masked.
    expect(page.locator("#phone")).to_have_text(resident.masked_phone)


def test_meeting_date_is_prefilled(sessions, world):
    page = sessions.login("county")
    page.goto(sessions.url(reverse("issues:meeting_list")))
    expect(page.locator("#id_held_on")).to_have_value(
        timezone.localdate().isoformat(), timeout=1000
    )


def test_timeline_shows_state_names_not_codes(sessions, world):
    category = Category.objects.create(code="light", name="楼道照明")
    grid_head = world.users["grid_head"]
    ticket = services.ticket_report(
        area=world.u1,
        category=category,
        channel=Ticket.Channel.VISIT,
        description="楼道灯坏了",
        reporter=world.residents["U1"],
        actor=grid_head,
        tier="complex",
    )
    services.ticket_accept(ticket=ticket, actor=grid_head)
    page = sessions.login("grid_head")
    page.goto(sessions.url(reverse("issues:ticket_detail", args=[ticket.pk])))
    change = page.locator("#timeline li[data-kind=accept] .text-muted.small").first
    expect(change).to_contain_text(str(Ticket.State.IN_PROGRESS.label), timeout=1000)
    expect(change).not_to_contain_text("in_progress", timeout=1000)


def test_navbar_is_in_chinese(sessions, world):
    page = sessions.login("community", viewport=DESKTOP)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    navbar = page.locator(".portal-navbar")
    for english in ("Dashboard", "Problems", "Report a problem", "Households"):
        expect(navbar.get_by_role("link", name=english, exact=True)).to_have_count(0, timeout=500)
