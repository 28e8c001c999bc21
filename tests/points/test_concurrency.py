"""Redemptions at once (PostgreSQL, threads): two of the last item, or two that together
cost more than the balance — one wins, the other gets a clear refusal, nothing goes below
zero, and the ledger still sums to every balance. The same act awarded twice at once is
awarded once."""

import importlib
import threading

import pytest
from django.db import connection, transaction

from points import services
from points.models import PointEntry, PointRule
from points.services import NotEnoughPoints, OutOfStock

from .conftest import assert_ledger_sums_to_every_balance, balance_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _rules():
    """The seeded rules (a transactional test before this one emptied the table)."""
    for code, points, description in importlib.import_module("points.migrations.0002_rules").RULES:
        PointRule.objects.get_or_create(
            code=code, defaults={"points": points, "description": description}
        )


class Racer(threading.Thread):
    def __init__(self, act):
        super().__init__(daemon=True)
        self.act, self.error, self.result = act, None, None

    def run(self):
        try:
            self.result = self.act()
        except Exception as exc:  # kept for the test to judge
            self.error = exc
        finally:
            connection.close()


def _race(*racers, timeout=30):
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout)
        assert not racer.is_alive(), "a thread hung on a row lock"
    return racers


def _saver(world, key, points):
    from residents.services import resident_person_ensure

    person = resident_person_ensure(resident=world.residents[key])
    services.points_adjust(
        person=person, amount=points, reason="测试储蓄", actor=world.users["community"]
    )
    return person


def _holding_first(act_first, act_second):
    """``act_first`` in a transaction kept open a moment after its writes; ``act_second``
    starts once the first holds its locks."""
    holding = threading.Event()

    def first():
        with transaction.atomic():
            result = act_first()
            holding.set()
            threading.Event().wait(0.5)
        return result

    def second():
        holding.wait(10)
        return act_second()

    return _race(Racer(first), Racer(second))


def test_two_redemptions_of_the_last_item(world):
    one, two = _saver(world, "U1", 10), _saver(world, "U2", 10)
    item = services.reward_item_create(
        community=world.community_a, name="大米", cost=5, stock=1, actor=world.users["community"]
    )
    worker = world.users["community"]
    first, second = _holding_first(
        lambda: services.reward_redeem(item=item, person=one, actor=worker),
        lambda: services.reward_redeem(item=item, person=two, actor=worker),
    )
    assert first.error is None
    assert isinstance(second.error, OutOfStock) and "大米" in second.error.messages[0]
    item.refresh_from_db()
    assert item.stock == 0
    assert (balance_of(one), balance_of(two)) == (5, 10)
    assert PointEntry.objects.filter(kind="redemption").count() == 1
    assert_ledger_sums_to_every_balance()


def test_two_redemptions_beyond_the_balance(world):
    person = _saver(world, "U1", 8)
    worker = world.users["community"]
    oil = services.reward_item_create(
        community=world.community_a, name="食用油", cost=5, stock=10, actor=worker
    )
    soap = services.reward_item_create(
        community=world.community_a, name="香皂", cost=4, stock=10, actor=worker
    )
    first, second = _holding_first(
        lambda: services.reward_redeem(item=oil, person=person, actor=worker),
        lambda: services.reward_redeem(item=soap, person=person, actor=worker),
    )
    assert first.error is None
    assert isinstance(second.error, NotEnoughPoints)
    assert balance_of(person) == 3
    oil.refresh_from_db()
    soap.refresh_from_db()
    assert (oil.stock, soap.stock) == (9, 10)
    assert_ledger_sums_to_every_balance()


def test_many_redemptions_at_once_never_go_below_zero(world):
    person = _saver(world, "U1", 10)
    worker = world.users["community"]
    item = services.reward_item_create(
        community=world.community_a, name="毛巾", cost=3, stock=100, actor=worker
    )
    gate = threading.Barrier(6)

    def act():
        gate.wait()
        return services.reward_redeem(item=item, person=person, actor=worker)

    racers = _race(*(Racer(act) for _ in range(6)))
    won = [r for r in racers if r.error is None]
    assert len(won) == 3  # 3 × 3 points of 10
    assert all(isinstance(r.error, NotEnoughPoints) for r in racers if r.error is not None)
    assert balance_of(person) == 1
    item.refresh_from_db()
    assert item.stock == 97
    assert_ledger_sums_to_every_balance()


def test_one_act_awarded_at_once_is_awarded_once(world):
    person = world.persons["unit_head"]
    gate = threading.Barrier(4)

    def act():
        gate.wait()
        return services.points_award(
            person=person, rule="good_deed", act_key="deed:race", area=world.u1
        )

    racers = _race(*(Racer(act) for _ in range(4)))
    assert all(r.error is None for r in racers)
    assert sum(r.result is not None for r in racers) == 1
    assert PointEntry.objects.filter(act_key="deed:race").count() == 1
    assert balance_of(person) == 2
    assert_ledger_sums_to_every_balance()
