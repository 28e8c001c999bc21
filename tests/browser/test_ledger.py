"""The inbox as a worker uses it when the phone rings and at the end of the week, in
Chromium: search by the reporter's name and by a place's name, the ledger's XLSX opening with
the rows filtered as shown, bulk triage of the rows picked, and at 390 px the ticket page's
action bar before its timeline."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from playwright.sync_api import expect

from issues import services
from issues.models import Category, Ticket

from .support import PHONE, Sessions

pytestmark = pytest.mark.django_db(transaction=True)

S = Ticket.State


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def problems(world):
    lamp = Category.objects.create(code="lamp", name="楼道照明")

    def report(area, text, name, phone):
        return services.ticket_report(
            area=area,
            category=lamp,
            channel=Ticket.Channel.HOTLINE,
            description=text,
            reporter_name=name,
            reporter_phone=phone,
        )

    return {
        "wang": report(world.u1, "一楼楼道灯不亮", "王秀英", "13700000011"),
        "li": report(world.u3, "二楼声控灯坏了", "李德明", "13700000012"),
        "zhao": report(world.u2, "单元门禁失灵", "赵建国", "13700000013"),
    }


def rows_shown(page) -> list[int]:
    return [
        int(v)
        for v in page.locator("table.inbox tbody tr[data-ticket]").evaluate_all(
            "rows => rows.map(r => r.dataset.ticket)"
        )
    ]


def search(page, text: str) -> None:
    page.fill("#id_q", text)
    page.locator("#inbox-filters button[type=submit]").click()
    page.wait_for_load_state()


def test_search_then_ledger_then_bulk_triage(sessions, world, problems, artifacts):
    page = sessions.login("community")
    page.goto(sessions.url(reverse("issues:inbox")) + "?tab=area")
    assert set(rows_shown(page)) == {p.pk for p in problems.values()}

    search(page, "李德明")  # the reporter's name, as the caller gives it
    assert rows_shown(page) == [problems["li"].pk]
    search(page, "第2网格")  # the place's name, any level of the tree
    assert rows_shown(page) == [problems["li"].pk]
    search(page, "1栋")
    assert set(rows_shown(page)) == {problems["wang"].pk, problems["zhao"].pk}
    page.screenshot(path=artifacts / "inbox-search-1366.png", full_page=True)

    with page.expect_download() as download:
        page.locator("#ledger-xlsx").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    rows = [r for r in book.active.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r and r[0] == "编号")
    table = [r for r in rows[start + 1 :] if r and r[0] is not None]
    assert {r[0] for r in table} == {problems["wang"].pk, problems["zhao"].pk}
    assert all("1栋" in r[2] for r in table)
    assert any("1栋" in str(c) for r in rows[:start] for c in r if c)  # the filter, above

    # Bulk triage: both picked, triaged simple in one go.
    for key in ("wang", "zhao"):
        page.check(f"#pick-{problems[key].pk}")
    page.select_option("#bulk-act", "assign")
    page.select_option("#bulk-tier", "simple")
    page.locator("#bulk-form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text(f"#{problems['wang'].pk}")
    for key in ("wang", "zhao"):
        problems[key].refresh_from_db()
        assert (problems[key].state, problems[key].tier) == (S.ASSIGNED, "simple")
    problems["li"].refresh_from_db()
    assert problems["li"].state == S.REPORTED


def test_the_area_filter_is_picked_from_the_tree(sessions, world, problems):
    page = sessions.login("community")
    page.goto(sessions.url(reverse("issues:inbox")) + "?tab=area")
    picker = page.locator("#inbox-filters [data-area-picker]")
    expect(picker.locator("[data-area-chosen]")).to_have_text("全部区域")
    picker.get_by_role("button", name="或逐级查找").click()  # walk from one's own area
    picker.locator("button", has_text="下一级").first.click()  # into the community
    row = picker.locator(".list-group-item", has_text="第2网格")
    row.get_by_role("button", name="选择", exact=True).click()
    expect(picker.locator("[data-area-chosen]")).to_contain_text("第2网格")
    page.locator("#inbox-filters button[type=submit]").click()
    page.wait_for_load_state()
    assert rows_shown(page) == [problems["li"].pk]
    expect(page.locator("[data-area-chosen]")).to_contain_text("莲心社区 › 第2网格")

    # by name, and cleared again
    picker = page.locator("#inbox-filters [data-area-picker]")
    picker.locator("input[type=search]").fill("1栋")
    picker.locator("[data-area-code]").first.click()
    expect(picker.locator("[data-area-chosen]")).to_contain_text("1栋")
    picker.locator("[data-area-clear]").click()
    expect(picker.locator("[data-area-chosen]")).to_have_text("全部区域")
    page.locator("#inbox-filters button[type=submit]").click()
    page.wait_for_load_state()
    assert len(rows_shown(page)) == 3


def test_on_a_phone_the_actions_come_before_the_timeline(sessions, world, problems, artifacts):
    page = sessions.login("grid_head", viewport=PHONE)
    page.goto(sessions.url(reverse("issues:ticket_detail", args=[problems["wang"].pk])))
    bar, timeline = page.locator("#action-bar"), page.locator("#timeline")
    expect(bar).to_be_visible()
    assert bar.bounding_box()["y"] < timeline.bounding_box()["y"]
    assert bar.bounding_box()["y"] < 300  # right below the title, no scrolling for it
    # One chosen action's fields and one button: the others' are hidden.
    expect(page.locator("#act-assign")).to_be_checked()
    expect(page.locator("#form-assign")).to_be_visible()
    expect(page.locator("#form-decline")).to_be_hidden()
    expect(page.locator("#action-bar textarea:visible")).to_have_count(1)
    page.locator("#action-bar label[for=act-decline]").click()
    expect(page.locator("#form-assign")).to_be_hidden()
    expect(page.locator("#form-decline")).to_be_visible()
    expect(page.locator("#action-bar textarea:visible")).to_have_count(1)
    page.screenshot(path=artifacts / "ticket-action-bar-390.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
