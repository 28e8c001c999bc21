"""The issue's story, end to end in Chromium: a unit head knocks on a door and reports a leak,
the grid head reports it up as a hard problem, the county office assigns it to two departments
at a meeting (each its own instructions and deadline, each seeing only its own), both report
back, the county office sends one part back and then accepts the reports in its own words, the
community worker records the reporter's rating, and the county dashboard counts it solved.
Every step goes through the real pages, each persona in its own browser context, logged in
through the login form.

Labels are compared with what the zh-hans catalogue says (``gettext`` under the tests'
Chinese override), so the checks follow the translations as they are filled in."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from playwright.sync_api import Page, expect

from grids import services as grid_services
from grids.models import Department
from issues.models import Category, Ticket, TicketEvent, TicketSettings
from residents.models import Visit

from .support import DESKTOP, PHONE, Sessions, choose_action, no_sideways_scroll, take_action

pytestmark = pytest.mark.django_db(transaction=True)

E = TicketEvent.Kind
FINDINGS = "三楼卫生间天花板渗水，墙面发霉，住户担心电线受潮"
MEETING = "第1次交办会"


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def story(world):
    """Reference data only: the category, a second department with its handler, and hard
    problems going straight to the county office."""
    world.leak = Category.objects.create(
        code="house-leak", name="房屋漏水", default_department=world.department
    )
    world.water = Department.objects.create(code="water", name="水务局")
    user = User.objects.create_user("water", password="pw-for-tests-1")
    person = grid_services.person_get_or_create(name="钱水生", phone="13800000001")
    person.user = user
    person.save(update_fields=["user"])
    world.water.handlers.add(person)
    world.users["water"] = user
    TicketSettings.objects.create(hard_via_street=False)
    return world


def ticket_url(sessions: Sessions, pk: int) -> str:
    return sessions.url(reverse("issues:ticket_detail", args=[pk]))


def state_badge(page: Page):
    return page.locator("h1 ~ [data-state]")


def submit(page: Page, action: str) -> None:
    """Send the action bar with ``action`` chosen and land back on the ticket."""
    status = take_action(page, action)
    if status != 302:  # 400: the form came back with its errors
        page.wait_for_load_state()
        errors = page.locator(f"#form-{action} .alert, #form-{action} .invalid-feedback")
        pytest.fail(f"{action} refused ({status}): {errors.all_inner_texts()}")
    expect(page.locator(".alert-success")).to_be_visible()


def wait_for_charts(page: Page) -> None:
    """ECharts draws its series with a one-second animation: let it end before a screenshot
    (it reports "finished"; if that already happened, the fallback is a short wait)."""
    page.evaluate(
        """() => new Promise(resolve => {
            const box = document.getElementById("chart-daily");
            const chart = window.echarts && box && window.echarts.getInstanceByDom(box);
            if (!chart) { resolve(); return; }
            chart.on("finished", () => resolve());
            setTimeout(resolve, 1500);
        })"""
    )


def open_from_inbox(page: Page, sessions: Sessions, pk: int, tab: str = "mine") -> None:
    """Through the navbar (opening its menu on a phone), the inbox tab, the ticket's row."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
    page.get_by_role("link", name=_("Problems"), exact=True).first.click()
    if tab != "mine":
        page.locator(f"a.nav-link[href^='?tab={tab}']").click()
    expect(page.locator(f"a.nav-link.active[href^='?tab={tab}']")).to_be_visible()
    row_link = page.get_by_role("link", name=f"#{pk}", exact=True)
    expect(row_link).to_be_visible()
    row_link.click()
    page.wait_for_url(ticket_url(sessions, pk))


