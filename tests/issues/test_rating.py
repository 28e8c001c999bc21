"""Evaluation (党群评议): satisfied closes, unsatisfied reopens; unrated tickets close as not
rated, never as satisfied; return visits (定期回访) are scheduled and logged."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from issues import services
from issues.models import Level, Notification, ReturnVisit, Ticket, TicketEvent
from issues.services import TicketError

from .helpers import events, local, ticket_in

S = Ticket.State
E = TicketEvent.Kind
R = Ticket.Rating


@pytest.fixture
def resolved(t):
    return ticket_in(t, S.RESOLVED)


@pytest.mark.parametrize("rating", [R.SATISFIED, R.BASIC])
def test_a_good_rating_closes_the_ticket(t, resolved, rating):
    services.ticket_rate(
        ticket=resolved, actor=t.user("community"), rating=rating, comment="谢谢单元长"
    )
    resolved.refresh_from_db()
    assert (resolved.state, resolved.rating, resolved.rating_comment) == (
        S.CLOSED,
        rating,
        "谢谢单元长",
    )
    assert resolved.closed_at is not None and resolved.resolved_level == Level.UNIT
    rate, close = events(resolved)[-2:]
    assert (rate.kind, close.kind) == (E.RATE, E.CLOSE)
    assert str(R(rating).label) in rate.note and "谢谢单元长" in rate.note
    assert rate.actor == close.actor == t.users["community"]


def test_unsatisfied_reopens_at_the_same_level_and_handler(t, resolved, freeze):
    handler = (resolved.level, resolved.handler_area_id)
    already = Notification.objects.count()
    moment = local(2025, 3, 3, 9)  # a Monday

    with freeze(moment):
        services.ticket_rate(
            ticket=resolved, actor=t.user("community"), rating=R.UNSATISFIED, comment="还是黑的"
        )

    resolved.refresh_from_db()
    assert resolved.state == S.IN_PROGRESS
    assert (resolved.level, resolved.handler_area_id) == handler
    assert resolved.reopen_count == 1
    assert (resolved.rating, resolved.rating_comment) == (R.UNSATISFIED, "还是黑的")
    assert resolved.resolved_at is None and resolved.resolved_level == ""
    assert resolved.deadline == services.working_deadline(moment, 3)  # the tier's time limit
    (reopen,) = events(resolved, E.REOPEN)
    assert (reopen.old_state, reopen.new_state, reopen.note) == (
        S.RESOLVED,
        S.IN_PROGRESS,
        "还是黑的",
    )
    assert reopen.actor == t.users["community"]
    told = Notification.objects.order_by("pk")[already:]
    assert [n.recipient for n in told] == [t.users["unit_head"]]


def test_a_reopened_ticket_can_be_resolved_and_closed_again(t, resolved):
    rater, head = t.user("community"), t.user("unit_head")
    services.ticket_rate(ticket=resolved, actor=rater, rating=R.UNSATISFIED)
    services.ticket_progress(ticket=resolved, actor=head, note="换了整条线路")
    services.ticket_resolve(ticket=resolved, actor=head, feedback="线路已换")
    services.ticket_rate(ticket=resolved, actor=rater, rating=R.SATISFIED)
    resolved.refresh_from_db()
    assert (resolved.state, resolved.rating, resolved.reopen_count) == (S.CLOSED, R.SATISFIED, 1)


@pytest.mark.parametrize("rating", [R.NOT_RATED, "great", ""])
def test_only_the_three_ratings_can_be_given(t, resolved, rating):
    with pytest.raises(ValidationError) as refused:
        services.ticket_rate(ticket=resolved, actor=t.user("community"), rating=rating)
    assert "rating" in refused.value.message_dict
    resolved.refresh_from_db()
    assert (resolved.state, resolved.rating) == (S.RESOLVED, "")


# --- closing unrated tickets ---------------------------------------------------------------


def test_an_unrated_ticket_closes_as_not_rated_after_the_rating_days(t, resolved):
    days = t.settings().rating_days
    assert days == 7
    due = resolved.resolved_at + dt.timedelta(days=days)

    assert services.tickets_close_unrated(now=due - dt.timedelta(minutes=1)) == 0
    assert services.tickets_close_unrated(now=due) == 0
    resolved.refresh_from_db()
    assert resolved.state == S.RESOLVED

    later = due + dt.timedelta(days=1)
    assert services.tickets_close_unrated(now=later) == 1
    resolved.refresh_from_db()
    assert (resolved.state, resolved.rating) == (S.CLOSED, R.NOT_RATED)
    assert resolved.rating != R.SATISFIED
    assert resolved.closed_at == later
    close = events(resolved)[-1]
    assert (close.kind, close.actor, close.old_state, close.new_state) == (
        E.CLOSE,
        None,
        S.RESOLVED,
        S.CLOSED,
    )
    assert str(days) in close.note

    assert services.tickets_close_unrated(now=later) == 0
    assert len(events(resolved, E.CLOSE)) == 1


def test_the_rating_days_come_from_the_settings(t, resolved):
    t.settings(rating_days=2)
    at = resolved.resolved_at
    assert services.tickets_close_unrated(now=at + dt.timedelta(days=1)) == 0
    assert services.tickets_close_unrated(now=at + dt.timedelta(days=3)) == 1


def test_open_and_rated_tickets_are_not_closed_as_unrated(t, resolved):
    reopened = ticket_in(t, S.RESOLVED)
    services.ticket_rate(ticket=reopened, actor=t.user("community"), rating=R.UNSATISFIED)
    closed = ticket_in(t, S.CLOSED)
    still_open = ticket_in(t, S.IN_PROGRESS)

    far = timezone.now() + dt.timedelta(days=60)
    assert services.tickets_close_unrated(now=far) == 1  # only ``resolved``

    for ticket, state in (
        (reopened, S.IN_PROGRESS),
        (closed, S.CLOSED),
        (still_open, S.IN_PROGRESS),
    ):
        ticket.refresh_from_db()
        assert ticket.state == state
    assert closed.rating == R.SATISFIED


# --- return visits -------------------------------------------------------------------------


def test_a_return_visit_is_scheduled_and_logged(t, resolved):
    worker = t.user("community")
    on = timezone.localdate() + dt.timedelta(days=7)

    visit = services.return_visit_schedule(ticket=resolved, actor=worker, on=on)

    assert (visit.ticket, visit.scheduled_for, visit.done_at) == (resolved, on, None)
    scheduled = events(resolved, E.RETURN_VISIT)
    assert len(scheduled) == 1 and on.isoformat() in scheduled[0].note
    assert scheduled[0].actor == worker

    services.return_visit_log(visit=visit, actor=worker, note="居民说灯一直很亮")

    visit.refresh_from_db()
    assert visit.done_at is not None and visit.note == "居民说灯一直很亮"
    assert visit.by == worker
    logged = events(resolved, E.RETURN_VISIT)[-1]
    assert (logged.note, logged.actor) == ("居民说灯一直很亮", worker)

    with pytest.raises(TicketError):
        services.return_visit_log(visit=visit, actor=worker, note="再记一次")
    assert len(events(resolved, E.RETURN_VISIT)) == 2


def test_a_closed_ticket_can_have_a_return_visit(t):
    closed = ticket_in(t, S.CLOSED)
    visit = services.return_visit_schedule(
        ticket=closed, actor=t.user("grid_head"), on=timezone.localdate()
    )
    assert ReturnVisit.objects.get() == visit


def test_a_return_visit_cannot_be_scheduled_in_the_past(t, resolved):
    with pytest.raises(ValidationError):
        services.return_visit_schedule(
            ticket=resolved,
            actor=t.user("community"),
            on=timezone.localdate() - dt.timedelta(days=1),
        )
    assert not ReturnVisit.objects.exists()


@pytest.mark.parametrize("persona", ["outsider", "department"])
def test_a_return_visit_is_only_for_people_over_the_place(t, resolved, persona):
    with pytest.raises(PermissionDenied):
        services.return_visit_schedule(
            ticket=resolved, actor=t.user(persona), on=timezone.localdate()
        )
    visit = services.return_visit_schedule(
        ticket=resolved, actor=t.user("community"), on=timezone.localdate()
    )
    with pytest.raises(PermissionDenied):
        services.return_visit_log(visit=visit, actor=t.user(persona), note="不是我的")
    visit.refresh_from_db()
    assert visit.done_at is None
