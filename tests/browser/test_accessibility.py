"""WCAG 2.1 AA in Chromium: axe-core (vendored under tests/browser/vendor/axe-core/) run on
the portal's main pages, each with real content — a problem with its history, an assignment
meeting with a department's part, digests with figures — in Chinese and in English, on a
desktop (1366 px) and a phone (390 px). A failure names each rule broken, its impact, what to
do and the first elements it was found on.

No axe rule is turned off: the run is the four WCAG 2.x A/AA tag sets, as they come."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from digests.models import Digest
from digests.services import digests_build
from issues import services
from issues.models import Category, Ticket, TicketReporter, TicketSettings
from issues.services import Part

from .support import PHONE, Sessions

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = ["zh-hans", "en"]
WIDE = {"width": 1366, "height": 900}
MEETING = "第1次交办会"
# The violations, each with the first elements it was found on and what is wrong with the first.
RUN_AXE = r"""tags => axe.run(document, {runOnly: {type: "tag", values: tags}}).then(result =>
    result.violations.map(v => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 4).map(n => n.target.join(" ")),
        why: v.nodes[0].failureSummary.split("\n").slice(1, 2).join("").trim(),
        count: v.nodes.length,
    })))"""
MISSING_IDS = r"""() => {
    const named = {
        for: "label[for]",
        "aria-describedby": "[aria-describedby]",
        "aria-labelledby": "[aria-labelledby]",
        "aria-controls": "[aria-controls]",
    };
    const missing = [];
    for (const [attr, selector] of Object.entries(named)) {
        for (const el of document.querySelectorAll(selector)) {
            for (const id of el.getAttribute(attr).split(/\s+/).filter(Boolean)) {
                if (!document.getElementById(id)) {
                    missing.push(`<${el.localName}> ${attr}="${id}"`);
                }
            }
        }
    }
    return missing;
}"""


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def scene(world):
    """Problems in several states, through the services: one the grid head is working on, one
    reported up as hard and assigned at a county meeting to the housing department, one solved
    and rated, one solved and awaiting its reporter's rating (through the tracking link); then
    the digests of today built from them."""
    TicketSettings.objects.create(hard_via_street=False)
    repair = Category.objects.create(
        code="repair", name="公共设施维修", default_department=world.department
    )
    grid_head, county = world.users["grid_head"], world.users["county"]

    def report(description: str, tier: str, area=world.g1) -> Ticket:
        return services.ticket_report(
            area=area,
            category=repair,
            channel=Ticket.Channel.VISIT,
            description=description,
            reporter=world.residents["U1"],
            actor=grid_head,
            tier=tier,
        )

    working = report("楼道灯坏了，晚上看不清台阶", "complex")
    services.ticket_accept(ticket=working, actor=grid_head)
    services.ticket_progress(ticket=working, actor=grid_head, note="已联系物业更换灯泡")

    hard = report("三楼卫生间天花板渗水，墙面发霉", "complex")
    services.ticket_escalate(
        ticket=hard, actor=grid_head, note="屋面防水层老化，需住建部门处置", as_hard=True
    )
    meeting = services.meeting_open(area=world.county, title=MEETING, actor=county)
    deadline = timezone.now() + dt.timedelta(days=10)
    services.meeting_assign(
        meeting=meeting,
        ticket=Ticket.objects.get(pk=hard.pk),
        parts=[Part(department=world.department, deadline=deadline, instructions="查屋面防水")],
        actor=county,
    )

    solved = report("小区门口路灯不亮", "simple", area=world.u1)
    services.ticket_resolve(
        ticket=Ticket.objects.get(pk=solved.pk), actor=world.users["unit_head"], feedback="已修好"
    )
    services.ticket_rate(
        ticket=Ticket.objects.get(pk=solved.pk), actor=world.users["community"], rating="satisfied"
    )

    awaiting = report("2单元门禁坏了", "simple", area=world.u1)
    services.ticket_resolve(
        ticket=Ticket.objects.get(pk=awaiting.pk), actor=world.users["unit_head"], feedback="已换新"
    )
    world.tracking = TicketReporter.objects.filter(ticket=awaiting).get().token

    today = timezone.localdate()
    for kind in (Digest.Kind.DAILY, Digest.Kind.WEEKLY, Digest.Kind.MONTHLY):
        digests_build(kind=kind, day=today, deliver=False)
    world.tickets = {"working": working, "hard": hard, "solved": solved, "awaiting": awaiting}
    world.meeting = meeting
    county_digests = Digest.objects.filter(node=world.county)
    world.digests = {d.kind: ("county", d) for d in county_digests}
    daily = Digest.objects.get(kind=Digest.Kind.DAILY, node=world.community_a)
    world.digests[Digest.Kind.DAILY] = ("community", daily)
    assert set(world.digests) == set(Digest.Kind.values)
    return world


def submit_blank(page: Page) -> None:
    """Send the main form as it stands, past the browser's own checks: the page comes back
    with the form's errors beside their fields."""
    form = page.locator("main form[method=post]").first
    form.evaluate("form => { form.noValidate = true; }")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator("main .invalid-feedback, main .alert-danger").first).to_be_visible()


