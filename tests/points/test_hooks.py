"""Points awarded by the services that do the acts: a problem solved at the solver's own
level, a satisfied rating, and their reversal when the problem is reopened."""

from issues import services
from issues.models import Ticket
from issues.rules import ReporterActor
from points.models import PointEntry

from .conftest import assert_ledger_sums_to_every_balance, balance_of


def _resolved_by_unit_head(t):
    ticket = t.report(tier="simple")
    services.ticket_accept(ticket=ticket, actor=t.user("unit_head"))
    services.ticket_resolve(ticket=ticket, actor=t.user("unit_head"), feedback="灯已换好")
    ticket.refresh_from_db()
    return ticket


def _as_reporter(ticket):
    return ReporterActor(ticket.reporters.order_by("pk").first())


def test_solving_at_ones_own_level_awards_the_solver_once(t):
    ticket = _resolved_by_unit_head(t)
    head = t.persons["unit_head"]
    entry = PointEntry.objects.get(rule__code="problem_solved_own_level")
    assert (entry.person, entry.amount, entry.act_key) == (head, 3, f"ticket:{ticket.pk}:solved:0")
    assert entry.area_id == ticket.area_id
    assert balance_of(head) == 3


def test_lifted_one_level_the_solver_there_earns_the_points(t):
    ticket = t.report(tier="simple")
    services.ticket_escalate(ticket=ticket, actor=t.user("unit_head"))
    ticket.refresh_from_db()
    services.ticket_resolve(ticket=ticket, actor=t.user("building_head"), feedback="楼栋长处理")
    entry = PointEntry.objects.get(rule__code="problem_solved_own_level")
    assert entry.person == t.persons["building_head"]
    assert balance_of(t.persons["unit_head"]) == 0


def test_the_system_solving_earns_nobody_anything(t):
    from issues.rules import SYSTEM

    ticket = t.report(tier="simple")
    services.ticket_resolve(ticket=ticket, actor=SYSTEM, feedback="已处理")
    assert not PointEntry.objects.exists()


def test_a_satisfied_rating_awards_the_solver(t):
    ticket = _resolved_by_unit_head(t)
    services.ticket_rate(ticket=ticket, actor=_as_reporter(ticket), rating="satisfied")
    entry = PointEntry.objects.get(rule__code="rated_satisfied")
    assert (entry.person, entry.amount) == (t.persons["unit_head"], 2)
    assert balance_of(t.persons["unit_head"]) == 5
    ticket.refresh_from_db()
    assert ticket.state == Ticket.State.CLOSED


def test_basically_satisfied_earns_no_rating_points(t):
    ticket = _resolved_by_unit_head(t)
    services.ticket_rate(ticket=ticket, actor=_as_reporter(ticket), rating="basic")
    assert not PointEntry.objects.filter(rule__code="rated_satisfied").exists()


def test_reopened_reverses_the_solution_and_solving_again_is_a_new_act(t):
    ticket = _resolved_by_unit_head(t)
    head = t.persons["unit_head"]
    services.ticket_rate(ticket=ticket, actor=_as_reporter(ticket), rating="unsatisfied")
    reversal = PointEntry.objects.get(kind=PointEntry.Kind.REVERSAL)
    assert reversal.reverses.act_key == f"ticket:{ticket.pk}:solved:0"
    assert balance_of(head) == 0

    services.ticket_resolve(ticket=ticket, actor=t.user("unit_head"), feedback="重新换了灯")
    ticket.refresh_from_db()
    services.ticket_rate(ticket=ticket, actor=_as_reporter(ticket), rating="satisfied")
    assert balance_of(head) == 5
    keys = set(
        PointEntry.objects.filter(kind=PointEntry.Kind.AWARD).values_list("act_key", flat=True)
    )
    assert keys == {
        f"ticket:{ticket.pk}:solved:0",
        f"ticket:{ticket.pk}:solved:1",
        f"ticket:{ticket.pk}:rated:{ticket.reporters.get().pk}:1",
    }
    assert_ledger_sums_to_every_balance()
