"""A head imported with a login, in Chromium: the one-time password from the SMS signs them
in, every page sends them to the password change until they choose their own, and then the
dashboard opens. In Chinese, at phone width, as a head would do it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _
from playwright.sync_api import expect

from core import sms
from core.passwords import OTP_ALPHABET, OTP_LENGTH
from core.spreadsheets import Table
from grids.imports import heads_import
from grids.imports.logins import LoginDelivery
from grids.models import Person

from .support import PHONE, no_sideways_scroll

pytestmark = pytest.mark.django_db(transaction=True)

MOBILE = "13500000001"
NEW_PASSWORD = "Lianxi-grid-2026"


def test_an_imported_head_changes_the_one_time_password_then_reaches_the_dashboard(
    browser, browser_context_args, live_server, world, artifacts
):
    table = Table(
        headers=["区域编码", "职务", "姓名", "手机"],
        rows=[(2, [world.g2.code, "网格长", "赵红梅", MOBILE])],
    )
    heads_import(table=table, source="heads.csv", logins=LoginDelivery.SMS)
    (message,) = [m for m in sms.outbox if m.number == f"+86{MOBILE}"]
    (password,) = re.findall(rf"[{OTP_ALPHABET}]{{{OTP_LENGTH}}}", message.text)

    context = browser.new_context(**{**browser_context_args, "viewport": PHONE})
    try:
        page = context.new_page()
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", MOBILE)
        page.fill("#id_password", password)
        page.locator("main form button[type=submit]").click()

        change = live_server.url + reverse("password_change")
        page.wait_for_url(change)
        expect(page.locator("h1")).to_have_text(_("Change your password"))
        expect(page.locator("#password-change-required")).to_be_visible()
        assert no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / "accounts-forced-change.png"))

        # Nothing else opens until the password is changed.
        page.goto(live_server.url + reverse("home"))
        page.wait_for_url(change)

        page.fill("#id_old_password", password)
        page.fill("#id_new_password1", NEW_PASSWORD)
        page.fill("#id_new_password2", NEW_PASSWORD)
        page.locator("#password-change-form button[type=submit]").click()

        page.wait_for_url(live_server.url + reverse("home"))
        expect(page.locator(".alert-success")).to_have_text(_("Your password has been changed."))
        expect(page.locator(".portal-navbar .who")).to_have_text("赵红梅")
        expect(page.locator("main h1")).to_be_visible()
        page.screenshot(path=str(artifacts / "accounts-dashboard.png"))
    finally:
        context.close()

    person = Person.objects.select_related("user").get(phone=MOBILE)
    assert not person.password_change_required
    assert person.user.check_password(NEW_PASSWORD)
