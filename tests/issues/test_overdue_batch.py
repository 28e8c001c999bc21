"""The overdue job in batches: each problem lifted one level as one by one would, and the
queries of a batch the same for 3 problems as for 9 (issue 12: ≤ 3 per escalated problem)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from issues import services
from issues.models import Category, Level, Notification, Ticket, TicketEvent
from issues.rules import SYSTEM

E = TicketEvent.Kind


def _overdue(world, n: int) -> list[Ticket]:
    category, _new = Category.objects.get_or_create(code="repair", name="公共设施维修")
    made = [
        services.ticket_report(
            area=world.u1,
            category=category,
            channel=Ticket.Channel.VISIT,
            description=f"第{i}号",
            reporter_phone="13700000000",
            tier="simple",
            actor=SYSTEM,
        )
        for i in range(n)
    ]
    Ticket.objects.filter(pk__in=[t.pk for t in made]).update(
        deadline=timezone.now() - dt.timedelta(hours=1)
    )
    return made


def test_each_overdue_problem_is_lifted_one_level_and_its_holder_told(world):
    made = _overdue(world, 3)
    levels = {t.pk: t.level for t in made}
    assert set(levels.values()) == {Level.UNIT}
    assert services.tickets_escalate_overdue() == 3
    for ticket in Ticket.objects.filter(pk__in=levels):
        assert ticket.level == Level.BUILDING
        assert ticket.on_rectification_list and ticket.deadline > timezone.now()
        assert ticket.escalation_count == 1 and ticket.version == 3
        kinds = list(ticket.events.order_by("pk").values_list("kind", flat=True))
        assert kinds[-2:] == [E.ESCALATE, E.RECTIFY]
        told = Notification.objects.filter(ticket=ticket, kind="rectification")
        assert told.filter(recipient=world.users["building_head"]).exists()
    assert services.tickets_escalate_overdue() == 0  # nothing lifted twice


def test_the_batch_costs_the_same_queries_for_3_problems_as_for_9(world):
    counts = []
    for n in (3, 9):
        _overdue(world, n)
        with CaptureQueriesContext(connection) as queries:
            assert services.tickets_escalate_overdue() == n
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] / 9 <= 3


def test_at_the_county_office_it_is_rectified_in_place(world):
    ticket = _overdue(world, 1)[0]
    Ticket.objects.filter(pk=ticket.pk).update(level=Level.COUNTY, handler_area=world.county)
    assert services.tickets_escalate_overdue() == 1
    ticket.refresh_from_db()
    assert ticket.level == Level.COUNTY and ticket.on_rectification_list
    assert ticket.events.order_by("-pk").first().kind == E.RECTIFY
    assert Notification.objects.filter(
        ticket=ticket, recipient=world.users["county"], kind="rectification"
    ).exists()
