"""Engagement on two phones (390 px), in Chromium: a resident posts a micro-wish, a Party
member registered at the community (双报到) claims it on their own phone and fulfils it, the
resident confirms it came true, and points appear on both; then the resident votes for the
community's renovation plan and checks the receipt code shown once.

Assertions use element ids and data attributes. Screenshots go to /tmp/shots/engagement_*.png."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from core import sms
from deliberation import services as deliberation
from deliberation.models import Ballot, Proposal, RollEntry
from grids.models import Area
from points.models import PointBalance, PointEntry
from residents.models import PartyMember, Resident
from residents.services import resident_person_ensure
from wishes.models import Wish

from .support import PHONE, Sessions, no_sideways_scroll
from .test_resident_flow import code_sent_to

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots")


@pytest.fixture
def sessions(browser, browser_context_args, live_server):
    opened = Sessions(browser, browser_context_args, live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def phone_page(sessions: Sessions) -> Page:
    context = sessions.browser.new_context(**{**sessions.context_args, "viewport": PHONE})
    sessions._contexts.append(context)
    return context.new_page()


def sign_in(sessions: Sessions, phone: str) -> Page:
    """A resident's phone: signed in on /r/ with the SMS code, the privacy notice accepted."""
    page = phone_page(sessions)
    page.goto(sessions.url(reverse("citizens:home")))
    page.fill("#id_phone", phone)
    page.locator("#sign-in-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/r/sign-in/code/.*"))
    page.fill("#id_code", code_sent_to(phone))
    page.locator("#code-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/r/privacy/.*"))
    page.locator("#accept-privacy").click()
    page.wait_for_url(sessions.url(reverse("citizens:home")))
    return page


def balance(page: Page, sessions: Sessions) -> int:
    page.goto(sessions.url(reverse("citizens:points")))
    assert no_sideways_scroll(page)
    return int(page.locator("#my-balance").inner_text().strip())


