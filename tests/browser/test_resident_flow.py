"""The residents' side of the loop, in Chromium at phone width (390 px): a resident signs in
with the code the SMS backend sent, accepts the privacy notice and reports a problem with a
photo; the grid head triages and resolves it on the worker pages; the resident rates it
unsatisfied and it reopens; resolved again, rated satisfied, it closes. The handler is
offered no rating form, and a rating posted straight from the handler's session is refused.

Assertions use element ids and data attributes, so they hold before and after the new
strings are translated. Screenshots go to /tmp/shots/citizens_*.png."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import Page, expect

from core import sms
from issues.models import Category, Ticket, TicketEvent, TicketReporter

from .support import PHONE, Sessions, choose_action, no_sideways_scroll, take_action

pytestmark = pytest.mark.django_db(transaction=True)

S = Ticket.State
E = TicketEvent.Kind
SHOTS = Path("/tmp/shots")
DESCRIPTION = "1单元楼道的灯坏了一个星期，晚上老人上下楼看不见"
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def story(world):
    world.repair = Category.objects.create(code="repair", name="公共设施维修")
    world.light = Category.objects.create(code="light", name="楼道照明", parent=world.repair)
    sms.outbox.clear()
    yield world
    sms.outbox.clear()


def resident_page(sessions: Sessions) -> Page:
    """A fresh phone-sized browser, nobody signed in."""
    context = sessions.browser.new_context(**{**sessions.context_args, "viewport": PHONE})
    sessions._contexts.append(context)
    return context.new_page()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (250, 220, 60)).save(out, "PNG")
    return out.getvalue()


def code_sent_to(number: str) -> str:
    """The code in the newest SMS the locmem backend sent to ``number``."""
    texts = [m.text for m in sms.outbox if m.number == f"+86{number}"]
    assert texts, f"no SMS to {number}: {sms.outbox}"
    return CODE_RE.search(texts[-1])[1]


def act(page: Page, action: str) -> None:
    """Send the worker page's action bar with ``action`` chosen; land back on the ticket."""
    status = take_action(page, action)
    assert status == 302, f"{action} refused ({status})"
    expect(page.locator(".alert-success")).to_be_visible()


def rate(page: Page, rating: str, comment: str) -> None:
    page.locator(f"#rate-form input[name=rate-rating][value={rating}]").check()
    page.fill("#id_rate-comment", comment)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#rate-form button[type=submit]").click()
    assert answer.value.status == 302, f"rating refused ({answer.value.status})"
    expect(page.locator(".alert-success")).to_be_visible()