def wrong_password(page: Page) -> None:
    page.fill("#id_username", "grid_head")
    page.fill("#id_password", "not-the-password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main .alert-danger, main .invalid-feedback").first).to_be_visible()


class Check(NamedTuple):
    """A page to check: who opens it (None: nobody signed in), its path in the current
    language, and what is done on it first."""

    name: str
    persona: str | None
    path: str
    then: Callable[[Page], None] | None = None


def pages(world) -> list[Check]:
    """The main pages, checked in both languages."""
    ticket = reverse("issues:ticket_detail", args=[world.tickets["working"].pk])
    hard = reverse("issues:ticket_detail", args=[world.tickets["hard"].pk])
    report = reverse("issues:report")
    digests = [
        Check(f"digest {kind}", persona, reverse("digests:digest_detail", args=[d.pk]))
        for kind, (persona, d) in sorted(world.digests.items())
    ]
    return [
        Check("login", None, reverse("login")),
        Check("login, wrong password", None, reverse("login"), wrong_password),
        Check("dashboard", "county", reverse("home")),
        Check("inbox", "grid_head", reverse("issues:inbox")),
        Check("inbox, area tab", "community", reverse("issues:inbox") + "?tab=area"),
        Check("ticket, its handler", "grid_head", ticket),
        Check("ticket at a meeting", "county", hard),
        Check("ticket, its department", "department", hard),
        Check("report form", "grid_head", report),
        Check("report form, errors", "grid_head", report, submit_blank),
        Check("residents", "community", reverse("residents:resident_list")),
        Check("digests", "county", reverse("digests:digest_list")),
        *digests,
        Check("meetings", "county", reverse("issues:meeting_list")),
        Check("meeting", "county", reverse("issues:meeting_detail", args=[world.meeting.pk])),
    ]


def more_pages(world) -> list[Check]:
    """The other pages a worker or a resident opens, checked in Chinese."""
    household, resident = world.households["U1"].pk, world.residents["U1"].pk
    return [
        Check("resident sign-in", None, reverse("citizens:sign_in")),
        Check("tracking link", None, reverse("citizens:track", args=[world.tracking])),
        Check("households", "community", reverse("residents:household_list")),
        Check("household", "community", reverse("residents:household_detail", args=[household])),
        Check("visit form", "community", reverse("residents:visit_create", args=[household])),
        Check("resident", "community", reverse("residents:resident_detail", args=[resident])),
        Check("resident edit", "community", reverse("residents:resident_edit", args=[resident])),
        Check("coverage", "community", reverse("residents:coverage")),
        Check("areas", "community", reverse("grids:area_root")),
        Check("area", "community", reverse("dashboard:area_detail", args=[world.g1.code])),
        Check("notice board", "community", reverse("grids:notice_board", args=[world.g1.code])),
        Check("notifications", "county", reverse("notifications:list")),
        # Engagement (issue 14): the workers' lists.
        Check("micro-wishes", "community", reverse("wishes:list")),
        Check("points", "community", reverse("points:index")),
        Check("reward items", "community", reverse("points:items")),
        Check("best heads", "community", reverse("digests:best_heads")),
        Check("proposals", "community", reverse("deliberation:proposal_list")),
        Check("regular meetings", "community", reverse("councils:rhythm")),
    ]


