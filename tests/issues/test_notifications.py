"""The outbox: a Notification row is written with the change and sent after commit; a down
broker fails no request, and the sweep sends what it left behind, each row once."""

import logging

import pytest
from django.core import mail
from django.db import transaction

from grids import services as grid_services
from grids.rules import PostTitle
from issues import services, tasks
from issues.models import Notification, Ticket

from .helpers import ticket_in

S = Ticket.State
BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _rows(ticket=None):
    rows = Notification.objects.order_by("pk")
    return list(rows.filter(ticket=ticket) if ticket else rows)


def test_assignment_is_written_now_and_sent_after_commit(t, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = t.report("U1", tier="simple")
        (row,) = _rows(ticket)
        assert (row.recipient, row.email) == (t.users["unit_head"], "unit_head@grid.example.org")
        assert str(ticket.pk) in row.subject and ticket.description in row.body
        assert row.sent_at is None
        assert mail.outbox == []  # not before the commit

    assert len(callbacks) == 1
    (sent,) = mail.outbox
    assert (sent.to, sent.subject, sent.body) == ([row.email], row.subject, row.body)
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1


def test_every_holder_of_the_post_is_told(t, django_capture_on_commit_callbacks):
    worker = grid_services.person_get_or_create(name="网格员小刘", phone="13800000009")
    login = t.users["grid_head"].__class__.objects.create_user(
        "grid_worker", email="grid_worker@grid.example.org"
    )
    worker.user = login
    worker.save(update_fields=["user"])
    grid_services.post_assign(area=t.g1, title=PostTitle.GRID_WORKER, person=worker)

    with django_capture_on_commit_callbacks(execute=True):
        ticket = t.report("U1", tier="complex")

    assert {n.recipient for n in _rows(ticket)} == {t.users["grid_head"], login}
    assert sorted(m.to[0] for m in mail.outbox) == [
        "grid_head@grid.example.org",
        "grid_worker@grid.example.org",
    ]


def test_an_untriaged_report_waits_on_the_grid_head_and_the_community(t):
    ticket = t.report("U1")
    assert {n.recipient for n in _rows(ticket)} == {t.users["grid_head"], t.users["community"]}
    services.ticket_assign(ticket=ticket, tier="simple", actor=t.user("grid_head"))
    assert [n.recipient for n in _rows(ticket)][-1] == t.users["unit_head"]


def test_escalation_tells_the_new_handler(t, django_capture_on_commit_callbacks):
    ticket = ticket_in(t, S.ASSIGNED)
    already = len(_rows())

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_escalate(ticket=ticket, actor=t.user("unit_head"), note="需要协调")

    (row,) = _rows()[already:]
    assert (row.recipient, row.ticket_id) == (t.users["building_head"], ticket.pk)
    assert [m.to for m in mail.outbox] == [["building_head@grid.example.org"]]
    row.refresh_from_db()
    assert row.sent_at is not None


def test_nothing_is_written_or_queued_when_the_change_rolls_back(
    t, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        t.report("U1", tier="simple")
        raise RuntimeError("the request failed after the service")
    assert callbacks == []
    assert not Notification.objects.exists() and mail.outbox == []


def test_a_row_without_an_address_is_marked_sent_without_mail(t):
    unit_head = t.users["unit_head"]
    unit_head.email = ""
    unit_head.save(update_fields=["email"])
    ticket = t.report("U1", tier="simple")
    (row,) = _rows(ticket)
    assert tasks.notifications_sweep() == 1
    row.refresh_from_db()
    assert row.sent_at is not None and mail.outbox == []


# --- the broker is down ---------------------------------------------------------------------


@pytest.fixture
def broker_down():
    """Celery for real (not eager) against a broker nobody answers; put back afterwards."""
    from portal.celery import app

    saved = (app.conf.task_always_eager, app.conf.broker_url)
    pools = (app._pool, app.amqp._producer_pool)
    app._pool = app.amqp._producer_pool = None  # connect anew, to the dead broker
    app.conf.task_always_eager = False
    app.conf.broker_url = BROKER_DOWN
    try:
        yield app
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.task_always_eager, app.conf.broker_url = saved
        app._pool, app.amqp._producer_pool = pools


def test_a_down_broker_fails_no_request_and_the_sweep_sends_later(
    t, broker_down, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING, logger="issues.services")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        at_unit = t.report("U1", tier="simple")
        at_building = t.report("B1", tier="simple")

    assert len(callbacks) == 2  # both ran, and neither raised
    assert "broker unreachable" in caplog.text
    assert {at_unit.state, at_building.state} == {S.ASSIGNED}
    rows = _rows()
    assert [(n.ticket_id, n.recipient) for n in rows] == [
        (at_unit.pk, t.users["unit_head"]),
        (at_building.pk, t.users["building_head"]),
    ]
    assert all(n.sent_at is None and n.attempts == 0 for n in rows)
    assert mail.outbox == []

    assert tasks.notifications_sweep() == 2  # as beat would run it

    assert sorted(m.to[0] for m in mail.outbox) == [
        "building_head@grid.example.org",
        "unit_head@grid.example.org",
    ]
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert tasks.notifications_sweep() == 0
    assert len(mail.outbox) == 2


def test_a_retried_task_sends_each_row_once(t):
    ticket_in(t, S.ASSIGNED)
    ticket_in(t, S.ASSIGNED)
    ids = [n.pk for n in _rows()]
    Notification.objects.update(sent_at=None, attempts=0)  # as if the broker had lost them
    mail.outbox.clear()

    assert tasks.send_notifications.apply(args=[ids]).get() == 2
    assert tasks.send_notifications.apply(args=[ids]).get() == 0  # the retry
    assert tasks.notifications_sweep() == 0
    assert len(mail.outbox) == 2
    assert all(n.attempts == 1 for n in _rows())


def test_a_task_that_failed_half_way_sends_only_the_rest_on_retry(t, monkeypatch):
    for place in ("U1", "B1", "G1"):
        t.report(place, tier="simple")
    Notification.objects.update(sent_at=None, attempts=0)
    mail.outbox.clear()
    ids = [n.pk for n in _rows()]
    real_send = tasks.send_mail
    calls = []

    def flaky(subject, body, sender, to, **kwargs):
        calls.append(to[0])
        if len(calls) == 2:
            raise OSError("SMTP connection reset")
        return real_send(subject, body, sender, to, **kwargs)

    monkeypatch.setattr(tasks, "send_mail", flaky)

    with pytest.raises(OSError):
        tasks.notifications_send(ids)  # autoretry_for=(OSError,) would run it again
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(sent_at__isnull=True).count() == 2

    assert tasks.notifications_send(ids) == 2
    assert len(mail.outbox) == 3
    assert len({m.to[0] for m in mail.outbox}) == 3
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
