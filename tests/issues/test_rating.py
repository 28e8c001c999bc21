"""Evaluation (党群评议): satisfied closes, unsatisfied reopens; unrated tickets close as not
rated, never as satisfied; return visits (定期回访) are scheduled and logged. The rating is
the reporter's: given by them (``ReporterActor``) or on a return call by someone who did not
work on the problem -- the community worker here, never the unit head who handled it."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from core.models import TextMessage
from issues import permissions as perm
from issues import services
from issues.models import Level, Notification, ReturnVisit, Ticket, TicketEvent
from issues.rules import SYSTEM, ReporterActor
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


# --- who may rate (issue 11 point 4): the reporter, or a return call by a non-handler ------


def _message(refused) -> str:
    return " ".join(refused.value.messages)


def test_the_handler_is_refused_with_a_clear_message(t, resolved):
    with translation.override("en"), pytest.raises(TicketError) as refused:
        services.ticket_rate(ticket=resolved, actor=t.user("unit_head"), rating=R.SATISFIED)
    assert "you worked on this problem" in _message(refused)
    assert "the rating is the reporter's" in _message(refused)
    resolved.refresh_from_db()
    assert (resolved.state, resolved.rating) == (S.RESOLVED, "")
    assert not events(resolved, E.RATE)


def test_anyone_who_worked_on_it_is_refused_even_after_it_moved_on(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    services.ticket_progress(ticket=ticket, actor=t.user("unit_head"), note="联系了物业")
    services.ticket_escalate(ticket=ticket, actor=t.user("unit_head"), note="需要楼栋长")
    services.ticket_resolve(ticket=ticket, actor=t.user("building_head"), feedback="修好了")
    for persona in ("unit_head", "building_head"):  # no longer the handler; the handler
        with pytest.raises(TicketError):
            services.ticket_rate(ticket=ticket, actor=t.user(persona), rating=R.SATISFIED)
        assert perm.RATE not in perm.ticket_actions(t.user(persona), ticket)
    services.ticket_rate(ticket=ticket, actor=t.user("grid_head"), rating=R.SATISFIED)
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED


def test_the_triager_is_refused_too(t):
    """Triage is a step on the problem: whoever assigned it may not rate it (nor reminded it:
    supervision is one too); the first asker who only recorded the report may."""
    ticket = t.report(actor=t.user("grid_head"))
    services.ticket_assign(ticket=ticket, tier="simple", actor=t.user("community"))
    services.ticket_remind(ticket=ticket, actor=t.user("street"), note="抓紧")
    services.ticket_resolve(ticket=ticket, actor=t.user("unit_head"), feedback="修好了")
    ticket.refresh_from_db()
    for persona in ("community", "street"):
        assert perm.has_worked_on(t.user(persona), ticket)
        assert perm.RATE not in perm.ticket_actions(t.user(persona), ticket)
        with translation.override("en"), pytest.raises(TicketError) as refused:
            services.ticket_rate(ticket=ticket, actor=t.user(persona), rating=R.SATISFIED)
        assert "you worked on this problem" in _message(refused)
    ticket.refresh_from_db()
    assert ticket.state == S.RESOLVED and not events(ticket, E.RATE)
    # The grid head only recorded the report (the first asker): the return call is theirs.
    first_asker = t.user("grid_head")
    assert ticket.first_asker_id == first_asker.pk
    assert not perm.has_worked_on(first_asker, ticket)
    assert perm.RATE in perm.ticket_actions(first_asker, ticket)
    services.ticket_rate(ticket=ticket, actor=first_asker, rating=R.SATISFIED)
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED


def test_the_merger_is_refused_on_the_problem_merged_into(t):
    target = t.report(tier="simple")
    duplicate = t.report()
    services.ticket_merge(ticket=duplicate, into=target, actor=t.user("community"))
    services.ticket_resolve(ticket=target, actor=t.user("unit_head"), feedback="修好了")
    target.refresh_from_db()
    assert perm.has_worked_on(t.user("community"), target)
    assert perm.RATE not in perm.ticket_actions(t.user("community"), target)
    assert perm.RATE in perm.ticket_actions(t.user("grid_head"), target)


def test_a_return_caller_may_log_each_reporter_of_a_merged_problem(t):
    """Logging one reporter's rating is no work on the problem: the same caller logs the
    next one's."""
    target = t.report(tier="simple")
    duplicate = t.report(reporter=t.residents["U2"])
    services.ticket_merge(ticket=duplicate, into=target, actor=t.user("community"))
    services.ticket_resolve(ticket=target, actor=t.user("unit_head"), feedback="修好了")
    first, second = target.reporters.order_by("pk")
    caller = t.user("grid_head")
    services.ticket_rate(ticket=target, actor=caller, rating=R.SATISFIED, reporter=first)
    services.ticket_rate(ticket=target, actor=caller, rating=R.BASIC, reporter=second)
    target.refresh_from_db()
    assert (target.state, target.rating) == (S.CLOSED, R.BASIC)


