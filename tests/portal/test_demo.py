"""The demo's problems (issues/demo.py through ``load_demo``): ratings from the reporters and
return calls, never from a handler; the demo resident's account and problems; declined and
merged examples; a backdated history that sends nobody a message; and a county shaped like
Guangchang's: problems in every town and community, solved at every level, a meeting a
month over the last 12 months handing hard problems to the 12 departments, return visits;
the digests of the last days, weeks and months, each community's weekly one among them."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery
from django.utils import timezone

from core import sms
from core.models import TextMessage
from dashboard.figures import LEVEL_BANDS, clock_at, ticket_figures
from digests.models import Digest, DigestDelivery
from digests.periods import latest_due
from grids import demo_data as grids_demo
from grids.imports import ImportReport
from grids.models import Area, ImportRun, PartyOrg, Person, Post
from grids.rules import AreaKind, PostTitle
from grids.selectors import COMMUNITY_KINDS, area_subtree_q, current_posts
from issues.models import (
    DepartmentTask,
    Meeting,
    Notification,
    NotificationDelivery,
    ReturnVisit,
    Ticket,
    TicketEvent,
    TicketReporter,
)
from issues.permissions import WORKING_STEPS
from issues.services.reporters import reporters_of_account
from portal.management.commands.load_demo import DEMO_PASSWORD
from residents.demo_data import DEMO_RESIDENT_PHONE, demo_resident_row
from residents.models import ResidentAccount
from tests.grids.helpers import tree_errors

S = Ticket.State
User = get_user_model()
pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(caplog, django_capture_on_commit_callbacks):
    out = io.StringIO()
    sms.outbox.clear()
    # Loaded at twenty past midnight, the county's time: the backdating counts days back
    # from now, and the small hours are where a day's shift lands on the day before.
    midnight = dt.datetime.combine(
        timezone.localdate(), dt.time(0, 20), tzinfo=timezone.get_current_timezone()
    )
    with time_machine.travel(midnight, tick=True):
        # The after-commit sends run, as they would outside the test's transaction.
        with (
            caplog.at_level(logging.INFO, logger="portal.sms"),
            django_capture_on_commit_callbacks(execute=True) as callbacks,
        ):
            call_command("load_demo", stdout=out)
        assert callbacks  # the sends were queued, and found nothing to send
        yield out.getvalue(), caplog


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

    # --- the county of the article: every town, every community and village ---
    towns = set(Area.objects.filter(kind=AreaKind.TOWN).values_list("pk", flat=True))
    communities = Area.objects.filter(kind__in=COMMUNITY_KINDS)
    assert len(towns) == 11 and communities.count() == 139
    assert set(Ticket.objects.values_list("street_id", flat=True)) == towns
    reached = set(Ticket.objects.values_list("community_id", flat=True))
    assert set(communities.values_list("pk", flat=True)) <= reached
    per_town = Ticket.objects.values("street_id").annotate(n=Count("pk"))
    assert min(row["n"] for row in per_town) >= 10

    # --- a meeting a month over the last 12 months, the 12 departments ---
    meetings = list(Meeting.objects.order_by("held_on"))
    assert len(meetings) == 12
    assert len({(m.held_on.year, m.held_on.month) for m in meetings}) == 12
    assert today - dt.timedelta(days=366) < meetings[0].held_on and meetings[-1].held_on <= today
    parts = DepartmentTask.objects.all()
    assert all(parts.filter(meeting=m).exists() for m in meetings)
    assert parts.values("department").distinct().count() == 12
    hard = parts.values("ticket").distinct().count()
    assert 60 <= hard <= 120
    shares = parts.values("ticket").annotate(n=Count("department", distinct=True))
    assert {row["n"] for row in shares} == {1, 2, 3}  # one to three departments each
    shared = [row["ticket"] for row in shares if row["n"] >= 2]
    for ticket in shared[:10]:
        own = parts.filter(ticket=ticket)
        # each part its own instructions (办理要求) and deadline
        assert own.values("instructions").distinct().count() == own.count()
        assert own.values("deadline").distinct().count() == own.count()
    statuses = set(parts.values_list("status", flat=True))
    assert statuses == set(DepartmentTask.Status.values)  # at work, reported, accepted
    assert parts.filter(sent_back_count__gt=0).exists()
    for part in parts.filter(status=DepartmentTask.Status.DONE).select_related("meeting")[:20]:
        # dated with its meeting: reported and accepted after it was held
        assert timezone.localdate(part.reported_at) >= part.meeting.held_on
    # the county office accepts the reports and tells the reporter in its own words
    reviewed = Ticket.objects.filter(events__kind=TicketEvent.Kind.REVIEW).distinct()
    assert reviewed.count() >= 40
    for ticket in reviewed[:20]:
        reports = set(ticket.tasks.values_list("report", flat=True))
        assert ticket.feedback and ticket.feedback not in reports

    # --- return visits (回访), logged after the problem was solved ---
    visits = ReturnVisit.objects.filter(done_at__isnull=False).select_related("ticket")
    assert visits.count() >= 10
    for visit in visits:
        assert visit.ticket.resolved_at <= visit.done_at <= now
        assert visit.note and visit.by is not None

    # --- solved at every level: the dashboard's four "where solved" bands ---
    figures = ticket_figures(Ticket.objects.all(), clock_at())
    bands = {band.key: figures[f"band_{band.key}"] for band in LEVEL_BANDS}
    assert set(bands) == {"grid", "community", "street", "above"}
    assert all(n >= 10 for n in bands.values()), bands

    # --- steps take time: spread after the report, in order, none ahead of now ---
    hours = []
    for ticket in Ticket.objects.filter(resolved_at__isnull=False, tasks__isnull=True):
        hours.append((ticket.resolved_at - ticket.created_at).total_seconds() / 3600)
    hours.sort()
    assert len(hours) >= 50 and hours[len(hours) // 2] >= 2, hours[:10]
    last = {}
    for event in TicketEvent.objects.order_by("ticket_id", "pk"):
        assert event.at <= now
        assert event.at >= last.get(event.ticket_id, event.at), event.ticket_id
        last[event.ticket_id] = event.at
    # A problem's solved time is its (last) resolve step's, to the second.
    resolve_at = {}
    for ticket_id, at in TicketEvent.objects.filter(
        kind=TicketEvent.Kind.RESOLVE, ticket__tasks__isnull=True
    ).values_list("ticket_id", "at"):
        resolve_at[ticket_id] = max(at, resolve_at.get(ticket_id, at))
    for ticket in Ticket.objects.filter(pk__in=resolve_at, resolved_at__isnull=False):
        assert abs(ticket.resolved_at - resolve_at[ticket.pk]) < dt.timedelta(seconds=1)

    # --- each community's weekly digest, its rectification list, for the last weeks ---
    week = latest_due(Digest.Kind.WEEKLY, today)
    weekly = Digest.objects.filter(kind=Digest.Kind.WEEKLY, period_start=week.start)
    assert weekly.filter(node__kind__in=COMMUNITY_KINDS).count() == 139
    listing = [
        d for d in weekly.filter(node__kind__in=COMMUNITY_KINDS) if d.figures["rectification"]
    ]
    assert len(listing) >= 10
    weeks = Digest.objects.filter(kind=Digest.Kind.WEEKLY, node__kind=AreaKind.COMMUNITY)
    assert weeks.values("period_start").distinct().count() >= 4
    months = Digest.objects.filter(kind=Digest.Kind.MONTHLY)
    assert months.values("period_start").distinct().count() >= 3

    # --- a second run changes nothing ---
    def counts():
        return (
            Ticket.objects.count(),
            ResidentAccount.objects.count(),
            TicketEvent.objects.count(),
            Digest.objects.count(),
            Notification.objects.filter(read_at__isnull=True).count(),
            Meeting.objects.count(),
            DepartmentTask.objects.count(),
            ReturnVisit.objects.count(),
        )

    _the_tree_and_its_heads_and_logins()
    tables = (Area, Post, Person, PartyOrg, User)
    tree_before = {model.__name__: model.objects.count() for model in tables}
    last_run = ImportRun.objects.aggregate(m=Max("pk"))["m"]
    last_change = Area.objects.aggregate(m=Max("updated_at"))["m"]
    before = counts()
    second = io.StringIO()
    call_command("load_demo", stdout=second)
    assert counts() == before
    # The tree and the heads: the imports' reports say every row was unchanged, and were.
    n_areas, n_heads = len(grids_demo.area_rows()), len(grids_demo.head_rows())
    text = second.getvalue()
    assert f"areas: {_summary('areas', n_areas, unchanged=n_areas)}" in text
    assert f"heads: {_summary('heads', n_heads, unchanged=n_heads)}" in text
    assert "Party organisations: 0 new" in text
    assert {model.__name__: model.objects.count() for model in tables} == tree_before
    reruns = ImportRun.objects.filter(pk__gt=last_run)  # logged every time, changing nothing
    assert {run.target for run in reruns} >= {"areas", "heads"}
    assert {(run.created, run.updated) for run in reruns} == {(0, 0)}
    assert Area.objects.aggregate(m=Max("updated_at"))["m"] == last_change
    assert tree_errors() == []
    assert TextMessage.objects.count() == 0


def _summary(target: str, rows: int, unchanged=0) -> str:
    return ImportReport(
        target=target, dry_run=False, rows=rows, created=0, updated=0, unchanged=unchanged
    ).summary()


def _the_tree_and_its_heads_and_logins():
    """The demo county's tree (Guangchang's shape: 10 communities, 11 towns, 129 villages)
    and its heads, with every demo login signing in with the README's password."""
    urban = Q()
    for community in Area.objects.filter(kind=AreaKind.COMMUNITY):
        urban |= area_subtree_q(community, prefix="area__")
    three_heads = Post.objects.filter(
        urban,
        ended_on__isnull=True,
        is_deputy=False,
        title__in=[PostTitle.GRID_HEAD, PostTitle.BUILDING_HEAD, PostTitle.UNIT_HEAD],
    )
    found = {
        "communities": Area.objects.filter(kind=AreaKind.COMMUNITY).count(),
        "urban grids": Area.objects.filter(
            kind=AreaKind.GRID, parent__kind=AreaKind.COMMUNITY
        ).count(),
        "buildings": Area.objects.filter(kind=AreaKind.BUILDING).count(),
        "units": Area.objects.filter(kind=AreaKind.UNIT).count(),
        "urban three heads": three_heads.count(),
        "towns": Area.objects.filter(kind=AreaKind.TOWN).count(),
        "villages": Area.objects.filter(kind=AreaKind.VILLAGE).count(),
        "rural grids": Area.objects.filter(
            kind=AreaKind.GRID, parent__kind=AreaKind.VILLAGE
        ).count(),
    }
    assert found == {
        "communities": 10,
        "urban grids": 68,
        "buildings": 646,
        "units": 1841,
        "urban three heads": 2555,
        "towns": 11,
        "villages": 129,
        "rural grids": 2221,
    }
    assert tree_errors() == []
    assert Area.objects.count() == len(grids_demo.area_rows())
    for login in grids_demo.demo_logins():
        user = User.objects.get(username=login["username"])
        assert user.check_password(DEMO_PASSWORD), login["username"]
        assert user.is_superuser is (login["username"] == "admin")
        if login["phone"]:
            assert Person.objects.get(phone=login["phone"]).user == user
            assert (
                current_posts()
                .filter(person__user=user, area__code=login["area_code"], title=login["title"])
                .exists()
            ), login["username"]
    assert Person.objects.get(user__username="county").posts.get().title == "county_officer"