def test_a_wish_claimed_fulfilled_confirmed_and_a_household_vote(
    sessions, world, shots, point_rules
):
    sms.outbox.clear()
    poster, member = world.residents["U1"], world.residents["U3"]
    # 居民U3 lives in 莲心社区 and registered there as a Party member (双报到).
    PartyMember.objects.create(
        person=resident_person_ensure(resident=member),
        registered_area=world.community_a,
        in_service=True,
        work_unit="县人民医院",
    )

    # --- the resident posts a wish on their phone ------------------------------------------
    resident = sign_in(sessions, poster.phone)
    resident.locator("#wishes-link").click()
    resident.wait_for_url(sessions.url(reverse("citizens:wishes")))
    resident.goto(sessions.url(reverse("citizens:wish_new")))
    expect(resident.locator("#place-chosen")).to_have_attribute("data-place", str(world.u1.pk))
    resident.fill("#id_title", "帮忙买一袋面粉送到家")
    resident.fill("#id_where", "1单元3楼")
    assert no_sideways_scroll(resident)
    resident.screenshot(path=shots / "engagement_wish_new.png", full_page=True)
    resident.locator("#wish-form button[type=submit]").click()
    resident.wait_for_url(re.compile(r".*/r/wishes/\d+/$"))
    pk = int(re.search(r"/r/wishes/(\d+)/$", resident.url)[1])
    expect(resident.locator("#wish-state")).to_have_attribute("data-state", "open")
    wish = Wish.objects.get(pk=pk)
    assert (wish.area_id, wish.community_id) == (world.u1.pk, world.community_a.pk)

    # --- the Party member claims it on their own phone and fulfils it ------------------------
    party = sign_in(sessions, member.phone)
    party.goto(sessions.url(reverse("citizens:wishes_open")))
    row = party.locator(f"#open-wishes [data-wish='{pk}']")
    expect(row).to_be_visible()
    assert no_sideways_scroll(party)
    party.screenshot(path=shots / "engagement_wishes_open.png", full_page=True)
    row.locator("form[data-claim] button").click()
    claimed = party.locator(f"#my-claims [data-wish='{pk}']")
    expect(claimed).to_have_attribute("data-state", "claimed")
    claimed.locator("details summary").first.click()
    claimed.locator("form[data-fulfil] textarea").fill("已买好面粉送到居民家中")
    claimed.locator("form[data-fulfil] button[type=submit]").click()
    expect(party.locator(f"#my-claims [data-wish='{pk}']")).to_have_attribute(
        "data-state", "fulfilled"
    )
    assert Wish.objects.get(pk=pk).state == "fulfilled"

    # --- the resident confirms; points on both phones ---------------------------------------
    resident.goto(sessions.url(reverse("citizens:wish", args=[pk])))
    expect(resident.locator("#wish-fulfilled")).to_contain_text("已买好面粉")
    resident.locator("#confirm-form button[type=submit]").click()
    expect(resident.locator("#wish-state")).to_have_attribute("data-state", "confirmed")
    resident.screenshot(path=shots / "engagement_wish_confirmed.png", full_page=True)
    assert balance(resident, sessions) > 0
    assert balance(party, sessions) > 0
    party.screenshot(path=shots / "engagement_points_member.png", full_page=True)
    awarded = PointEntry.objects.filter(act_key=f"wish:{pk}").values_list("rule__code", flat=True)
    assert sorted(awarded) == ["wish_confirmed", "wish_fulfilled"]
    for resident_pk in (poster.pk, member.pk):
        person = Resident.objects.get(pk=resident_pk).person_id
        assert PointBalance.objects.get(person_id=person).balance == sum(
            PointEntry.objects.filter(person_id=person).values_list("amount", flat=True)
        )

    # --- a renovation plan put to the households; the resident votes and checks the receipt ---
    worker = world.users["community"]
    proposal = deliberation.proposal_create(
        area=Area.objects.get(pk=world.community_a.pk),
        title="莲心小区老旧改造方案",
        text="加装电梯、雨污分流、楼道照明改造。",
        voting_closes_at=timezone.now() + dt.timedelta(days=7),
        actor=worker,
    )
    deliberation.proposal_discussion_open(proposal=proposal, actor=worker)
    deliberation.proposal_voting_open(proposal=proposal, actor=worker)
    resident.goto(sessions.url(reverse("citizens:proposals")))
    resident.locator(
        f"#proposal-list a[href='{reverse('citizens:proposal', args=[proposal.pk])}']"
    ).click()
    expect(resident.locator("#vote-form")).to_be_visible()
    resident.locator("#vote-form input[name=choice][value=for]").check()
    assert no_sideways_scroll(resident)
    resident.screenshot(path=shots / "engagement_vote.png", full_page=True)
    resident.locator("#cast").click()
    code = resident.locator("#receipt-code").inner_text().strip()
    assert len(code) >= 8
    resident.screenshot(path=shots / "engagement_receipt.png", full_page=True)
    entry = RollEntry.objects.get(proposal=proposal, household=poster.household)
    assert entry.voted
    assert Ballot.objects.filter(proposal=proposal).count() == 1
    # The code is shown once: the proposal's page no longer offers a vote, nor the code.
    resident.goto(sessions.url(reverse("citizens:proposal", args=[proposal.pk])))
    expect(resident.locator("#already-voted")).to_be_visible()
    expect(resident.locator("#vote-form")).to_have_count(0)
    assert code not in resident.content()
    # Checked on the receipt page: counted.
    resident.goto(sessions.url(reverse("citizens:proposal_receipt")))
    resident.fill("#receipt-form input[name=code]", code)
    resident.locator("#receipt-form button[type=submit]").click()
    expect(resident.locator("#receipt-counted")).to_contain_text("莲心小区老旧改造方案")
    assert no_sideways_scroll(resident)
    assert Proposal.objects.get(pk=proposal.pk).state == Proposal.State.VOTING