def test_the_system_is_refused(t, resolved):
    with pytest.raises(TicketError):
        services.ticket_rate(ticket=resolved, actor=SYSTEM, rating=R.SATISFIED)
    resolved.refresh_from_db()
    assert resolved.state == S.RESOLVED


def test_the_reporter_rates_it_themselves(t, resolved):
    reporter = resolved.reporters.get()
    services.ticket_rate(
        ticket=resolved, actor=ReporterActor(reporter), rating=R.SATISFIED, comment="很快"
    )
    resolved.refresh_from_db()
    reporter.refresh_from_db()
    assert (resolved.state, resolved.rating, resolved.rating_source) == (
        S.CLOSED,
        R.SATISFIED,
        Ticket.RatingSource.RESIDENT,
    )
    assert (reporter.rating, reporter.rating_source, reporter.rating_caller) == (
        R.SATISFIED,
        Ticket.RatingSource.RESIDENT,
        None,
    )
    assert reporter.rated_at is not None
    rate, close = events(resolved)[-2:]
    assert (rate.kind, rate.actor, rate.reporter) == (E.RATE, None, reporter)
    assert close.reporter == reporter


def test_a_return_call_is_recorded_as_such_with_the_caller(t, resolved):
    reporter = resolved.reporters.get()
    caller = t.user("community")
    with translation.override("en"):
        services.ticket_rate(
            ticket=resolved, actor=caller, rating=R.BASIC, comment="还行", reporter=reporter
        )
    resolved.refresh_from_db()
    reporter.refresh_from_db()
    assert (resolved.rating, resolved.rating_source) == (R.BASIC, Ticket.RatingSource.RETURN_CALL)
    assert (reporter.rating_source, reporter.rating_caller) == (
        Ticket.RatingSource.RETURN_CALL,
        caller,
    )
    (rate,) = events(resolved, E.RATE)
    assert rate.actor == caller and rate.reporter is None
    assert "by return call" in rate.note


def test_the_reporter_unsatisfied_reopens_it(t, resolved):
    reporter = resolved.reporters.get()
    services.ticket_rate(
        ticket=resolved, actor=ReporterActor(reporter), rating=R.UNSATISFIED, comment="没修好"
    )
    resolved.refresh_from_db()
    assert (resolved.state, resolved.reopen_count, resolved.rating) == (
        S.IN_PROGRESS,
        1,
        R.UNSATISFIED,
    )
    assert resolved.rating_source == Ticket.RatingSource.RESIDENT
    (reopen,) = events(resolved, E.REOPEN)
    assert reopen.reporter == reporter
    services.ticket_resolve(ticket=resolved, actor=t.user("unit_head"), feedback="换了线路")
    reporter.refresh_from_db()
    services.ticket_rate(ticket=resolved, actor=ReporterActor(reporter), rating=R.SATISFIED)
    resolved.refresh_from_db()
    assert (resolved.state, resolved.rating) == (S.CLOSED, R.SATISFIED)


def test_a_reporter_rates_one_result_once_and_only_their_own_problem(t, resolved):
    other = ticket_in(t, S.RESOLVED)
    stranger = other.reporters.get()
    with pytest.raises(PermissionDenied):
        services.ticket_rate(ticket=resolved, actor=ReporterActor(stranger), rating=R.SATISFIED)
    with pytest.raises(ValidationError):  # a return call for someone else's reporter
        services.ticket_rate(
            ticket=resolved, actor=t.user("community"), rating=R.SATISFIED, reporter=stranger
        )
    resolved.refresh_from_db()
    assert resolved.state == S.RESOLVED


def test_every_resolve_tells_the_reporter_the_result_with_their_link(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    reporter = ticket.reporters.get()
    services.ticket_resolve(
        ticket=ticket, actor=t.user("unit_head"), feedback="灯泡已换，物业电话13912345678"
    )
    (told,) = TextMessage.objects.filter(purpose=TextMessage.Purpose.REPORTER)
    assert told.number == "+86" + reporter.phone
    assert "灯泡已换" in told.text and services.tracking_url(reporter) in told.text
    assert "13912345678" not in told.text  # numbers in the result are masked
