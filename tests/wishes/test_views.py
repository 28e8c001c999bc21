"""The pages: allowed, outsider 404, wrong role 403, wrong method 405; the wish list's
filters and query counts at two sizes; the resident's and the claimer's pages."""

import pytest
from django.urls import reverse

from core.models import TextMessage
from points.models import PointEntry
from wishes import services
from wishes.models import Outcome, State, WishPhoto

from .conftest import as_resident, png

pytestmark = pytest.mark.django_db


def test_the_wish_list_by_role(wt, client):
    wish = wt.post()
    url = reverse("wishes:list")
    for persona in ("unit_head", "grid_head", "community", "street", "county", "admin"):
        client.force_login(wt.user(persona))
        page = client.get(url)
        assert page.status_code == 200, persona
        assert f'data-wish="{wish.pk}"' in page.content.decode(), persona
    client.force_login(wt.user("outsider"))  # 旴江社区: in post, not this wish's
    page = client.get(url)
    assert page.status_code == 200 and f'data-wish="{wish.pk}"' not in page.content.decode()
    assert client.get(reverse("wishes:detail", args=[wish.pk])).status_code == 404
    client.force_login(wt.user("department"))
    assert client.get(url).status_code == 403
    client.force_login(wt.member_user)  # a Party member without a post: their open wishes
    assert client.get(url).url == reverse("wishes:near")
    client.force_login(wt.user("community"))
    assert client.post(url).status_code == 405


def test_the_list_filters_by_state_outcome_and_area(wt, client):
    first = wt.post(title="第一个")
    second = wt.post(area=wt.w.u3, title="第二个")
    services.wish_sort(
        wish=second, outcome=Outcome.RENOVATION, note="纳入改造", actor=wt.user("community")
    )
    client.force_login(wt.user("community"))
    url = reverse("wishes:list")

    def listed(**query):
        body = client.get(url, query).content.decode()
        return {w.pk for w in (first, second) if f'data-wish="{w.pk}"' in body}

    assert listed() == {first.pk, second.pk}
    assert listed(state=State.OPEN) == {first.pk}
    assert listed(outcome=Outcome.RENOVATION) == {second.pk}
    assert listed(area=wt.w.g2.code) == {second.pk}
    assert listed(area=wt.w.g3.code) == set()  # out of scope: nothing, and a message


