"""Issue 11's pages and reads timed on a seeded city (``manage.py seed_city``).

    DATABASE_URL=postgres://…/<city db> ALLOWED_HOSTS=testserver DJANGO_DEBUG=false \\
        python -m bench.city_pages

Prints ``name: value`` lines (server time in ms, median of 5 after one warm-up, and the
query count), each page next to a bare count of the tickets in the same scope. It adds
one notification per handled problem (most of them read) the first time, so the
notification list and the unread count have a city's worth of rows to work over."""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from grids.models import Area, Post  # noqa: E402
from grids.selectors import area_subtree_q  # noqa: E402
from issues.models import Ticket  # noqa: E402


def emit(name: str, value) -> None:
    print(f"{name}: {value}")


def timed(name: str, run, repeat: int = 5) -> None:
    first = run()
    status = getattr(first, "status_code", 200)
    if status != 200:
        raise SystemExit(f"{name}: HTTP {status}, not a page (set ALLOWED_HOSTS=testserver)")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        run()
    emit(f"{name}_ms", round(statistics.median(times), 1))
    emit(f"{name}_queries", len(queries))


def notifications_seed() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM issues_notification")
        if cursor.fetchone()[0]:
            return
        cursor.execute(
            "INSERT INTO issues_notification (recipient_id, kind, ticket_id, subject, body,"
            " created_at, read_at) SELECT e.actor_id, 'assigned', e.ticket_id, '您有新问题待办',"
            " '问题', e.at, CASE WHEN t.state IN ('closed', 'declined') THEN e.at END"
            " FROM issues_ticketevent e JOIN issues_ticket t ON t.id = e.ticket_id"
            " WHERE e.kind = 'accept' AND e.actor_id IS NOT NULL"
        )
        cursor.execute("ANALYZE issues_notification")


class HttpsClient(Client):
    """Production settings redirect plain HTTP: every request as HTTPS."""

    def generic(self, *args, **kwargs):
        kwargs["secure"] = True
        return super().generic(*args, **kwargs)


def client_for(user) -> Client:
    client = HttpsClient()
    client.force_login(user)
    return client


def main() -> None:
    notifications_seed()
    unit = Area.objects.filter(kind="unit").order_by("pk").first()
    grid = unit.get_ancestors().get(kind="grid")
    district = unit.get_ancestors().get(kind="district")
    head_of = {
        kind: Post.objects.select_related("person__user").get(area=area, ended_on=None).person.user
        for kind, area in (("grid", grid), ("district", district))
    }
    for scope, area in (("grid", grid), ("district", district)):
        timed(
            f"bare_count_{scope}",
            lambda a=area: Ticket.objects.filter(area_subtree_q(a, "area__")).count(),
        )
    grid_head = client_for(head_of["grid"])
    timed("inbox_grid_head", lambda: grid_head.get("/tickets/?tab=area"))
    timed("notifications_grid_head", lambda: grid_head.get("/notifications/"))
    timed("notification_badge_grid_head", lambda: grid_head.get("/notifications/badge/"))
    reported = (
        Ticket.objects.filter(state="reported", area__in=Area.objects.filter(area_subtree_q(grid)))
        .order_by("-pk")
        .first()
    )
    if reported is not None:
        timed("ticket_page_triage_grid_head", lambda: grid_head.get(f"/tickets/{reported.pk}/"))
    officer = client_for(head_of["district"])
    timed("dashboard_district", lambda: officer.get("/"))
    timed("inbox_district", lambda: officer.get("/tickets/?tab=area"))
    # A resident with problems: the householder who reported most in that unit.
    from citizens.session import SESSION_KEY
    from residents.accounts import account_privacy_accept
    from residents.models import ResidentAccount

    phone = (
        Ticket.objects.filter(area=unit)
        .exclude(reporter_phone="")
        .values_list("reporter_phone", flat=True)
        .first()
    )
    account, _new = ResidentAccount.objects.get_or_create(phone=phone)
    account_privacy_accept(account=account, display_name="居民")
    resident = HttpsClient()
    session = resident.session
    session[SESSION_KEY] = account.pk
    session.save()
    resident.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    timed("resident_home", lambda: resident.get("/r/"))
    mine = Ticket.objects.filter(reporters__phone=phone).order_by("-pk").first()
    timed("resident_problem", lambda: resident.get(f"/r/problems/{mine.pk}/"))
    emit("# city", f"{Ticket.objects.count()} tickets, {Area.objects.count()} areas")


if __name__ == "__main__":
    main()
