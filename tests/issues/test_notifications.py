"""The outbox: a Notification row (the in-portal item) and its NotificationDelivery rows (one
per outside channel) are written with the change and sent after commit; a down broker fails
no request, and the sweep sends what it left behind, each row once."""

import datetime as dt
import logging

import pytest
from django.core import mail
from django.db import transaction

from core import sms
from grids import services as grid_services
from grids.rules import PostTitle
from issues import services, tasks
from issues.models import Notification, NotificationDelivery, Ticket
from issues.services import notifications
from tests import outside

from .helpers import ticket_in

S = Ticket.State


def _rows(ticket=None):
    rows = Notification.objects.order_by("pk")
    return list(rows.filter(ticket=ticket) if ticket else rows)


def _texts():
    """The SMS sent for notifications (not the reporters' tracking links)."""
    return [m for m in sms.outbox if m.message_id.startswith("notification-")]


def _told(callbacks):
    """The after-commit hand-overs of notification deliveries among ``callbacks``."""
    return [c for c in callbacks if c.__qualname__.startswith("notify_many.")]


def _deliveries(ticket=None):
    rows = NotificationDelivery.objects.select_related("notification").order_by("pk")
    return list(rows.filter(notification__ticket=ticket) if ticket else rows)


def test_assignment_is_written_now_and_sent_after_commit(t, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = t.report("U1", tier="simple")
        (row,) = _rows(ticket)
        assert (row.recipient, row.kind) == (t.users["unit_head"], Notification.Kind.ASSIGNED)
        assert str(ticket.pk) in row.subject and ticket.description in row.body
        assert row.read_at is None
        (delivery,) = _deliveries(ticket)
        assert (delivery.channel, delivery.address) == ("email", "unit_head@grid.example.org")
        assert delivery.sent_at is None
        assert mail.outbox == []  # not before the commit

    assert len(_told(callbacks)) == 1
    (sent,) = mail.outbox
    assert (sent.to, sent.subject) == ([delivery.address], row.subject)
    assert sent.body.startswith(row.body)
    assert sent.body.endswith(f"/tickets/{ticket.pk}/")  # the link to the problem
    delivery.refresh_from_db()
    assert delivery.sent_at is not None and delivery.attempts == 1
    assert _texts() == []  # a head with e-mail gets no SMS unless they asked


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
    assert row.kind == Notification.Kind.LIFTED
    assert [m.to for m in mail.outbox] == [["building_head@grid.example.org"]]
    (delivery,) = row.deliveries.all()
    assert delivery.sent_at is not None


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
    assert not NotificationDelivery.objects.exists()


def test_a_head_without_e_mail_is_reached_by_sms_with_a_stable_id(t):
    unit_head = t.users["unit_head"]
    unit_head.email = ""
    unit_head.save(update_fields=["email"])
    ticket = t.report("U1", tier="simple")
    (row,) = _rows(ticket)
    (delivery,) = row.deliveries.all()
    phone = t.persons["unit_head"].phone
    assert (delivery.channel, delivery.address) == ("sms", f"+86{phone}")
    assert tasks.notifications_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.sent_at is not None and mail.outbox == []
    (text,) = _texts()
    assert text.number == f"+86{phone}" and text.text.startswith(row.subject)
    assert text.message_id == notifications.outbox_message_id(delivery, "notification").strip("<>")


def test_a_login_with_neither_e_mail_nor_phone_has_the_list_only(t):
    unit_head = t.users["unit_head"]
    unit_head.email = ""
    unit_head.save(update_fields=["email"])
    person = t.persons["unit_head"]
    person.phone = ""
    person.save(update_fields=["phone"])
    ticket = t.report("U1", tier="simple")
    (row,) = _rows(ticket)
    assert row.recipient == unit_head and not row.deliveries.exists()
    assert tasks.notifications_sweep() == 0
    assert mail.outbox == [] and _texts() == []


# --- the broker is down ---------------------------------------------------------------------


@pytest.fixture
def broker_down():
    """Celery for real (not eager) against a broker nobody answers; put back afterwards,
    with the outboxes' broker-down back-off forgotten so later tests queue again."""
    with outside.broker_down() as app:
        yield app


def test_a_down_broker_fails_no_request_and_the_sweep_sends_later(
    t, broker_down, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING, logger="issues.services")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        at_unit = t.report("U1", tier="simple")
        at_building = t.report("B1", tier="simple")

    assert len(_told(callbacks)) == 2  # both ran, and neither raised
    assert "broker unreachable" in caplog.text
    assert {at_unit.state, at_building.state} == {S.ASSIGNED}
    rows = _rows()
    assert [(n.ticket_id, n.recipient) for n in rows] == [
        (at_unit.pk, t.users["unit_head"]),
        (at_building.pk, t.users["building_head"]),
    ]
    deliveries = _deliveries()
    assert [d.notification_id for d in deliveries] == [n.pk for n in rows]
    assert all(d.sent_at is None and d.attempts == 0 for d in deliveries)
    assert mail.outbox == []

    assert tasks.notifications_sweep() == 2  # as beat would run it

    assert sorted(m.to[0] for m in mail.outbox) == [
        "building_head@grid.example.org",
        "unit_head@grid.example.org",
    ]
    assert not NotificationDelivery.objects.filter(sent_at__isnull=True).exists()
    assert tasks.notifications_sweep() == 0
    assert len(mail.outbox) == 2


def test_a_retried_task_sends_each_row_once(t):
    ticket_in(t, S.ASSIGNED)
    ticket_in(t, S.ASSIGNED)
    ids = [d.pk for d in _deliveries()]
    NotificationDelivery.objects.update(sent_at=None, attempts=0)  # as if the broker lost them
    mail.outbox.clear()

    assert tasks.send_notifications.apply(args=[ids]).get() == 2
    assert tasks.send_notifications.apply(args=[ids]).get() == 0  # the retry
    assert tasks.notifications_sweep() == 0
    assert len(mail.outbox) == 2
    assert all(d.attempts == 1 for d in _deliveries())


class WorkerKilled(BaseException):
    """A kill: no ``except Exception`` in the code sees it."""


def _fresh_rows(t, places=("U1", "B1", "G1")):
    for place in places:
        t.report(place, tier="simple")
    NotificationDelivery.objects.update(sent_at=None, attempts=0)
    mail.outbox.clear()
    return [d.pk for d in _deliveries()]


def test_point7_a_failing_delivery_counts_its_attempt_and_never_blocks_the_rest(t, monkeypatch):
    ids = _fresh_rows(t)
    real_mail, calls = notifications.notification_deliver, []

    def flaky(row):
        calls.append(row.pk)
        if len(calls) == 2:
            raise OSError("SMTP connection reset")
        real_mail(row)

    monkeypatch.setattr(notifications, "notification_deliver", flaky)

    assert tasks.send_notifications.apply(args=[ids]).get() == 2  # the third still went out
    assert len(mail.outbox) == 2
    failed = NotificationDelivery.objects.get(pk=ids[1])
    assert (failed.sent_at, failed.attempts, failed.claimed_at) == (None, 1, None)
    assert failed.last_error == "OSError: SMTP connection reset"

    assert tasks.notifications_sweep() == 1  # the sweep tries it again
    failed.refresh_from_db()
    assert failed.sent_at is not None and failed.attempts == 2 and failed.last_error == ""
    assert len({m.to[0] for m in mail.outbox}) == len(mail.outbox) == 3


def test_point7_a_row_that_keeps_failing_is_given_up_and_blocks_no_later_row(t, monkeypatch):
    from core.outbox import MAX_ATTEMPTS

    (broken_pk,) = _fresh_rows(t, ["U1"])
    real_mail = notifications.notification_deliver

    def broken(row):
        if row.pk == broken_pk:
            raise ValueError("bad address header")
        real_mail(row)

    monkeypatch.setattr(notifications, "notification_deliver", broken)
    for _ in range(MAX_ATTEMPTS + 2):
        tasks.notifications_sweep()
    row = NotificationDelivery.objects.get(pk=broken_pk)
    assert (row.sent_at, row.attempts) == (None, MAX_ATTEMPTS)
    assert row.last_error == "ValueError: bad address header"

    t.report("B1", tier="simple")  # a later row still goes out
    NotificationDelivery.objects.exclude(pk=broken_pk).update(sent_at=None)
    assert tasks.notifications_sweep() == 1
    assert [m.to for m in mail.outbox] == [["building_head@grid.example.org"]]
    assert NotificationDelivery.objects.get(pk=broken_pk).attempts == MAX_ATTEMPTS


@pytest.mark.parametrize("crash", ["killed after sending", "database gone when marking"])
def test_point7_a_crash_between_sending_and_marking_resends_only_after_the_claim_is_stale(
    t, monkeypatch, crash
):
    """At least once (``core.outbox``): not sent again while the claim is fresh, then once
    more, with the same Message-ID so that the receiving side can drop the copy."""
    from django.db import OperationalError
    from django.utils import timezone

    from core import outbox

    (pk,) = _fresh_rows(t, ["U1"])
    real_mail, real_mark = notifications.notification_deliver, outbox._mark_sent
    if crash == "killed after sending":

        def sends_then_dies(row):
            real_mail(row)
            raise WorkerKilled

        monkeypatch.setattr(notifications, "notification_deliver", sends_then_dies)
        expected = WorkerKilled
    else:

        def database_gone(model, row):
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(outbox, "_mark_sent", database_gone)
        expected = OperationalError

    with pytest.raises(expected):
        tasks.notifications_sweep()
    monkeypatch.setattr(notifications, "notification_deliver", real_mail)
    monkeypatch.setattr(outbox, "_mark_sent", real_mark)
    row = NotificationDelivery.objects.get(pk=pk)
    assert (row.sent_at, row.attempts) == (None, 1) and row.claimed_at is not None
    assert len(mail.outbox) == 1

    assert tasks.send_notifications.apply(args=[[pk]]).get() == 0  # a redelivered task
    assert tasks.notifications_sweep() == 0
    assert len(mail.outbox) == 1

    later = timezone.now() + outbox.CLAIM_TIMEOUT + dt.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert tasks.notifications_sweep() == 1
    assert tasks.notifications_sweep() == 0
    first, second = mail.outbox
    message_id = outbox.outbox_message_id(row, "notification")
    assert first.message()["Message-ID"] == second.message()["Message-ID"] == message_id
    assert message_id.startswith(f"<notification-{pk}.") and message_id.endswith(">")
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2
