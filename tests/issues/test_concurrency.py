"""Two people act on one ticket at once: the row lock and the version keep every move, and a
page loaded before someone else's change is refused, not silently applied."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from issues import services
from issues.models import Level, Notification, Ticket, TicketEvent
from issues.rules import SYSTEM
from issues.services import Part, StaleTicket, TicketError

from .helpers import events, ticket_in

S = Ticket.State
E = TicketEvent.Kind


def test_a_stale_version_is_refused_and_changes_nothing(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    seen = ticket.version
    services.ticket_progress(ticket=ticket, actor=t.user("unit_head"), note="先联系物业")
    count = len(events(ticket))

    for move in (
        lambda u: services.ticket_progress(
            ticket=ticket, actor=u, note="重复", expected_version=seen
        ),
        lambda u: services.ticket_resolve(
            ticket=ticket, actor=u, feedback="好了", expected_version=seen
        ),
        lambda u: services.ticket_escalate(ticket=ticket, actor=u, expected_version=seen),
    ):
        with pytest.raises(StaleTicket) as refused:
            move(t.user("unit_head"))
        assert refused.value.messages

    ticket.refresh_from_db()
    assert (ticket.state, ticket.version) == (S.IN_PROGRESS, seen + 1)
    assert len(events(ticket)) == count

    services.ticket_progress(
        ticket=ticket, actor=t.user("unit_head"), note="换新灯", expected_version=seen + 1
    )
    ticket.refresh_from_db()
    assert ticket.version == seen + 2


class Racer(threading.Thread):
    """Runs ``act`` on its own database connection; keeps what it returned or raised."""

    def __init__(self, act):
        super().__init__(daemon=True)
        self.act = act
        self.error = None
        self.moves = 0

    def run(self):
        try:
            self.moves = self.act()
        except Exception as exc:  # kept for the test to judge
            self.error = exc
        finally:
            connection.close()


def _race(*racers, timeout=30):
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout)
        assert not racer.is_alive(), "a thread hung on the row lock"
    return racers


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_adding_progress_lose_no_update(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    start_version, start_events = ticket.version, len(events(ticket))
    gate = threading.Barrier(2)
    rounds = 5

    def worker(persona):
        def act():
            actor = t.user(persona)
            gate.wait()
            for i in range(rounds):
                services.ticket_progress(ticket=ticket, actor=actor, note=f"{persona} 第{i}次")
            return rounds

        return act

    head, admin = _race(Racer(worker("unit_head")), Racer(worker("admin")))

    assert head.error is None and admin.error is None
    ticket.refresh_from_db()
    assert ticket.version == start_version + head.moves + admin.moves == start_version + 10
    progress = events(ticket, E.PROGRESS)
    assert len(events(ticket)) == start_events + 10
    assert {e.note for e in progress} == {
        f"{p} 第{i}次" for p in ("unit_head", "admin") for i in range(rounds)
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_second_waits_on_the_row_lock_then_moves_on_the_fresh_row(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    start = ticket.version
    holding = threading.Event()
    order = []

    def first():
        with transaction.atomic():
            services.ticket_progress(ticket=ticket, actor=t.user("unit_head"), note="先到")
            holding.set()
            # keep the row locked while the other thread asks for it
            threading.Event().wait(0.5)
            order.append("first commits")
        return 1

    def second():
        holding.wait(10)
        order.append("second asks")
        services.ticket_progress(ticket=ticket, actor=t.user("admin"), note="后到")
        order.append("second done")
        return 1

    one, two = _race(Racer(first), Racer(second))

    assert one.error is None and two.error is None
    assert order == ["second asks", "first commits", "second done"]
    ticket.refresh_from_db()
    assert ticket.version == start + 2
    assert [e.note for e in events(ticket, E.PROGRESS)] == ["先到", "后到"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_resolve_and_escalate_at_once_the_loser_is_refused(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    seen = ticket.version  # both pages were loaded at this version
    holding = threading.Event()

    def resolve():
        with transaction.atomic():
            services.ticket_resolve(
                ticket=ticket, actor=t.user("unit_head"), feedback="修好了", expected_version=seen
            )
            holding.set()
            threading.Event().wait(0.3)
        return 1

    def escalate():
        holding.wait(10)
        services.ticket_escalate(
            ticket=ticket, actor=t.user("building_head"), expected_version=seen
        )
        return 1

    winner, loser = _race(Racer(resolve), Racer(escalate))

    assert winner.error is None
    assert isinstance(loser.error, StaleTicket)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.version, ticket.escalation_count) == (S.RESOLVED, seen + 1, 0)
    assert not events(ticket, E.ESCALATE)
    assert len(events(ticket, E.RESOLVE)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_overdue_job_racing_a_resolve_never_lifts_a_resolved_ticket(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    gate = threading.Barrier(2)

    def resolve():
        gate.wait()
        services.ticket_resolve(ticket=ticket, actor=t.user("unit_head"), feedback="修好了")
        return 1

    def lift():
        gate.wait()
        try:
            services.ticket_escalate(ticket=ticket, actor=SYSTEM, overdue=True)
        except TicketError:
            return 0
        return 1

    resolver, lifter = _race(Racer(resolve), Racer(lift))

    assert lifter.error is None
    ticket.refresh_from_db()
    moves = resolver.moves + lifter.moves
    assert ticket.version == 3 + moves  # reported 1, assigned 2, accepted 3
    assert len(events(ticket, E.ESCALATE)) == lifter.moves
    assert moves == 1  # exactly one of them moved it
    if resolver.error is None:  # resolved first: the job found nothing to lift
        assert (ticket.state, ticket.escalation_count) == (S.RESOLVED, 0)
    else:  # lifted first: the unit head no longer holds it
        assert isinstance(resolver.error, PermissionDenied)
        assert (ticket.state, ticket.escalation_count) == (S.ASSIGNED, 1)
        assert ticket.resolved_at is None
    assert len(events(ticket, E.RESOLVE)) == resolver.moves


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_departments_reporting_at_once_hand_it_to_the_review_exactly_once(t):
    t.settings(hard_via_street=False)
    ticket = t.report("U1", tier="hard")
    county = t.user("county")
    meeting = services.meeting_open(area=t.county, title="交办会", actor=county)
    deadline = timezone.now() + dt.timedelta(days=5)
    services.meeting_assign(
        meeting=meeting,
        ticket=ticket,
        parts=[Part(department=t.housing, deadline=deadline), Part(t.water, deadline)],
        actor=county,
    )
    tasks = {task.department_id: task for task in ticket.tasks.all()}
    gate = threading.Barrier(2)

    def report(persona, department, text):
        def act():
            actor = t.user(persona)
            gate.wait()
            services.department_report(task=tasks[department.pk], actor=actor, report=text)
            return 1

        return act

    housing, water = _race(
        Racer(report("department", t.housing, "屋顶已修")),
        Racer(report("water", t.water, "水管已换")),
    )

    assert housing.error is None and water.error is None
    ticket.refresh_from_db()
    # Whichever came second saw the other's part reported: the problem went back to the
    # county office for review once, and nobody was told a result yet.
    assert (ticket.state, ticket.level) == (S.IN_PROGRESS, Level.COUNTY)
    assert set(ticket.tasks.values_list("status", flat=True)) == {"reported"}
    assert len(events(ticket, E.DEPARTMENT_REPORT)) == 2 and not events(ticket, E.RESOLVE)
    reviews = Notification.objects.filter(ticket=ticket, kind="review")
    assert list(reviews.values_list("recipient", flat=True)) == [t.users["county"].pk]
