"""The monthly digest of a district on a phone (390 px): nothing scrolls sideways, the ranked
communities in full, the ~140 with too few ratings folded away in one line, the chart only of
communities where something was reported; the favicon and every other request found."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from digests.models import Digest
from digests.services import digests_build
from tests.digests.conftest import MONTH_BUILT, THURSDAY, clock, rhythm  # noqa: F401

from .support import PHONE, Sessions, no_sideways_scroll

pytestmark = pytest.mark.django_db(transaction=True)

IDLE = 140  # communities where nothing happened in the month
QUIET = 3  # communities with problems reported but not one rating


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


def _community(row: dict, i: int, intake: int) -> dict:
    return {
        **row,
        "code": f"X{i:03d}",
        "name": f"测试社区{i}号",
        "intake": intake,
        "solved": intake // 2,
        "solve_rate": 50.0 if intake else None,
        "median_hours": 3.5 if intake else None,
        "rated": 0,
        "satisfaction": None,
        "satisfaction_bound": None,
        "rated_resident": 0,
        "rated_call": 0,
        "not_rated": 0,
        "rank": None,
        "ranked": False,
    }


@pytest.fixture
def district_month(rhythm):  # noqa: F811
    """The county's monthly digest of the scripted March, widened to a district's size."""
    rhythm.play(MONTH_BUILT)
    digests_build(kind="monthly", day=THURSDAY)
    # The browser keeps real time: a session cookie set in 2025's April would be stale.
    rhythm.clock.set(dt.datetime.now(dt.UTC))
    digest = Digest.objects.get(kind=Digest.Kind.MONTHLY, node=rhythm.world.county)
    f = digest.figures
    first, activity = f["ranking"][0], f["activity"][0]
    f["ranking"] += [_community(first, i, 4) for i in range(QUIET)]
    f["ranking"] += [_community(first, i, 0) for i in range(QUIET, QUIET + IDLE)]
    f["activity"] += [
        {**activity, "code": f"X{i:03d}", "name": f"测试社区{i}号"} for i in range(QUIET + IDLE)
    ]
    digest.save(update_fields=["figures"])
    return digest


def test_the_monthly_digest_fits_a_phone(sessions, district_month, artifacts):
    page = sessions.login("county", viewport=PHONE)
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(sessions.url(reverse("digests:digest_detail", args=[district_month.pk])))
    expect(page.locator("#chart-rates svg")).to_be_attached()
    page.screenshot(path=artifacts / "digest-monthly-phone.png", full_page=True)

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert no_sideways_scroll(page)
    # The ranked communities in full, their satisfaction (满意率) on screen.
    ranked = page.locator("#ranking-table tr[data-ranked='1']")
    expect(ranked).to_have_count(2)
    cells = ranked.first.locator("td:visible")
    expect(cells).to_have_count(4)  # rank, community, solve rate, satisfaction
    satisfaction = cells.last
    expect(satisfaction).to_be_visible()
    box = satisfaction.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]
    # The rest folded in one line that says how many; opened, names only.
    too_few = page.locator("details#ranking-too-few")
    expect(too_few).to_have_attribute("data-count", str(QUIET + IDLE))
    expect(too_few.locator("li").first).to_be_hidden()
    expect(too_few.locator("summary")).to_contain_text(str(QUIET + IDLE))
    section = page.locator("#monthly-ranking").bounding_box()
    assert section["height"] < 2500
    too_few.locator("summary").click()
    expect(too_few.locator("li")).to_have_count(QUIET + IDLE)
    expect(too_few.locator("li").first).to_be_visible()
    assert no_sideways_scroll(page)
    # The chart: the communities where something was reported, and a word on the others.
    data = page.evaluate("JSON.parse(document.getElementById('digest-data').textContent)")
    assert len(data["rates"]["names"]) == 2 + QUIET
    expect(page.locator("#chart-left-out")).to_have_attribute("data-count", str(IDLE))
    # No request failed: the favicon is there.
    icon = page.locator("link[rel=icon]").first.get_attribute("href")
    assert page.request.get(sessions.url(icon)).status == 200
    assert missing == []
