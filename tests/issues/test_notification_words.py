"""What a notification says is kept as codes (``Notification.said``): the list shows it in
the reader's language whoever's action wrote it, and what goes out by SMS and e-mail (and
stays in ``subject``/``body``) is in the portal's language, not the actor's."""

from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from issues import services
from issues.models import Notification
from issues.notes import said_body, said_subject


def _list(t, persona, language):
    client = Client()
    client.force_login(t.user(persona))
    prefix = "/en" if language == "en" else ""
    response = client.get(prefix + reverse("notifications:list"))
    assert response.status_code == 200
    return response.content.decode()


def test_an_assignment_made_in_english_reaches_the_unit_head_in_chinese(
    t, django_capture_on_commit_callbacks
):
    ticket = t.report("U1")
    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        services.ticket_assign(ticket=ticket, tier="simple", actor=t.user("grid_head"))
    row = Notification.objects.filter(ticket=ticket, kind="assigned").get()
    # Stored and sent in the portal's language, though the triager read English.
    assert row.subject == f"您有新问题待办：#{ticket.pk}"
    assert "期限" in row.body and "Deadline" not in row.body
    (sent,) = [m for m in mail.outbox if m.subject == row.subject]
    assert "期限" in sent.body
    # Shown in the reader's language.
    assert f"您有新问题待办：#{ticket.pk}" in _list(t, "unit_head", "zh-hans")
    english = _list(t, "unit_head", "en")
    assert f"New problem for you: #{ticket.pk}" in english
    assert "Deadline" in english and "期限" not in english
    with translation.override("en"):
        assert said_subject(row) == f"New problem for you: #{ticket.pk}"
        assert ticket.description in said_body(row)


def test_a_reminder_reads_in_each_readers_language(t):
    ticket = t.report("U1", tier="simple")
    with translation.override("en"):
        services.ticket_remind(ticket=ticket, actor=t.user("community"), note="请今天回电")
    row = Notification.objects.filter(ticket=ticket, kind="reminder").get()
    assert row.subject == f"督促提醒：问题#{ticket.pk}"
    with translation.override("en"):
        assert said_subject(row) == f"Reminder: problem #{ticket.pk}"
        assert "Deadline" in said_body(row) and ticket.description in said_body(row)
    assert said_subject(row) == row.subject and said_body(row) == row.body


def test_a_notification_written_before_the_codes_reads_as_stored(t):
    ticket = t.report("U1")
    row = Notification.objects.create(
        recipient=t.user("unit_head"), ticket=ticket, subject="旧通知", body="旧正文"
    )
    with translation.override("en"):
        assert (said_subject(row), said_body(row)) == ("旧通知", "旧正文")