def open_everything(page: Page) -> None:
    """What a click shows is checked too: the phone's navbar menu, the inbox's filters (each
    through its own toggle button) and every <details>."""
    for toggle in page.locator("[data-bs-toggle=collapse]").all():
        target = page.locator(toggle.get_attribute("data-bs-target"))
        if toggle.is_visible() and not target.is_visible():
            toggle.click()
            expect(target).to_have_class(re.compile(r"\bshow\b"))
            expect(toggle).to_have_attribute("aria-expanded", "true")
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


AXE_SOURCE = "() => {\n" + AXE.read_text(encoding="utf-8") + "\n}"


def axe_violations(page: Page) -> list[dict]:
    open_everything(page)
    # Evaluated through the browser's debugging protocol, which the page's Content Security
    # Policy does not govern (a <script> tag of it would be an inline script, refused).
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(RUN_AXE, WCAG_21_AA)


def broken_references(page: Page) -> list[dict]:
    """Attributes naming an element by id (a label's for, aria-describedby, aria-labelledby,
    aria-controls) that no element on the page has: axe leaves these to review by hand."""
    missing = page.evaluate(MISSING_IDS)
    if not missing:
        return []
    return [
        {
            "id": "idref-missing",
            "impact": "serious",
            "help": "An id named by another element exists on the page",
            "why": "no element has that id",
            "targets": missing[:4],
            "count": len(missing),
        }
    ]


def report_of(found: dict[str, list[dict]]) -> str:
    lines = []
    for name, violations in found.items():
        for v in violations:
            lines.append(f"{name}: {v['id']} ({v['impact']}) {v['help']} — {v['count']} element(s)")
            lines.append(f"    first: {v['why']}")
            lines.extend(f"    {target}" for target in v["targets"])
    return "\n".join(lines)


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366px", "390px"])
def test_main_pages_have_no_wcag_violations(sessions, scene, viewport, artifacts):
    """Each persona logs in once; the same tabs then read every page in both languages. The
    main pages are saved as screenshots for people to look at (test-artifacts/pages/)."""
    shots = artifacts / "pages"
    shots.mkdir(exist_ok=True)
    anonymous = sessions.browser.new_context(**sessions.context_args, viewport=viewport)
    tabs: dict[str | None, Page] = {None: anonymous.new_page()}
    found: dict[str, list[dict]] = {}
    try:
        for language in LANGUAGES:
            with translation.override(language):
                main = pages(scene)
                checked = main + (more_pages(scene) if language == "zh-hans" else [])
            for name, persona, path, then in checked:
                if persona not in tabs:
                    tabs[persona] = sessions.login(persona, viewport=viewport)
                page = tabs[persona]
                response = page.goto(sessions.url(path))
                assert response.status == 200, f"{name}: {path} answered {response.status}"
                assert page.locator("html").get_attribute("lang") == language
                if then is not None:
                    then(page)
                if (name, persona, path, then) in main:
                    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
                    shot = shots / f"{slug}-{language}-{viewport['width']}.png"
                    page.screenshot(path=shot, full_page=True)
                found[f"{language} {name}"] = axe_violations(page) + broken_references(page)
    finally:
        anonymous.close()

    found = {name: violations for name, violations in found.items() if violations}
    assert not found, f"WCAG 2.1 AA at {viewport['width']} px:\n" + report_of(found)
