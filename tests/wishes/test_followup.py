"""The resident's SMS in the portal's language whoever acted; the claimer's pages in
numbered pages; a light account's confirmation said honestly, or linked to the register's
resident with its number."""

import pytest
from django.urls import reverse
from django.utils import translation

from core.models import TextMessage
from points.models import PointEntry
from residents.services import resident_create
from tests.citizens.conftest import account_for
from tests.conftest import _id_number
from wishes import services
from wishes.models import Outcome, State
from wishes.views import CLAIMER_PAGE_SIZE

from .conftest import as_resident

pytestmark = pytest.mark.django_db


def _texts(phone):
    rows = TextMessage.objects.filter(number=f"+86{phone}", purpose=TextMessage.Purpose.REPORTER)
    return list(rows.values_list("text", flat=True))


# --- the SMS is in the portal's language --------------------------------------------------------


@pytest.mark.parametrize("outcome", [Outcome.DONE_AT_ONCE, Outcome.RENOVATION, Outcome.EXPLAINED])
def test_a_worker_reading_english_texts_the_resident_in_chinese(wt, outcome):
    wish = wt.post()
    with translation.override("en"):
        services.wish_sort(wish=wish, outcome=outcome, note="已安排", actor=wt.user("community"))
    (text,) = _texts(wt.w.residents["U1"].phone)
    assert "微心愿" in text and "已安排" in text and "micro-wish" not in text


def test_a_claimer_reading_english_texts_the_resident_in_chinese(wt):
    wish = services.wish_claim(wish=wt.post(), person=wt.member2, actor=wt.member_user)
    with translation.override("en"):
        services.wish_fulfil(wish=wish, person=wt.member2, note="送到了", actor=wt.member_user)
    (text,) = _texts(wt.w.residents["U1"].phone)
    assert "微心愿" in text and wt.member2.name in text and "fulfilled" not in text


def test_the_page_in_english_still_texts_in_chinese(wt, client):
    wish = wt.post()
    client.force_login(wt.user("community"))
    response = client.post(
        reverse("wishes:sort", args=[wish.pk]),
        {"outcome": Outcome.EXPLAINED, "note": "不在改造范围"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    (text,) = _texts(wt.w.residents["U1"].phone)
    assert "微心愿" in text and "About your" not in text


# --- the claimer's pages in numbered pages -------------------------------------------------------


def _many(wt, n):
    return [wt.post(area=wt.w.u1, title=f"心愿{i}") for i in range(n)]


def test_the_open_wishes_near_me_come_in_numbered_pages(wt, client):
    wishes = _many(wt, CLAIMER_PAGE_SIZE + 3)
    as_resident(client, wt.member_account)
    url = reverse("citizens:wishes_open")
    first = client.get(url).content.decode()
    assert first.count("data-claim") == CLAIMER_PAGE_SIZE
    assert "page=2" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count("data-claim") == 3
    shown = {w.pk for w in wishes if f'data-wish="{w.pk}"' in first + second}
    assert shown == {w.pk for w in wishes}  # every one, none twice across the pages


def test_my_claims_come_in_their_own_pages(wt, client):
    wishes = _many(wt, CLAIMER_PAGE_SIZE + 2)
    for wish in wishes[: CLAIMER_PAGE_SIZE + 1]:
        services.wish_claim(wish=wish, person=wt.member2, actor=wt.member_user)
    client.force_login(wt.member_user)
    url = reverse("wishes:near")
    first = client.get(url).content.decode()
    assert first.count("data-hand-back") == CLAIMER_PAGE_SIZE
    assert "mine=2" in first
    body = client.get(url, {"mine": 2, "page": 1}).content.decode()
    assert body.count("data-hand-back") == 1
    assert body.count("data-claim") == 1  # the open list is its own
    # The claims' pager keeps the open list's page.
    assert "page=1&amp;mine=1" in body


@pytest.mark.parametrize("n", [3, 25])
def test_the_claimer_page_in_fixed_queries(wt, client, django_assert_max_num_queries, n):
    wishes = _many(wt, n)
    for wish in wishes[:2]:
        services.wish_claim(wish=wish, person=wt.member, account=wt.member_account)
    as_resident(client, wt.member_account)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("citizens:wishes_open"))
    assert response.status_code == 200


# --- a light account's confirmation ------------------------------------------------------------


def _fulfilled(wt, account, area=None):
    wish = wt.post(account=account, area=area or wt.w.u1)
    wish = services.wish_claim(wish=wish, person=wt.member2, actor=wt.member_user)
    return services.wish_fulfil(wish=wish, person=wt.member2, note="修好了", actor=wt.member_user)


def test_a_light_account_is_told_its_confirmation_earns_it_no_points(wt, client):
    light = account_for("13700000077", display_name="小王")
    assert light.resident is None
    wish = _fulfilled(wt, light)
    as_resident(client, light)
    url = reverse("citizens:wish", args=[wish.pk])
    assert 'id="points-unregistered"' in client.get(url).content.decode()
    response = client.post(reverse("citizens:wish_confirm", args=[wish.pk]), follow=True)
    wish.refresh_from_db()
    assert wish.state == State.CONFIRMED and wish.resident is None
    assert "积分记入已登记的居民" in response.content.decode()
    # The fulfiller's points count; the light account earns none.
    assert list(PointEntry.objects.values_list("rule__code", flat=True)) == ["wish_fulfilled"]


def test_a_registered_resident_is_not_told_so(wt, client):
    wish = _fulfilled(wt, wt.poster)
    as_resident(client, wt.poster)
    body = client.get(reverse("citizens:wish", args=[wish.pk])).content.decode()
    assert 'id="points-unregistered"' not in body


def test_a_light_account_whose_number_the_register_now_holds_earns_its_points(wt, client):
    light = account_for("13700000088")
    wish = _fulfilled(wt, light)
    # The community registers them afterwards, with that number.
    household = wt.w.residents["U1"].household
    resident = resident_create(
        household=household, name="王小明", id_number=_id_number(77), phone="13700000088"
    )
    as_resident(client, light)
    body = client.get(reverse("citizens:wish", args=[wish.pk])).content.decode()
    assert 'id="points-unregistered"' not in body
    client.post(reverse("citizens:wish_confirm", args=[wish.pk]))
    wish.refresh_from_db()
    assert wish.resident == resident
    resident.refresh_from_db()
    confirmed = PointEntry.objects.get(rule__code="wish_confirmed")
    assert resident.person_id is not None and confirmed.person_id == resident.person_id


def test_a_wish_posted_for_a_mobile_typed_with_spaces_reaches_its_resident(wt, world):
    """The worker types "+86 138 …" as people say it: stored as the 11 digits the
    resident signs in with, so it is among their wishes."""
    from wishes import services as wish_services
    from wishes.selectors import own_wishes

    wish = wish_services.wish_post(
        area=world.u1,
        title="帮忙修水龙头",
        actor=world.users["community"],
        for_name="李阿姨",
        for_phone="+86 139 0000 1234",
    )
    assert wish.for_phone == "13900001234"
    account = account_for("13900001234")
    assert wish.pk in set(own_wishes(account).values_list("pk", flat=True))