def test_resident_reports_rates_unsatisfied_then_satisfied(sessions, story, shots):
    world = story
    phone = world.residents["U1"].phone

    # --- the resident signs in with the SMS code and accepts the notice -----------------------
    resident = resident_page(sessions)
    resident.goto(sessions.url(reverse("citizens:home")))
    resident.wait_for_url(re.compile(r".*/r/sign-in/\?next=.*"))
    expect(resident.locator(".portal-navbar")).to_have_count(0)  # no worker navbar
    resident.fill("#id_phone", phone)
    resident.screenshot(path=shots / "citizens_sign_in.png", full_page=True)
    resident.locator("#sign-in-form button[type=submit]").click()
    resident.wait_for_url(re.compile(r".*/r/sign-in/code/.*"))
    resident.fill("#id_code", code_sent_to(phone))
    resident.locator("#code-form button[type=submit]").click()
    resident.wait_for_url(re.compile(r".*/r/privacy/.*"))
    expect(resident.locator("#privacy-notice")).to_be_visible()
    assert no_sideways_scroll(resident)
    resident.screenshot(path=shots / "citizens_privacy.png", full_page=True)
    resident.locator("#accept-privacy").click()
    resident.wait_for_url(sessions.url(reverse("citizens:home")))
    expect(resident.locator("#no-problems")).to_be_visible()

    # --- reports a problem with a photo: home preselected, then picked again by name ----------
    resident.locator("#report-link").click()
    resident.wait_for_url(sessions.url(reverse("citizens:report")))
    expect(resident.locator("#place-chosen")).to_have_attribute("data-place", str(world.u1.pk))
    resident.fill("#place-search", "2单元")
    pick = resident.locator(f"#place-results [data-place-id='{world.u2.pk}']")
    expect(pick).to_be_visible()
    pick.click()
    expect(resident.locator("#id_place")).to_have_value(str(world.u2.pk))
    resident.fill("#place-search", "1单元")
    resident.locator(f"#place-results [data-place-id='{world.u1.pk}']").click()
    expect(resident.locator("#place-chosen")).to_have_attribute("data-place", str(world.u1.pk))
    resident.select_option("#id_category", label="楼道照明")
    resident.fill("#id_description", DESCRIPTION)
    resident.set_input_files(
        "#id_photos", files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    assert no_sideways_scroll(resident)
    resident.screenshot(path=shots / "citizens_report.png", full_page=True)
    resident.locator("#report-form button[type=submit]").click()
    resident.wait_for_url(re.compile(r".*/r/problems/\d+/$"))
    pk = int(re.search(r"/r/problems/(\d+)/$", resident.url)[1])
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.channel == Ticket.Channel.MINI_PROGRAM and ticket.area_id == world.u1.pk
    assert ticket.reporter_id == world.residents["U1"].pk
    expect(resident.locator("#problem-state")).to_have_attribute("data-state", S.REPORTED)
    photo = resident.locator("#problem-photos img")
    expect(photo).to_have_count(1)
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 320
    problem_url = resident.url

    # --- the grid head triages and resolves it on the worker pages ---------------------------
    grid = sessions.login("grid_head", viewport=PHONE)
    ticket_url = sessions.url(reverse("issues:ticket_detail", args=[pk]))
    grid.goto(ticket_url)
    grid.locator("#form-assign input[name=assign-tier][value=complex]").check()
    act(grid, "assign")
    choose_action(grid, "resolve")
    grid.fill("#id_resolve-feedback", "已更换楼道灯泡，请您查看")
    act(grid, "resolve")
    expect(grid.locator("h1 ~ [data-state]")).to_have_attribute("data-state", S.RESOLVED)

    # The handler is offered no rating, and a rating posted from their session is refused.
    expect(grid.locator("#form-rate")).to_have_count(0)
    token = grid.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    refused = grid.context.request.post(
        sessions.url(reverse("issues:ticket_act", args=[pk, "rate"])),
        form={"csrfmiddlewaretoken": token, "rate-rating": "satisfied", "rate-comment": "好"},
        headers={"Referer": ticket_url},
        max_redirects=0,
    )
    assert refused.status == 403
    ticket.refresh_from_db()
    assert ticket.state == S.RESOLVED and not ticket.rating

    # --- the resident rates it unsatisfied: it reopens ---------------------------------------
    resident.goto(problem_url)
    expect(resident.locator("#rate-form")).to_be_visible()
    expect(resident.locator("#timeline li[data-kind=resolve]")).to_contain_text("已更换楼道灯泡")
    expect(resident.locator("#timeline li[data-kind=assign] [data-who]")).to_contain_text("第1网格")
    assert no_sideways_scroll(resident)
    resident.screenshot(path=shots / "citizens_rate.png", full_page=True)
    rate(resident, "unsatisfied", "灯还是一闪一闪的")
    expect(resident.locator("#problem-state")).to_have_attribute("data-state", S.IN_PROGRESS)
    expect(resident.locator("#rate-form")).to_have_count(0)
    ticket.refresh_from_db()
    assert ticket.state == S.IN_PROGRESS and ticket.reopen_count == 1
    resident.screenshot(path=shots / "citizens_reopened.png", full_page=True)

    # --- resolved again; rated satisfied, it closes ------------------------------------------
    grid.goto(ticket_url)
    expect(grid.locator("h1 ~ [data-state]")).to_have_attribute("data-state", S.IN_PROGRESS)
    choose_action(grid, "resolve")
    grid.fill("#id_resolve-feedback", "已更换整条线路和灯具")
    act(grid, "resolve")
    expect(grid.locator("#form-rate")).to_have_count(0)

    resident.goto(problem_url)
    rate(resident, "satisfied", "修好了，谢谢")
    expect(resident.locator("#problem-state")).to_have_attribute("data-state", S.CLOSED)
    expect(resident.locator("#my-rating")).to_have_attribute("data-rating", "satisfied")
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED and ticket.rating == Ticket.Rating.SATISFIED
    assert ticket.rating_source == Ticket.RatingSource.RESIDENT
    reporter = TicketReporter.objects.get(ticket=ticket)
    assert reporter.rating == "satisfied" and reporter.rating_caller_id is None
    kinds = resident.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds == [
        E.REPORT,
        E.ASSIGN,
        E.RESOLVE,
        E.RATE,
        E.REOPEN,
        E.RESOLVE,
        E.RATE,
        E.CLOSE,
    ]
    assert no_sideways_scroll(resident)
    resident.screenshot(path=shots / "citizens_closed.png", full_page=True)

    # The home list: the problem, closed.
    resident.goto(sessions.url(reverse("citizens:home")))
    expect(resident.locator(f"#my-problems [data-ticket='{pk}']")).to_have_attribute(
        "data-state", S.CLOSED
    )
    assert no_sideways_scroll(resident)
    resident.screenshot(path=shots / "citizens_home.png", full_page=True)
