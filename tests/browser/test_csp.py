"""The Content Security Policy in Chromium: the main pages of the workers, the residents and
the admin, in Chinese and English, raise no policy violation (an init script collects every
``securitypolicyviolation`` event, and the console's "Refused to …" lines are caught too), and
what moved out of the markup still works: the language switch, the print button, the area
finder, the resident's place picker."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from core import sms
from issues import services
from issues.models import Category

from .support import DESKTOP, Sessions

pytestmark = pytest.mark.django_db(transaction=True)

COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
window.print = () => { window.__printed = true; };
"""
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


def watch(page: Page) -> list[str]:
    """Collect the policy's refusals on ``page`` from now on (events and console lines)."""
    refused: list[str] = []
    page.context.add_init_script(COLLECT)
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return refused


def visit(page: Page, url: str, refused: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    events = page.evaluate("window.__csp")
    assert events == [] and refused == [], (url, events, refused)


def _paths(world, ticket) -> list[str]:
    return [
        reverse("home"),
        reverse("issues:inbox"),
        reverse("issues:ticket_detail", args=[ticket.pk]),
        reverse("dashboard:area_detail", args=[world.community_a.code]),
        reverse("grids:notice_board", args=[world.g1.code]),
        reverse("residents:resident_list"),
        reverse("residents:resident_detail", args=[world.residents["U1"].pk]),
    ]


def _ticket(world):
    category = Category.objects.create(code="light", name="楼道照明")
    return services.ticket_report(
        area=world.u1,
        category=category,
        channel="walk_in",
        description="楼道灯不亮",
        reporter_phone="13900000009",
        actor=world.users["unit_head"],
    )


def test_the_watch_sees_a_violation(sessions, world):
    """The check can fail: an inline script and a style attribute added to a page are
    refused, and both refusals are seen."""
    page = sessions.login("community", viewport=DESKTOP)
    refused = watch(page)
    page.goto(sessions.url(reverse("home")))
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__ran = true";
          document.body.append(script);
          document.body.setAttribute("style", "color: red");
        }"""
    )
    page.wait_for_function("window.__csp.length >= 2")
    assert page.evaluate("window.__ran") is None  # the inline script did not run
    directives = " ".join(page.evaluate("window.__csp"))
    assert "script-src" in directives and "style-src" in directives
    assert refused  # and the console said so


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_worker_pages_raise_no_violation(sessions, world, language):
    ticket = _ticket(world)
    page = sessions.login("community", viewport=DESKTOP)
    refused = watch(page)
    with translation.override(language):
        paths = _paths(world, ticket)
    for path in paths:
        visit(page, sessions.url(path), refused)


def test_the_county_dashboard_with_its_charts_raises_no_violation(sessions, world):
    _ticket(world)
    page = sessions.login("county", viewport=DESKTOP)
    refused = watch(page)
    for language in ("zh-hans", "en"):
        with translation.override(language):
            visit(page, sessions.url(reverse("home")), refused)
        expect(page.locator("canvas").first).to_be_attached()  # ECharts drew
        assert page.evaluate("window.__csp") == [] and refused == []


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_admin_pages_raise_no_violation(sessions, world, language):
    page = sessions.login("admin", viewport=DESKTOP)
    refused = watch(page)
    with translation.override(language):
        paths = [
            reverse("admin:index"),
            reverse("admin:grids_area_changelist"),
            reverse("admin:grids_area_change", args=[world.g1.pk]),
            reverse("admin:residents_resident_changelist"),
            reverse("admin:axes_accessattempt_changelist"),
            reverse("admin:grids_area_import"),  # the portal's spreadsheet import
            reverse("admin:grids_department_changelist"),
            reverse("admin:grids_department_import"),  # django-import-export's
            reverse("admin:grids_department_export"),
        ]
    for path in paths:
        visit(page, sessions.url(path), refused)


def test_the_language_switch_works_without_inline_handlers(sessions, world):
    page = sessions.login("community", viewport=DESKTOP)
    refused = watch(page)
    visit(page, sessions.url(reverse("issues:inbox")), refused)
    page.locator(".language-select").select_option("en")
    page.wait_for_url(sessions.url("/en/tickets/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator(".language-select").select_option("zh-hans")
    page.wait_for_url(sessions.url("/tickets/"))
    assert page.evaluate("window.__csp") == [] and refused == []


def test_the_print_button_prints(sessions, world):
    page = sessions.login("community", viewport=DESKTOP)
    refused = watch(page)
    visit(page, sessions.url(reverse("grids:notice_board", args=[world.g1.code])), refused)
    page.locator("main [data-print]").click()
    page.wait_for_function("window.__printed === true")
    # The A4 layout came from its stylesheet: the board has its red frame.
    border = page.locator(".notice-board").evaluate("e => getComputedStyle(e).borderTopWidth")
    assert border == "3px"


def test_the_area_finder_opens_the_area_picked(sessions, world):
    page = sessions.login("community", viewport=DESKTOP)
    refused = watch(page)
    visit(
        page, sessions.url(reverse("dashboard:area_detail", args=[world.community_a.code])), refused
    )
    page.locator(".area-finder input[type=search]").fill(world.g1.name)
    pick = page.locator(f"#area-finder-results [data-area-code='{world.g1.code}']")
    expect(pick).to_be_visible()
    pick.click()
    page.wait_for_url(sessions.url(reverse("dashboard:area_detail", args=[world.g1.code])))
    assert page.evaluate("window.__csp") == [] and refused == []


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_resident_pages_raise_no_violation_and_the_place_picker_works(sessions, world, language):
    Category.objects.create(code="light", name="楼道照明")
    context = sessions.browser.new_context(**sessions.context_args)
    sessions._contexts.append(context)
    page = context.new_page()
    refused = watch(page)
    phone = world.residents["U1"].phone
    with translation.override(language):
        sign_in = reverse("citizens:sign_in")
        privacy, report = reverse("citizens:privacy"), reverse("citizens:report")
    visit(page, sessions.url(sign_in), refused)
    page.fill("#id_phone", phone)
    page.locator("#sign-in-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/r/sign-in/code/.*"))
    texts = [m.text for m in sms.outbox if m.number == f"+86{phone}"]
    page.fill("#id_code", CODE_RE.search(texts[-1])[1])
    page.locator("#code-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/r/privacy/.*"))
    page.locator("#accept-privacy").click()
    page.wait_for_url(re.compile(r".*/r/$"))
    visit(page, sessions.url(privacy), refused)
    visit(page, sessions.url(report), refused)
    page.fill("#place-search", "2单元")
    pick = page.locator(f"#place-results [data-place-id='{world.u2.pk}']")
    expect(pick).to_be_visible()
    pick.click()
    expect(page.locator("#id_place")).to_have_value(str(world.u2.pk))
    expect(page.locator("#place-chosen")).to_have_attribute("data-place", str(world.u2.pk))
    # The resident pages' own language switch.
    other = "en" if language == "zh-hans" else "zh-hans"
    page.locator("footer select[name=language]").select_option(other)
    expect(page.locator("html")).to_have_attribute("lang", other)
    assert page.evaluate("window.__csp") == [] and refused == []


def test_the_export_pages_select_all_toggle_works(sessions, world):
    page = sessions.login("admin", viewport=DESKTOP)
    refused = watch(page)
    visit(page, sessions.url(reverse("admin:grids_department_export")), refused)
    fields = page.locator('.selectable-field-export-row input[type="checkbox"]:visible')
    assert fields.count() >= 2
    toggle = page.locator("input.select-toggle")
    toggle.uncheck()
    assert all(not fields.nth(i).is_checked() for i in range(fields.count()))
    toggle.check()
    assert all(fields.nth(i).is_checked() for i in range(fields.count()))
    assert page.evaluate("window.__csp") == [] and refused == []
