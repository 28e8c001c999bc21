"""The ledger: once per act, reversal, the ledger summing to every balance, manual entries
by the authorised roles with a reason, and the person a resident earns points through."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from points import services
from points.models import PointBalance, PointEntry, PointRule
from points.services import NotEnoughPoints, PointsError
from residents.services import visit_act_key

from .conftest import assert_ledger_sums_to_every_balance, balance_of, ledger_sum

K = PointEntry.Kind


def test_the_rules_are_seeded_with_names_in_chinese(db):
    rules = {r.code: r for r in PointRule.objects.all()}
    assert set(rules) >= {
        "visit_logged",
        "problem_solved_own_level",
        "rated_satisfied",
        "wish_fulfilled",
        "wish_confirmed",
        "meeting_attended",
        "volunteer_hours",
        "good_deed",
    }
    assert str(rules["visit_logged"].label) == "入户走访"
    assert all(r.points > 0 and r.active for r in rules.values())


def test_an_act_awards_once(world):
    person = world.persons["unit_head"]
    first = services.points_award(person=person, rule="good_deed", act_key="act:1", area=world.u1)
    again = services.points_award(person=person, rule="good_deed", act_key="act:1", area=world.u1)
    assert first is not None and first.amount == 2
    assert again is None
    assert PointEntry.objects.filter(act_key="act:1").count() == 1
    assert balance_of(person) == 2
    # the place of the act, by its ancestor keys
    assert (first.community_id, first.grid_id) == (world.community_a.pk, world.g1.pk)
    assert_ledger_sums_to_every_balance()


def test_the_database_refuses_a_second_award_of_one_act(world):
    person = world.persons["unit_head"]
    entry = services.points_award(person=person, rule="good_deed", act_key="act:2")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointEntry.objects.create(
            person=person, amount=2, kind=K.AWARD, rule=entry.rule, act_key="act:2"
        )


def test_a_rule_switched_off_or_absent_awards_nothing(world):
    person = world.persons["unit_head"]
    PointRule.objects.filter(code="good_deed").update(active=False)
    assert services.points_award(person=person, rule="good_deed", act_key="x:1") is None
    assert services.points_award(person=person, rule="no_such_rule", act_key="x:1") is None
    assert not PointEntry.objects.exists()


def test_quantity_multiplies_the_rule(world):
    PointRule.objects.filter(code="volunteer_hours").update(points=2)
    entry = services.points_award(
        person=world.persons["grid_head"], rule="volunteer_hours", act_key="h:1", quantity="2.5"
    )
    assert entry.amount == 5


def test_reversal_undoes_an_award_once(world):
    person = world.persons["unit_head"]
    entry = services.points_award(person=person, rule="good_deed", act_key="act:3")
    reversal = services.points_reverse(rule="good_deed", act_key="act:3", reason="弄错了")
    assert (reversal.kind, reversal.amount, reversal.reverses_id) == (K.REVERSAL, -2, entry.pk)
    assert services.points_reverse(rule="good_deed", act_key="act:3", reason="again") is None
    assert services.points_reverse(rule="good_deed", act_key="none", reason="none") is None
    assert balance_of(person) == 0
    # the act stays done: awarding it again gives nothing
    assert services.points_award(person=person, rule="good_deed", act_key="act:3") is None
    assert_ledger_sums_to_every_balance()


def test_a_reversal_of_spent_points_takes_what_is_left(world):
    person = world.persons["unit_head"]
    services.points_award(person=person, rule="good_deed", act_key="act:4", area=world.u1)
    services.points_adjust(person=person, amount=-1, reason="扣分", actor=world.users["community"])
    reversal = services.points_reverse(rule="good_deed", act_key="act:4", reason="撤销")
    assert reversal.amount == -1
    assert balance_of(person) == 0
    assert_ledger_sums_to_every_balance()


def test_a_manual_entry_needs_a_reason_and_the_role(world):
    person = world.persons["unit_head"]
    services.points_award(person=person, rule="good_deed", act_key="act:5", area=world.u1)
    with pytest.raises(PointsError):
        services.points_adjust(person=person, amount=5, reason="  ", actor=world.users["community"])
    for persona in ("grid_head", "building_head", "unit_head", "outsider", "department"):
        with pytest.raises(PermissionDenied):
            services.points_adjust(
                person=person, amount=5, reason="表现好", actor=world.users[persona]
            )
    for persona in ("community", "street", "county", "admin"):
        services.points_adjust(person=person, amount=1, reason="表现好", actor=world.users[persona])
    assert balance_of(person) == 6
    with pytest.raises(IntegrityError), transaction.atomic():
        PointEntry.objects.create(person=person, amount=3, kind=K.MANUAL, reason="")
    assert_ledger_sums_to_every_balance()


def test_a_deduction_never_takes_the_balance_below_zero(world):
    person = world.persons["unit_head"]
    services.points_award(person=person, rule="good_deed", act_key="act:6", area=world.u1)
    with pytest.raises(NotEnoughPoints):
        services.points_adjust(
            person=person, amount=-3, reason="扣分", actor=world.users["community"]
        )
    assert balance_of(person) == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        PointBalance.objects.filter(person=person).update(balance=-1)
    assert ledger_sum(person) == 2


def test_resident_person_ensure_links_once_and_counts_at_the_household(world):
    from residents.services import resident_person_ensure

    resident = world.residents["U1"]
    person = resident_person_ensure(resident=resident)
    assert resident_person_ensure(resident=resident) == person
    resident.refresh_from_db()
    assert resident.person == person
    assert (person.name, person.phone) == (resident.name, resident.phone)
    home = PointBalance.objects.get(person=person)
    assert (home.area_id, home.community_id) == (world.u1.pk, world.community_a.pk)


def test_resident_person_ensure_takes_the_person_holding_the_number(world):
    from grids.services import person_get_or_create
    from residents.services import resident_person_ensure

    resident = world.residents["U2"]
    existing = person_get_or_create(name="居民U2", phone=resident.phone)
    assert resident_person_ensure(resident=resident) == existing

    # a number whose person is another resident's: a person of their own, without it
    other = world.residents["U3"]
    other.phone = resident.phone
    other.save(update_fields=["phone"])
    person = resident_person_ensure(resident=other)
    assert person != existing and person.phone == ""


def test_visit_log_awards_the_visitor_once_per_household_and_day(world):
    """A form sent twice, or a day's visits to one household logged one by one, earn
    visit_logged once; the next day's visit, or another household's, earns again."""
    import datetime as dt

    from django.utils import timezone

    from residents.services import visit_log

    visitor = world.persons["unit_head"]
    visit = visit_log(household=world.households["U1"], visitor=visitor)
    entry = PointEntry.objects.get(act_key=visit_act_key(visit))
    assert (entry.person, entry.rule.code, entry.amount) == (visitor, "visit_logged", 1)
    assert entry.area_id == world.u1.pk
    visit_log(household=world.households["U1"], visitor=visitor)  # the same day again
    assert balance_of(visitor) == 1
    yesterday = timezone.now() - dt.timedelta(days=1)
    visit_log(household=world.households["U1"], visitor=visitor, visited_at=yesterday)
    visit_log(household=world.households["U2"], visitor=visitor)
    assert balance_of(visitor) == 3


def test_a_head_is_counted_at_their_post_wherever_the_act_was(world):
    services.points_award(
        person=world.persons["grid_head"], rule="good_deed", act_key="p:1", area=world.u1
    )
    services.points_award(
        person=world.persons["street"], rule="good_deed", act_key="p:2", area=world.u4
    )
    homes = dict(PointBalance.objects.values_list("person_id", "area_id"))
    assert homes[world.persons["grid_head"].pk] == world.g1.pk
    assert homes[world.persons["street"].pk] == world.street.pk
    # the act keeps its own place
    assert PointEntry.objects.get(act_key="p:2").community_id == world.community_b.pk
