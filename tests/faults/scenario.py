"""The Django side of the fault tests, run as ``python -m tests.faults.scenario <command>
'<json>'`` in a process of the production profile (tests/faults/rig.py ``scenario``) against
the test's private database. Each command prints one JSON line.

The data is built through the services, as a county would build it; the only raw writes
are the ones that stand for time passing (a deadline that has gone by, a claim older than
``core.outbox.CLAIM_TIMEOUT``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from django.db import transaction
from django.db.models import Count

PASSWORD = "faults-Pw-2026!"


def build(*, communities: int = 2, grids: int = 3, tickets: int = 0, emails: bool = True):
    """A district, a street, ``communities`` communities of ``grids`` grids each, a grid head
    in each grid and a community worker in each community (with e-mail addresses when
    ``emails``, else reached by SMS), a category, an Open311 key, and ``tickets`` problems
    (complex: in hand at their grid)."""
    from django.contrib.auth.models import User

    from grids import services as g
    from grids.rules import AreaKind as K
    from grids.rules import PostTitle as T
    from issues import services as s
    from issues.models import Category, Ticket

    district = g.area_create(code="369921", name="莲溪县", kind=K.DISTRICT)
    street = g.area_create(code="369921001", name="莲城街道", kind=K.STREET, parent=district)
    phones = iter(f"1390001{i:04d}" for i in range(1, 10_000))
    serial = iter(range(1, 10_000))

    def head(area, title):
        n = next(serial)
        user = User.objects.create_user(
            f"head{n}", password=PASSWORD, email=f"head{n}@faults.test" if emails else ""
        )
        person = g.person_get_or_create(name=f"负责人{n}", phone=next(phones))
        person.user = user
        person.save(update_fields=["user"])
        g.post_assign(area=area, title=title, person=person)
        return user

    head(street, T.STREET_OFFICER)
    head(district, T.COUNTY_OFFICER)
    grid_codes = []
    for c in range(1, communities + 1):
        community = g.area_create(
            code=f"{street.code}{c:03d}", name=f"第{c}社区", kind=K.COMMUNITY, parent=street
        )
        head(community, T.COMMUNITY_WORKER)
        for n in range(1, grids + 1):
            grid = g.area_create(
                code=f"{community.code}{n:03d}", name=f"第{n}网格", kind=K.GRID, parent=community
            )
            head(grid, T.GRID_HEAD)
            grid_codes.append(grid.code)
    category = Category.objects.filter(active=True, children__isnull=True).order_by("pk").first()
    if category is None:
        category = Category.objects.create(code="faults", name="环境卫生")
    key, raw_key = s.api_key_create(name="faults", channel=Ticket.Channel.MINI_PROGRAM)
    from grids.models import Area

    places = list(Area.objects.filter(code__in=grid_codes).order_by("code"))
    with transaction.atomic():
        _report(places, category, tickets)
    login = User.objects.create_user("signin", password=PASSWORD, email="signin@faults.test")
    person = g.person_get_or_create(name="龚忠连", phone="13900029999")
    person.user = login
    person.save(update_fields=["user"])
    g.post_assign(area=community, title=T.COMMUNITY_WORKER, person=person)
    delivered = _all_delivered()
    return {
        "grid_codes": grid_codes,
        "category_id": category.pk,
        "category_code": category.code,
        "api_key": raw_key,
        "username": "signin",
        "password": PASSWORD,
        "tickets": Ticket.objects.count(),
        "delivered_while_building": delivered,
    }


def _report(places, category, tickets: int) -> None:
    from issues import services as s
    from issues.models import Ticket
    from issues.rules import SYSTEM

    for i in range(tickets):
        s.ticket_report(
            area=places[i % len(places)],
            category=category,
            channel=Ticket.Channel.PATROL,
            description=f"楼道堆放杂物 #{i}",
            actor=SYSTEM,
            tier="complex",
            reporter_name="居民",
            reporter_phone=f"1380000{i:04d}",
        )


def _all_delivered() -> dict:
    """What building the world sent (to the build's in-memory backends) is history: marked
    sent, so a test's mail server sees only what the test itself causes."""
    from django.utils import timezone

    from core.models import TextMessage
    from digests.models import DigestDelivery
    from issues.models import NotificationDelivery

    now = timezone.now()
    return {
        model._meta.label: model.objects.filter(sent_at__isnull=True).update(
            sent_at=now, claimed_at=None, last_error=""
        )
        for model in (NotificationDelivery, TextMessage, DigestDelivery)
    }


def overdue(*, hard: int = 0):
    """Time passes: every problem in hand is a day past its deadline. ``hard``: first report
    that many hard problems (at the street or the county office, whose overdue job puts them
    on the rectification list with a reminder)."""
    from django.utils import timezone

    from grids.models import Area
    from issues import services as s
    from issues.models import Category, Ticket
    from issues.rules import IN_HAND_STATES, SYSTEM

    grid = Area.objects.filter(kind="grid").order_by("code").first()
    category = Category.objects.filter(active=True, children__isnull=True).order_by("pk").first()
    for i in range(hard):
        s.ticket_report(
            area=grid,
            category=category,
            channel=Ticket.Channel.HOTLINE,
            description=f"道路塌陷 #{i}",
            actor=SYSTEM,
            tier="hard",
            reporter_name="居民",
            reporter_phone=f"1360000{i:04d}",
        )

    past = timezone.now() - dt.timedelta(days=1)
    in_hand = Ticket.objects.filter(state__in=IN_HAND_STATES)
    levels = dict(in_hand.values_list("level").annotate(n=Count("pk")).values_list("level", "n"))
    return {"overdue": in_hand.update(deadline=past), "levels": levels}


def claims_expire():
    """Time passes: every claim still held on an unsent outbox row is older than
    ``core.outbox.CLAIM_TIMEOUT`` (what a quarter of an hour does to a dead worker's claim)."""
    from core.models import TextMessage
    from core.outbox import CLAIM_TIMEOUT
    from digests.models import DigestDelivery
    from issues.models import NotificationDelivery

    moved = {}
    for model in (NotificationDelivery, TextMessage, DigestDelivery):
        rows = model.objects.filter(sent_at__isnull=True, claimed_at__isnull=False)
        moved[model._meta.label] = 0
        for row in rows:
            row.claimed_at -= CLAIM_TIMEOUT + dt.timedelta(minutes=1)
            row.save(update_fields=["claimed_at"])
            moved[model._meta.label] += 1
    return moved


def beat(*, every: dict[str, int]):
    """The admin edits the schedule: the periodic tasks named in ``every`` run every so many
    seconds, all the others are turned off (so only what a test looks at runs)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    for task in PeriodicTask.objects.all():
        if task.name in every:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=every[task.name], period=IntervalSchedule.SECONDS
            )
            task.interval, task.crontab, task.enabled = interval, None, True
        else:
            task.enabled = False
        task.save()
    PeriodicTasks.update_changed()
    return {
        "enabled": sorted(PeriodicTask.objects.filter(enabled=True).values_list("name", flat=True))
    }


def send(*, task: str, args: list):
    """Queue ``task`` as beat does (no result kept)."""
    from portal.celery import app

    app.send_task(task, args=args)
    return {"queued": task}


def counts():
    """What happened, counted in the database."""
    from django.db.models import Count, Max, Min, Q

    from core.models import TextMessage
    from digests.models import Digest, DigestDelivery
    from issues.models import Notification, NotificationDelivery, Ticket, TicketEvent

    def outbox(model):
        return model.objects.aggregate(
            rows=Count("pk"),
            sent=Count("pk", filter=Q(sent_at__isnull=False)),
            claimed_unsent=Count("pk", filter=Q(sent_at__isnull=True, claimed_at__isnull=False)),
            failed_attempts=Count("pk", filter=Q(attempts__gt=1)),
        )

    events = dict(
        TicketEvent.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    per_ticket = TicketEvent.objects.filter(kind="escalate").values("ticket_id")
    per_ticket = per_ticket.annotate(n=Count("pk")).aggregate(most=Max("n"), fewest=Min("n"))
    digests = Digest.objects.values("kind", "node_id", "period_start").annotate(n=Count("pk"))
    deliveries = DigestDelivery.objects.values("digest_id", "recipient_id").annotate(n=Count("pk"))
    return {
        "tickets": Ticket.objects.count(),
        "escalation_counts": dict(
            Ticket.objects.values_list("escalation_count")
            .annotate(n=Count("pk"))
            .values_list("escalation_count", "n")
        ),
        "events": events,
        "lift_events_per_ticket": per_ticket,  # of the problems lifted at all
        "notifications": Notification.objects.count(),
        "notifications_by_kind": dict(
            Notification.objects.values_list("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        ),
        "notification_deliveries": outbox(NotificationDelivery),
        "text_messages": outbox(TextMessage),
        "notices_duplicated": Notification.objects.filter(ticket__isnull=False)
        .values("ticket_id", "recipient_id", "kind")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count(),
        "lifted_without_notice": Ticket.objects.filter(escalation_count__gt=0)
        .exclude(notifications__kind="rectification")
        .count(),
        "digests": Digest.objects.count(),
        "digests_duplicated": digests.filter(n__gt=1).count(),
        "digest_deliveries": outbox(DigestDelivery),
        "digest_deliveries_duplicated": deliveries.filter(n__gt=1).count(),
        "delivery_message_ids": _message_ids(),
    }


def _message_ids():
    """The Message-ID each outbox row's mail carries, by outbox."""
    from core.outbox import outbox_message_id
    from digests.models import DigestDelivery
    from issues.models import NotificationDelivery

    return {
        "digest": [outbox_message_id(r, "digest") for r in DigestDelivery.objects.all()],
        "notification_email": [
            outbox_message_id(r, "notification")
            for r in NotificationDelivery.objects.filter(channel="email")
        ],
    }


COMMANDS = {
    "build": build,
    "overdue": overdue,
    "claims_expire": claims_expire,
    "beat": beat,
    "send": send,
    "counts": counts,
}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    command = COMMANDS[sys.argv[1]]
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(command(**kwargs), default=str))


if __name__ == "__main__":
    main()
