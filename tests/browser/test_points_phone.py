"""The moral bank in Chromium at phone width (390 px), in Chinese: the community worker
lists a reward item, registers a resident's good deed by their mobile number, hands the
item over; the ranking shows the resident; the resident sees the balance and the lines on
/r/points/. No page scrolls sideways. Screenshots go to /tmp/shots/points_*.png."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from playwright.sync_api import expect

from points.models import PointBalance

from .support import PHONE, Sessions, no_sideways_scroll

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/shots")


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


def _signed_in(phone):
    """An account signed in through the services (the code read from the SMS sent), its
    notice accepted."""
    from core import sms
    from residents import accounts

    sms.outbox.clear()
    accounts.sign_in_code_send(phone=phone)
    text = next(m.text for m in sms.outbox if m.number == f"+86{phone}")
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", text)[1]
    account = accounts.sign_in_code_check(phone=phone, code=code)
    return accounts.account_privacy_accept(account=account)


def test_the_community_saves_and_redeems_for_a_resident_at_390px(sessions, world, point_rules):
    SHOTS.mkdir(parents=True, exist_ok=True)
    resident = world.residents["U1"]
    page = sessions.login("community", viewport=PHONE)

    page.goto(sessions.url(reverse("points:items")))
    page.select_option("#id_community", str(world.community_a.pk))
    page.fill("#id_name", "洗衣液")
    page.fill("#id_cost", "2")
    page.fill("#id_stock", "5")
    page.locator("form[action$='/items/new/'] button[type=submit]").click()
    expect(page.locator("#items")).to_contain_text("洗衣液")
    assert no_sideways_scroll(page)

    page.goto(sessions.url(reverse("points:index")))
    page.fill("#id_phone", resident.phone)
    page.fill("#id_what", "帮独居老人买菜")
    page.fill("#id_done_on", dt.date.today().isoformat())
    page.fill("#id_hours", "3")
    page.locator("form[action$='/deeds/new/'] button[type=submit]").click()
    expect(page.locator("#balance")).to_have_text("3")
    expect(page.locator("#ledger")).to_contain_text("帮独居老人买菜")
    assert no_sideways_scroll(page)
    page.locator("form[action$='/redeem/'] button[type=submit]").click()
    expect(page.locator("#balance")).to_have_text("1")
    page.screenshot(path=str(SHOTS / "points_person_390.png"), full_page=True)
    assert no_sideways_scroll(page)

    page.goto(sessions.url(reverse("points:index")))
    expect(page.locator("#ranking")).to_contain_text(resident.name)
    assert no_sideways_scroll(page)
    page.goto(sessions.url(reverse("digests:best_heads")))
    expect(page.locator("#best-heads")).to_contain_text("莲心社区")
    assert no_sideways_scroll(page)

    person = PointBalance.objects.get(person__resident=resident)
    assert (person.balance, person.earned) == (1, 3)

    # the resident's own page, signed in on the resident pages
    account = _signed_in(resident.phone)
    from citizens.session import SESSION_KEY

    store = SessionStore()
    store[SESSION_KEY] = account.pk
    store.save()
    context = sessions.browser.new_context(**{**sessions.context_args, "viewport": PHONE})
    sessions._contexts.append(context)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": store.session_key,
                "url": sessions.base_url,
            }
        ]
    )
    mine = context.new_page()
    mine.goto(sessions.url(reverse("citizens:points")))
    expect(mine.locator("#my-balance")).to_have_text("1")
    expect(mine.locator("#my-entries")).to_contain_text("帮独居老人买菜")
    expect(mine.locator("#reward-items")).to_contain_text("洗衣液")
    mine.screenshot(path=str(SHOTS / "points_resident_390.png"), full_page=True)
    assert no_sideways_scroll(mine)
