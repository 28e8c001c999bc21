"""The demo's problems (issues/demo.py through ``load_demo``): ratings from the reporters and
return calls, never from a handler; the demo resident's account and problems; declined and
merged examples; and a backdated history that sends nobody a message."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from django.core.management import call_command
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.utils import timezone

from core import sms
from core.models import TextMessage
from digests.models import Digest, DigestDelivery
from issues.models import (
    Notification,
    NotificationDelivery,
    Ticket,
    TicketEvent,
    TicketReporter,
)
from issues.permissions import WORKING_STEPS
from issues.services.reporters import reporters_of_account
from residents.demo_data import DEMO_RESIDENT_PHONE, demo_resident_row
from residents.models import ResidentAccount

S = Ticket.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(caplog, django_capture_on_commit_callbacks):
    out = io.StringIO()
    sms.outbox.clear()
    # The after-commit sends run, as they would outside the test's transaction.
    with (
        caplog.at_level(logging.INFO, logger="portal.sms"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        call_command("load_demo", stdout=out)
    assert callbacks  # the sends were queued, and found nothing to send
    return out.getvalue(), caplog


def test_the_demo(demo):
    """One load (it takes a while), every check of it."""
    output, caplog = demo

    # --- the dashboards' day rollups say what the backdated problems say ---
    from issues.services.rollups import ticket_days_counted, ticket_days_kept

    assert ticket_days_kept() == ticket_days_counted(Ticket.objects.all())
    assert len(ticket_days_kept()) > 100

    # --- nothing is sent for the backdated history, and the output stays short ---
    assert TextMessage.objects.count() == 0
    assert NotificationDelivery.objects.count() == 0
    assert sms.outbox == []
    assert not [r for r in caplog.records if r.name == "portal.sms"]
    assert len(output.splitlines()) < 40
    assert Notification.objects.exists()  # the workers' in-portal lists keep theirs

    # --- every rating is the reporter's or a return call's, never a handler's ---
    rates = TicketEvent.objects.filter(kind=TicketEvent.Kind.RATE)
    assert rates.count() >= 60
    assert not rates.filter(actor__isnull=True, reporter__isnull=True).exists()
    worked = TicketEvent.objects.filter(
        ticket=OuterRef("ticket"), actor=OuterRef("actor"), kind__in=WORKING_STEPS
    )
    assert not rates.filter(actor__isnull=False).filter(Exists(worked)).exists()
    sources = dict(
        Ticket.objects.exclude(rating__in=("", Ticket.Rating.NOT_RATED))
        .values_list("rating_source")
        .annotate(n=Count("pk"))
    )
    assert set(sources) == {Ticket.RatingSource.RESIDENT, Ticket.RatingSource.RETURN_CALL}
    assert sources[Ticket.RatingSource.RESIDENT] > sources[Ticket.RatingSource.RETURN_CALL] > 0
    callers = TicketReporter.objects.filter(rating_source=Ticket.RatingSource.RETURN_CALL)
    assert callers.exists() and not callers.filter(rating_caller__isnull=True).exists()

    # --- the demo resident: the README's number, linked to the register ---
    account = ResidentAccount.objects.select_related("resident").get(phone=DEMO_RESIDENT_PHONE)
    row = demo_resident_row()
    assert (account.resident.name, account.resident.id_number) == (row["name"], row["id_number"])
    assert account.display_name == row["name"]
    mine = Ticket.objects.filter(pk__in=reporters_of_account(account).values("ticket"))
    own_reports = TicketReporter.objects.filter(account=account)
    assert own_reports.count() >= 3  # reported on the resident pages
    states = set(mine.values_list("state", flat=True))
    assert {S.CLOSED, S.RESOLVED, S.IN_PROGRESS, S.DECLINED} <= states
    rated = mine.filter(state=S.CLOSED).values_list("rating_source", flat=True)
    assert set(rated) == {Ticket.RatingSource.RESIDENT, Ticket.RatingSource.RETURN_CALL}
    assert f"{DEMO_RESIDENT_PHONE}" in output

    # --- declined and merged examples, by a community worker ---
    declined = Ticket.objects.filter(state=S.DECLINED)
    assert declined.filter(merged_into__isnull=True).count() >= 2
    (merged,) = declined.filter(merged_into__isnull=False)
    assert merged.decline_reason == Ticket.DeclineReason.DUPLICATE
    target = merged.merged_into
    assert target.reporters.count() == 2 and target.state in (S.ASSIGNED, S.IN_PROGRESS)
    for ticket in declined:
        event = ticket.events.get(kind__in=(TicketEvent.Kind.DECLINE, TicketEvent.Kind.MERGE))
        assert event.actor.username == "community"

    # --- the workers' notifications: dated with their problem, read once off their desk ---
    now = timezone.now()
    notes = Notification.objects.filter(recipient__isnull=False, ticket__isnull=False)
    assert notes.filter(created_at__lt=now - dt.timedelta(days=7)).exists()  # backdated
    finished = (S.RESOLVED, S.CLOSED, S.DECLINED)
    assert not notes.filter(ticket__state__in=finished, read_at__isnull=True).exists()
    triage = notes.filter(kind=Notification.Kind.TRIAGE)
    assert not triage.exclude(ticket__state=S.REPORTED).filter(read_at__isnull=True).exists()
    assert triage.filter(ticket__state=S.REPORTED, read_at__isnull=True).exists()
    read = notes.filter(read_at__isnull=False)
    assert read.count() > notes.filter(read_at__isnull=True).count() > 0
    assert not read.filter(read_at__lt=F("created_at")).exists()
    # Each is dated with its problem's history, not at load time.
    first = TicketEvent.objects.filter(ticket=OuterRef("ticket")).order_by("at").values("at")[:1]
    early = notes.annotate(first=Subquery(first)).filter(created_at__lt=F("first"))
    assert not early.exists()
    unread = notes.filter(read_at__isnull=True)
    assert unread.values("recipient", "ticket").distinct().count() == unread.count()
    unread_grid_head = unread.filter(recipient__username="grid_head")
    assert 0 < unread_grid_head.count() <= 10
    assert not unread.filter(created_at__lt=now - dt.timedelta(days=2)).exists()
    for note in notes.filter(read_at__isnull=True).select_related("ticket"):
        assert note.ticket.state in (S.REPORTED, S.ASSIGNED, S.IN_PROGRESS)

    # --- the digests the embedded demo (no beat) shows, mailed to nobody ---
    today = timezone.localdate()
    daily = set(
        Digest.objects.filter(kind=Digest.Kind.DAILY).values_list("period_start", flat=True)
    )
    assert daily == {today - dt.timedelta(days=n) for n in range(1, 8)}
    for kind in (Digest.Kind.WEEKLY, Digest.Kind.MONTHLY):
        assert Digest.objects.filter(kind=kind, period_end__lt=today).exists()
    assert not DigestDelivery.objects.exists()
    assert "digests:" in output

    # --- a second run changes nothing ---
    def counts():
        return (
            Ticket.objects.count(),
            ResidentAccount.objects.count(),
            TicketEvent.objects.count(),
            Digest.objects.count(),
            Notification.objects.filter(read_at__isnull=True).count(),
        )

    before = counts()
    call_command("load_demo", stdout=io.StringIO())
    assert counts() == before
    assert TextMessage.objects.count() == 0
