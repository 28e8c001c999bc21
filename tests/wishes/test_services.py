"""The wish's steps through the services: the state table, claim / hand back / fulfil /
confirm, the confirmation window, points once on confirmation, the wish list's outcomes
with the resident told, and who is near a wish."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from core.models import TextMessage
from points.models import PointEntry
from wishes import rules, services
from wishes.models import Outcome, State, Wish, WishEvent, WishPhoto

from .conftest import png

S = State
E = WishEvent.Kind
pytestmark = pytest.mark.django_db


def kinds(wish):
    return list(
        WishEvent.objects.filter(wish=wish).order_by("at", "pk").values_list("kind", flat=True)
    )


def texts_to(phone):
    return list(
        TextMessage.objects.filter(number=f"+86{phone}")
        .order_by("pk")
        .values_list("text", flat=True)
    )


def test_the_state_table_allows_exactly_its_moves():
    assert rules.TRANSITIONS[S.OPEN] == {S.CLAIMED, S.FULFILLED, S.PLANNED, S.EXPLAINED}
    assert rules.TRANSITIONS[S.CLAIMED] == {S.OPEN, S.FULFILLED, S.PLANNED, S.EXPLAINED}
    assert rules.TRANSITIONS[S.FULFILLED] == {S.CONFIRMED}
    for ended in rules.ENDED_STATES:
        assert rules.TRANSITIONS[ended] == frozenset()
    # every step lands in a state, every outcome is a step
    assert set(rules.STEP_TO.values()) <= set(S.values)
    assert set(rules.OUTCOME_STEP) == set(Outcome.values)


def test_a_posted_wish_is_open_keyed_and_has_its_step(wt):
    wish = wt.post(text="腿脚不便", where="1栋1单元301", photo=png())
    assert wish.state == S.OPEN
    assert (wish.community_id, wish.grid_id) == (wt.w.community_a.pk, wt.w.g1.pk)
    assert wish.resident == wt.w.residents["U1"]
    assert kinds(wish) == [E.POST]
    assert WishPhoto.objects.get(wish=wish).role == WishPhoto.Role.WISH


def test_claim_hand_back_fulfil_confirm_awards_points_once(wt):
    wish = wt.post()
    wish = services.wish_claim(wish=wish, person=wt.member, account=wt.member_account)
    assert (wish.state, wish.claimer) == (S.CLAIMED, wt.member)
    with pytest.raises(ValidationError):
        services.wish_hand_back(wish=wish, person=wt.member, reason="  ")
    wish = services.wish_hand_back(wish=wish, person=wt.member, reason="这周出差")
    assert (wish.state, wish.claimer) == (S.OPEN, None)
    assert wish.claimed_at is not None  # it was claimed once: counted as claimed

    wish = services.wish_claim(wish=wish, person=wt.member2)
    with pytest.raises(services.WishError):  # only the claimer fulfils
        services.wish_fulfil(wish=wish, person=wt.member, note="送到了")
    wish = services.wish_fulfil(wish=wish, person=wt.member2, note="已送到家门口", photo=png())
    assert (wish.state, wish.fulfiller, wish.claimer) == (S.FULFILLED, wt.member2, None)
    assert any("已" in t or "面粉" in t for t in texts_to(wt.w.residents["U1"].phone))
    assert PointEntry.objects.count() == 0  # nothing before confirmation

    wish = services.wish_confirm(wish=wish, account=wt.poster)
    assert wish.state == S.CONFIRMED
    fulfilled = PointEntry.objects.get(rule__code="wish_fulfilled")
    assert (fulfilled.person, fulfilled.act_key) == (wt.member2, f"wish:{wish.pk}")
    confirmed = PointEntry.objects.get(rule__code="wish_confirmed")
    wt.w.residents["U1"].refresh_from_db()
    assert confirmed.person_id == wt.w.residents["U1"].person_id
    with pytest.raises(services.WishError):
        services.wish_confirm(wish=wish, account=wt.poster)
    services._award(wish)  # even awarding again awards nothing
    assert PointEntry.objects.count() == 2
    assert kinds(wish) == [E.POST, E.CLAIM, E.HAND_BACK, E.CLAIM, E.FULFIL, E.CONFIRM]


def test_illegal_moves_are_refused_and_change_nothing(wt):
    wish = wt.post()
    with pytest.raises(services.WishError):
        services.wish_confirm(wish=wish, account=wt.poster)  # open: nothing to confirm
    with pytest.raises(services.WishError):
        services.wish_hand_back(wish=wish, person=wt.member, reason="x")
    services.wish_sort(
        wish=wish, outcome=Outcome.EXPLAINED, note="产权单位负责", actor=wt.user("community")
    )
    with pytest.raises(services.WishError):
        services.wish_claim(wish=wish, person=wt.member)
    wish.refresh_from_db()
    assert wish.state == S.EXPLAINED
    assert kinds(wish) == [E.POST, E.EXPLAIN]


def test_a_second_claim_is_told_it_was_claimed(wt):
    wish = wt.post()
    services.wish_claim(wish=wish, person=wt.member)
    with pytest.raises(services.AlreadyClaimed) as refused:
        services.wish_claim(wish=wish, person=wt.member2)
    assert "已被他人认领" in " ".join(refused.value.messages)


def test_near_is_the_community_of_registration_or_the_teams_area(wt):
    in_a = wt.post(area=wt.w.u3)  # 莲心社区, grid 2
    in_b = wt.post(area=wt.w.u4)  # 旴江社区
    with pytest.raises(services.WishError):
        services.wish_claim(wish=in_b, person=wt.member)  # registered at 莲心社区
    with pytest.raises(services.WishError):
        services.wish_claim(wish=in_a, person=wt.volunteer)  # the team serves 旴江's grid
    services.wish_claim(wish=in_b, person=wt.volunteer)
    services.wish_claim(wish=in_a, person=wt.member)
    # the posted_by resident is never near their own wish
    own = services.wish_post(area=wt.w.u3, title="修楼道灯", account=wt.member_account)
    with pytest.raises(services.WishError):
        services.wish_claim(wish=own, person=wt.member)


@pytest.mark.parametrize(
    ("outcome", "state", "said"),
    [
        (Outcome.DONE_AT_ONCE, S.FULFILLED, "垃圾箱已挪到路口"),
        (Outcome.RENOVATION, S.PLANNED, "纳入2026年老旧小区改造"),
        (Outcome.EXPLAINED, S.EXPLAINED, "该处属市政道路, 已转交"),
    ],
)
def test_the_wish_list_sorts_and_tells_the_resident(wt, outcome, state, said):
    wish = wt.post()
    services.wish_claim(wish=wish, person=wt.member)
    with pytest.raises(ValidationError):
        services.wish_sort(wish=wish, outcome=outcome, note=" ", actor=wt.user("grid_head"))
    wish = services.wish_sort(wish=wish, outcome=outcome, note=said, actor=wt.user("grid_head"))
    assert (wish.state, wish.outcome, wish.told, wish.claimer) == (state, outcome, said, None)
    assert any(said in text for text in texts_to(wt.w.residents["U1"].phone))
    if outcome == Outcome.DONE_AT_ONCE:
        assert wish.fulfiller == wt.w.persons["grid_head"]
        services.wish_confirm(wish=wish, account=wt.poster)
        assert PointEntry.objects.filter(
            rule__code="wish_fulfilled", person=wt.w.persons["grid_head"]
        ).exists()


def test_sorting_needs_a_post_that_sorts_over_the_place(wt):
    wish = wt.post()
    for persona in ("unit_head", "building_head", "county", "outsider"):
        with pytest.raises(services.WishError):
            services.wish_sort(
                wish=wish, outcome=Outcome.EXPLAINED, note="不行", actor=wt.user(persona)
            )
    assert Wish.objects.get(pk=wish.pk).state == S.OPEN


def test_a_worker_confirms_only_after_the_window(wt, clock, settings):
    settings.WISHES_CONFIRM_DAYS = 7
    wish = wt.post()
    services.wish_claim(wish=wish, person=wt.member)
    wish = services.wish_fulfil(wish=wish, person=wt.member, note="修好了")
    clock.set(clock.moment + dt.timedelta(days=6, hours=23))
    with pytest.raises(services.WishError):
        services.wish_confirm_late(wish=wish, actor=wt.user("community"))
    clock.set(clock.moment + dt.timedelta(hours=2))
    with pytest.raises(services.WishError):  # a unit head may not
        services.wish_confirm_late(wish=wish, actor=wt.user("unit_head"))
    wish = services.wish_confirm_late(wish=wish, actor=wt.user("community"))
    assert wish.state == S.CONFIRMED
    assert kinds(wish)[-1] == E.CONFIRM_LATE
    assert PointEntry.objects.filter(rule__code="wish_fulfilled", person=wt.member).count() == 1


def test_a_worker_posts_for_a_resident_who_then_sees_it(wt):
    wish = services.wish_post(
        area=wt.w.u1,
        title="想学用智能手机",
        actor=wt.user("unit_head"),
        for_name="张奶奶",
        for_phone="13512345678",
    )
    assert (wish.posted_by, wish.account, wish.who) == (wt.user("unit_head"), None, "张奶奶")
    from wishes.selectors import own_wishes

    from .conftest import account_for

    account = account_for("13512345678")
    assert list(own_wishes(account)) == [wish]
    with pytest.raises(services.WishError):  # out of the outsider's scope
        services.wish_post(area=wt.w.u1, title="x", actor=wt.user("outsider"), for_name="某")
    with pytest.raises(ValidationError):  # whose wish?
        services.wish_post(area=wt.w.u1, title="x", actor=wt.user("unit_head"))