@pytest.mark.parametrize("size", [3, 30])
def test_the_list_reads_a_fixed_number_of_queries(wt, client, django_assert_max_num_queries, size):
    for i in range(size):
        wish = wt.post(area=(wt.w.u1, wt.w.u3)[i % 2], title=f"心愿{i}")
        if i % 3 == 0:
            services.wish_claim(wish=wish, person=wt.member)
    client.force_login(wt.user("community"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("wishes:list")).status_code == 200


def test_sorting_from_the_page(wt, client):
    wish = wt.post()
    url = reverse("wishes:sort", args=[wish.pk])
    data = {"outcome": Outcome.EXPLAINED, "note": "属于物业维修范围，已联系物业"}
    client.force_login(wt.user("unit_head"))
    assert client.post(url, data).status_code == 403
    client.force_login(wt.user("outsider"))
    assert client.post(url, data).status_code == 404
    client.force_login(wt.user("grid_head"))
    assert client.get(url).status_code == 405
    assert client.post(url, {"outcome": Outcome.EXPLAINED, "note": ""}).status_code == 400
    assert client.post(url, data).status_code == 302
    wish.refresh_from_db()
    assert (wish.state, wish.told) == (State.EXPLAINED, data["note"])
    assert TextMessage.objects.filter(text__contains=data["note"]).exists()


def test_a_worker_posts_for_a_resident(wt, client):
    url = reverse("wishes:new")
    client.force_login(wt.user("department"))
    assert client.get(url).status_code == 403
    client.force_login(wt.user("county"))  # the county office lists, it does not post
    assert client.get(url).status_code == 403
    client.force_login(wt.user("unit_head"))
    assert client.get(url).status_code == 200
    data = {"area": wt.w.u1.code, "title": "轮椅坏了", "for_name": "李大爷"}
    assert client.post(url, {**data, "area": wt.w.u4.code}).status_code == 400  # not theirs
    response = client.post(url, data)
    assert response.status_code == 302


def test_the_resident_posts_follows_and_confirms(wt, client):
    as_resident(client, wt.poster)
    assert client.get(reverse("citizens:wishes")).status_code == 200
    response = client.post(
        reverse("citizens:wish_new"),
        {"title": "想要一盏楼道灯", "place": wt.w.u1.pk, "photo": png()},
    )
    assert response.status_code == 302
    wish = wt.poster.wishes.get()
    assert wish.area == wt.w.u1
    page = client.get(reverse("citizens:wish", args=[wish.pk]))
    assert page.status_code == 200
    photo = WishPhoto.objects.get(wish=wish)
    assert client.get(reverse("citizens:wish_photo", args=[wish.pk, photo.pk])).status_code == 200
    services.wish_claim(wish=wish, person=wt.member)
    services.wish_fulfil(wish=wish, person=wt.member, note="已装好")
    confirm = reverse("citizens:wish_confirm", args=[wish.pk])
    assert client.get(confirm).status_code == 405
    assert client.post(confirm).status_code == 302
    wish.refresh_from_db()
    assert wish.state == State.CONFIRMED
    assert PointEntry.objects.filter(person=wt.member, rule__code="wish_fulfilled").exists()
    # another resident: a 404, the wish and its photo alike
    as_resident(client, wt.volunteer_account)
    assert client.get(reverse("citizens:wish", args=[wish.pk])).status_code == 404
    assert client.post(confirm).status_code == 404


def test_the_claimer_pages_on_r(wt, client):
    wish = wt.post(area=wt.w.u1)
    far = wt.post(area=wt.w.u4, title="远处的心愿")
    open_url = reverse("citizens:wishes_open")
    as_resident(client, wt.poster)  # no Party member, no volunteer
    assert client.get(open_url).status_code == 403
    as_resident(client, wt.member_account)
    body = client.get(open_url).content.decode()
    assert f'data-wish="{wish.pk}"' in body and f'data-wish="{far.pk}"' not in body
    act = reverse("citizens:wishes_open_act", args=[far.pk, "claim"])
    assert client.post(act).status_code == 404  # not near them
    act = reverse("citizens:wishes_open_act", args=[wish.pk, "claim"])
    assert client.get(act).status_code == 405
    assert client.post(act).status_code == 302
    wish.refresh_from_db()
    assert wish.claimer == wt.member
    fulfil = reverse("citizens:wishes_open_act", args=[wish.pk, "fulfil"])
    assert client.post(fulfil, {f"done{wish.pk}-note": ""}).status_code == 400
    response = client.post(fulfil, {f"done{wish.pk}-note": "送到了", f"done{wish.pk}-photo": png()})
    assert response.status_code == 302
    wish.refresh_from_db()
    assert wish.state == State.FULFILLED


def test_a_claim_already_taken_says_so(wt, client):
    wish = wt.post()
    services.wish_claim(wish=wish, person=wt.member2)
    as_resident(client, wt.member_account)
    response = client.post(
        reverse("citizens:wishes_open_act", args=[wish.pk, "claim"]), follow=True
    )
    # claimed by someone else: no longer open near them, so it is gone (404)
    assert response.status_code == 404


def test_the_worker_near_page(wt, client):
    wish = wt.post()
    client.force_login(wt.user("community"))  # no Party member
    assert client.get(reverse("wishes:near")).status_code == 403
    client.force_login(wt.member_user)
    assert f'data-wish="{wish.pk}"' in client.get(reverse("wishes:near")).content.decode()
    act = reverse("wishes:near_act", args=[wish.pk, "claim"])
    assert client.post(act).status_code == 302
    back = reverse("wishes:near_act", args=[wish.pk, "hand-back"])
    assert client.post(back, {f"back{wish.pk}-reason": "临时有事"}).status_code == 302
    wish.refresh_from_db()
    assert (wish.state, wish.claimer) == (State.OPEN, None)


def test_confirm_after_the_window_from_the_page(wt, client, clock):
    import datetime as dt

    wish = wt.post()
    services.wish_claim(wish=wish, person=wt.member)
    services.wish_fulfil(wish=wish, person=wt.member, note="已修好")
    url = reverse("wishes:confirm_late", args=[wish.pk])
    client.force_login(wt.user("unit_head"))
    assert client.post(url).status_code == 403
    client.force_login(wt.user("community"))
    client.post(url)
    wish.refresh_from_db()
    assert wish.state == State.FULFILLED  # still in the window
    clock.set(clock.moment + dt.timedelta(days=8))
    client.force_login(wt.user("community"))  # a week later the worker signs in again
    assert (
        'id="confirm-late-form"'
        in client.get(reverse("wishes:detail", args=[wish.pk])).content.decode()
    )
    client.post(url)
    wish.refresh_from_db()
    assert wish.state == State.CONFIRMED


def test_the_admin_shows_wishes_read_only(wt, client):
    wish = wt.post()
    client.force_login(wt.user("admin"))
    assert client.get(reverse("admin:wishes_wish_changelist")).status_code == 200
    assert client.get(reverse("admin:wishes_wish_change", args=[wish.pk])).status_code == 200
    assert client.post(reverse("admin:wishes_wish_delete", args=[wish.pk])).status_code == 403


def test_the_demo_builds_every_state_once(wt, world):
    from wishes import demo
    from wishes.models import Wish

    lines = []
    demo.load(lines.append)
    assert Wish.objects.count() == demo.PER_COMMUNITY  # 莲心社区: members and a worker
    states = set(Wish.objects.values_list("state", flat=True))
    assert states == set(State.values)
    assert not TextMessage.objects.filter(purpose=TextMessage.Purpose.REPORTER).exists()
    demo.load(lines.append)
    assert Wish.objects.count() == demo.PER_COMMUNITY