def test_door_knock_to_county_meeting_to_satisfied(sessions, story, artifacts):
    world = story
    household = world.households["U1"]
    resident = world.residents["U1"]

    # --- 2. the unit head knocks on the door, logs the visit and reports from it ----------------
    unit = sessions.login("unit_head")
    unit.goto(sessions.url(reverse("residents:household_detail", args=[household.pk])))
    expect(unit.locator("main h1")).to_contain_text(household.door)
    unit.get_by_role("link", name=_("Log a visit")).click()
    unit.wait_for_url(sessions.url(reverse("residents:visit_create", args=[household.pk])))
    expect(unit.locator("#id_channel")).to_have_value(Visit.Channel.DOOR_KNOCK)
    unit.fill("#id_findings", FINDINGS)
    unit.check("#id_needs_follow_up")
    unit.locator("main form button[type=submit]").click()
    # A visit that needs following up goes straight on to reporting the problem.
    unit.wait_for_url(re.compile(r".*/tickets/report/\?visit=\d+$"))
    visit = Visit.objects.get(household=household)
    assert unit.url.endswith(f"?visit={visit.pk}")
    # The household page links each visit to the report form as well.
    unit.goto(sessions.url(reverse("residents:household_detail", args=[household.pk])))
    expect(unit.locator("main")).to_contain_text(FINDINGS)
    unit.locator(f"main a[href*='visit={visit.pk}']").first.click()
    unit.wait_for_url(re.compile(rf".*/tickets/report/\?visit={visit.pk}$"))
    expect(unit.locator("#id_visit")).to_have_value(str(visit.pk))
    expect(unit.locator("#id_description")).to_have_value(FINDINGS)
    expect(unit.locator("#id_channel")).to_have_value(Ticket.Channel.VISIT)
    expect(unit.locator(f"input[name=resident][value='{resident.pk}']")).to_be_checked()

    # The area picker: clear the code the visit filled in, search by part of the name, pick.
    unit.fill("#id_area", "")
    unit.locator("main input[type=search][name=q]").fill("1单元")
    pick = unit.locator(f"[data-area-results] [data-area-code='{world.u1.code}']")
    expect(pick).to_be_visible()
    pick.click()
    expect(unit.locator("#id_area")).to_have_value(world.u1.code)
    expect(unit.locator("[data-area-chosen]")).to_contain_text("1单元")
    expect(unit.locator("[data-area-results]")).to_be_empty()

    unit.select_option("#id_category", label="房屋漏水")
    unit.select_option("#id_tier", "complex")
    unit.locator("main form button[type=submit]").click()
    unit.wait_for_url(re.compile(r".*/tickets/\d+/$"))
    pk = int(re.search(r"/tickets/(\d+)/$", unit.url).group(1))
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.visit_id == visit.pk and ticket.reporter_id == resident.pk

    expect(state_badge(unit)).to_have_attribute("data-state", Ticket.State.ASSIGNED)
    timeline = unit.locator("#timeline li")
    expect(timeline).to_have_count(2)
    expect(timeline.nth(0)).to_have_attribute("data-kind", E.REPORT)
    expect(timeline.nth(0).locator("strong")).to_have_text(_(E.REPORT.label))
    expect(timeline.nth(1)).to_have_attribute("data-kind", E.ASSIGN)
    expect(timeline.nth(1).locator("strong")).to_have_text(_(E.ASSIGN.label))
    expect(unit.locator("main")).to_contain_text(f"第1网格 · {_('grid')}")

    # --- 3. the grid head finds it under "Mine" and reports it up as hard -------------------------
    grid = sessions.login("grid_head")
    open_from_inbox(grid, sessions, pk)
    expect(state_badge(grid)).to_have_attribute("data-state", Ticket.State.ASSIGNED)
    choose_action(grid, "escalate")
    grid.fill("#id_escalate-note", "屋面防水层老化，需住建、水务联合处置")
    grid.check("#id_escalate-as_hard")
    submit(grid, "escalate")
    expect(grid.locator("#timeline li").last).to_have_attribute("data-kind", E.REPORT_UP)
    expect(grid.locator("main dl.fields")).to_contain_text(f"莲溪县 · {_('county office')}")
    ticket.refresh_from_db()
    assert (ticket.level, ticket.tier) == ("county", "hard")
    assert ticket.handler_area_id == world.county.pk

    # --- 4. the county office opens a meeting and assigns two departments -----------------------
    county = sessions.login("county", viewport=DESKTOP)
    county.get_by_role("link", name=_("Assignment meetings")).click()
    county.wait_for_url(sessions.url(reverse("issues:meeting_list")))
    waiting = county.get_by_role("link", name=f"#{pk}", exact=True)
    expect(waiting).to_be_visible()
    county.fill("#id_title", MEETING)
    # issues/forms.py MeetingForm.held_on renders today as "2026/11/23" under zh-hans, which an
    # <input type=date> cannot show: the required field is blank and Chromium refuses to submit
    # until a date is picked (test_pages.py::test_meeting_date_is_prefilled, xfail). Pick it.
    held_on = county.locator("#id_held_on")
    if not held_on.input_value():
        held_on.fill(timezone.localdate().isoformat())
    county.locator("main form button[type=submit]").click()
    county.wait_for_url(re.compile(r".*/tickets/meetings/\d+/$"))
    county.get_by_role("link", name=_("Assignment meetings")).click()
    county.get_by_role("link", name=re.compile(MEETING)).click()
    expect(county.locator("main h1")).to_have_text(MEETING)
    county.get_by_role("link", name=f"#{pk}", exact=True).click()
    county.wait_for_url(ticket_url(sessions, pk))

    deadline = timezone.localdate() + dt.timedelta(days=10)
    sooner = timezone.localdate() + dt.timedelta(days=5)
    housing_dept, water_dept = world.department, world.water
    choose_action(county, "meeting")
    form = county.locator("#form-meeting")
    form.locator("#id_meeting-meeting").select_option(label=MEETING)
    form.get_by_label("住建局", exact=True).check()
    form.locator(f"#id_meeting-deadline_{housing_dept.pk}").fill(deadline.isoformat())
    form.locator(f"#id_meeting-instructions_{housing_dept.pk}").fill("牵头查修屋面防水")
    form.get_by_label("水务局", exact=True).check()
    form.locator(f"#id_meeting-deadline_{water_dept.pk}").fill(sooner.isoformat())
    form.locator(f"#id_meeting-instructions_{water_dept.pk}").fill("配合查修供水立管")
    submit(county, "meeting")
    expect(state_badge(county)).to_have_attribute("data-state", Ticket.State.ASSIGNED)
    parts = county.locator("#parts [data-task-status]")
    expect(parts).to_have_count(2)
    expect(county.locator("#parts [data-part=housing]")).to_have_attribute(
        "data-task-status", "open"
    )
    expect(county.locator("#parts [data-part=housing]")).to_contain_text("牵头查修屋面防水")
    expect(county.locator("#parts [data-part=water]")).to_contain_text(MEETING)
    expect(county.locator("#parts [data-part=water]")).to_contain_text(
        f"{sooner.month}月{sooner.day}日"
    )

    # --- 5. each department sees its own part and reports as itself --------------------------
    housing = sessions.login("department")
    housing.get_by_role("link", name=_("Our parts")).click()
    expect(housing.locator("#parts-list")).to_contain_text("牵头查修屋面防水")
    expect(housing.locator("#parts-list")).not_to_contain_text("配合查修供水立管")
    open_from_inbox(housing, sessions, pk)
    expect(housing.locator("#parts")).to_contain_text("牵头查修屋面防水")
    expect(housing.locator("#parts")).to_contain_text(f"{deadline.month}月{deadline.day}日")
    expect(housing.locator("#parts")).not_to_contain_text("配合查修供水立管")
    expect(housing.locator("#parts [data-part=water]")).to_have_count(0)
    expect(housing.locator("label[for=act-department_report]")).to_have_text(
        _("Report back as %(department)s") % {"department": "住建局"}
    )
    housing.fill("#id_department_report-report", "已更换屋面防水卷材")
    submit(housing, "department_report")
    expect(state_badge(housing)).to_have_attribute("data-state", Ticket.State.IN_PROGRESS)
    expect(housing.locator("#parts [data-task-status=reported]")).to_have_count(1)
    expect(housing.locator("#action-bar")).to_have_count(0)

    water = sessions.login("water")
    open_from_inbox(water, sessions, pk)
    expect(water.locator("#parts")).not_to_contain_text("牵头查修屋面防水")
    water.fill("#id_department_report-report", "已查看供水立管")
    submit(water, "department_report")
    expect(state_badge(water)).to_have_attribute("data-state", Ticket.State.IN_PROGRESS)
    expect(water.locator("#parts [data-task-status=reported]")).to_have_count(1)

    # --- 5b. the county office sends water's part back, then accepts the reports --------------
    county.reload()
    expect(county.locator("#parts [data-task-status=reported]")).to_have_count(2)
    expect(county.locator("#act-review")).to_be_checked()  # the review comes first
    expect(county.locator("label[for=act-resolve]")).to_have_count(0)
    choose_action(county, "send_back")
    county.locator("#id_send_back-task").select_option(label="水务局")
    county.fill("#id_send_back-reason", "立管仍在渗水，请更换后再报")
    county.fill("#id_send_back-deadline", sooner.isoformat())
    submit(county, "send_back")
    expect(county.locator("#parts [data-part=water]")).to_have_attribute("data-task-status", "open")
    water.reload()
    expect(water.locator("#parts [data-part=water]")).to_contain_text("立管仍在渗水")
    water.fill("#id_department_report-report", "已更换楼内渗漏的供水立管")
    submit(water, "department_report")

    county.reload()
    approved = "经县里核查，屋面防水和供水立管均已修复，请您查看。"
    county.fill("#id_review-feedback", approved)
    submit(county, "review")
    expect(state_badge(county)).to_have_attribute("data-state", Ticket.State.RESOLVED)
    expect(county.locator("#parts [data-task-status=done]")).to_have_count(2)
    expect(county.locator("main dl.fields")).to_contain_text(approved)
    expect(county.locator("main dl.fields")).not_to_contain_text("已更换屋面防水卷材")

    # --- 6. the community worker (on a phone) records the reporter's rating ---------------------
    community = sessions.login("community", viewport=PHONE)
    open_from_inbox(community, sessions, pk, tab="rating")
    choose_action(community, "rate")
    community.check("#form-rate input[name=rate-rating][value=satisfied]")
    community.fill("#id_rate-comment", "维修及时，住户满意")
    submit(community, "rate")
    expect(state_badge(community)).to_have_attribute("data-state", Ticket.State.CLOSED)
    expect(community.locator("main dl.fields")).to_contain_text(_(Ticket.Rating.SATISFIED.label))

    # --- 7. the whole story on the timeline, and on the county dashboard -----------------------
    kinds = community.locator("#timeline li").evaluate_all(
        "items => items.map(item => item.dataset.kind)"
    )
    assert kinds == [
        E.REPORT,
        E.ASSIGN,
        E.REPORT_UP,
        E.MEETING,
        E.DEPARTMENT_REPORT,
        E.ACCEPT,  # the first department's report starts the work
        E.DEPARTMENT_REPORT,
        E.SEND_BACK,
        E.DEPARTMENT_REPORT,
        E.REVIEW,
        E.RESOLVE,
        E.RATE,
        E.CLOSE,
    ]
    expect(community.locator("#timeline li[data-kind=meeting]")).to_contain_text(MEETING)
    expect(community.locator("#timeline li[data-kind=rate]")).to_contain_text("维修及时")

    county.get_by_role("link", name=_("Dashboard"), exact=True).click()
    county.wait_for_url(sessions.url(reverse("home")))
    assert int(county.locator("#kpi-solved-today").inner_text()) >= 1
    expect(county.locator("#kpi-open")).to_have_text("0")
    expect(county.locator("#kpi-satisfaction")).to_have_text("100.0%")
    expect(county.locator("#level-above")).to_contain_text("100.0%")
    expect(county.locator("#level-grid")).to_contain_text("0.0%")
    expect(county.locator("#top-categories")).to_contain_text("房屋漏水")
    expect(county.locator("#chart-daily canvas").first).to_be_visible()
    wait_for_charts(county)
    county.screenshot(path=artifacts / "dashboard-1280.png", full_page=True)
    assert no_sideways_scroll(county)

    # --- 8. an outsider (community B) gets the 404 page --------------------------------------
    outsider = sessions.login("outsider")
    response = outsider.goto(ticket_url(sessions, pk))
    assert response.status == 404
    expect(outsider.locator("main .display-4")).to_have_text("404")
    expect(outsider.locator("main")).to_contain_text(
        _("There is no such page, or it lies outside your area.")
    )
    expect(outsider.locator("main")).not_to_contain_text("房屋漏水")

    # --- 9. phone width: the inbox and the ticket page fit in 390 px ---------------------------
    community.goto(sessions.url(reverse("issues:inbox")) + "?tab=area")
    expect(community.get_by_role("link", name=f"#{pk}", exact=True)).to_be_visible()
    community.screenshot(path=artifacts / "inbox-390.png", full_page=True)
    assert no_sideways_scroll(community), "the inbox scrolls sideways at 390 px"
    community.goto(ticket_url(sessions, pk))
    expect(community.locator("#timeline li")).to_have_count(13)
    community.screenshot(path=artifacts / "ticket-390.png", full_page=True)
    assert no_sideways_scroll(community), "the ticket page scrolls sideways at 390 px"
