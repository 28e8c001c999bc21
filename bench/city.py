"""The city bench: every page and job of issue 12's list timed on the synthetic city
(``manage.py seed_city``, 1,000,000 problems), each figure next to its baseline.

    python -m bench --city-only            # or part of ``make bench``

The city lives in its own database, ``portal_bench_city`` on the server of
``DATABASE_URL`` (a name no one else uses). It is built with ``seed_city`` when it does not
exist (about ten minutes) and kept between runs; ``--city-url`` names another. Nothing in
it is changed by the bench except in transactions it rolls back (the escalation backlog)
and the notifications it adds once for the notification list.

Every page is served by Django's test client with production settings (DEBUG off), as
HTTPS, logged in as the head of the node. ``<name>_ms`` is the median server time of 5 runs
after one warm-up, ``<name>_queries`` the queries of one more run. A bare ``count(*)`` of
the same problems stands next to each dashboard (``bare_count_<scope>_ms``).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from bench.report import emit


def timed(name: str, run, repeat: int = 5) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = run()
    status = getattr(first, "status_code", 200)
    if status != 200:
        raise SystemExit(f"{name}: HTTP {status}, not a page")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        run()
    median = round(statistics.median(times), 1)
    emit(f"{name}_ms", median)
    emit(f"{name}_queries", len(queries))
    return median


def _client(user):
    from django.test import Client

    class HttpsClient(Client):
        def generic(self, *args, **kwargs):
            kwargs["secure"] = True
            return super().generic(*args, **kwargs)

    client = HttpsClient()
    if user is not None:
        client.force_login(user)
    return client


def _head(area):
    """The login of the area's head (``area``: the Area or its id), the principal first."""
    from grids.models import Post

    post = (
        Post.objects.select_related("person__user")
        .filter(area=area, ended_on=None, person__user__isnull=False)
        .order_by("is_deputy", "pk")
        .first()
    )
    return post.person.user


def _places() -> dict:
    """The first unit's chain: the scopes the pages are measured at."""
    from grids.models import Area
    from grids.selectors import area_keys

    unit = Area.objects.filter(kind="unit").order_by("pk").first()
    keys = area_keys(unit)
    places = {"unit": unit}
    for scope in ("district", "street", "community", "grid"):
        places[scope] = Area.objects.get(pk=keys[f"{scope}_id"])
    places["city"] = Area.objects.get(pk=places["district"].upper_id)
    return places


def dashboards(places: dict) -> None:
    from django.contrib.auth import get_user_model

    from grids.selectors import keyed_subtree_q
    from issues.models import Ticket

    admin = get_user_model().objects.filter(is_superuser=True).first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("bench-admin", password="x")
    for scope in ("city", "district", "street", "community", "grid"):
        area = places[scope]
        user = admin if scope == "city" else _head(area)
        tickets = (
            Ticket.objects.all()
            if scope == "city"
            else Ticket.objects.filter(keyed_subtree_q(area))
        )
        bare = timed(f"bare_count_{scope}", lambda t=tickets: t.count())
        client = _client(user)
        page = timed(f"dashboard_{scope}", lambda c=client: c.get("/"))
        emit(f"dashboard_{scope}_per_bare_count", round(page / max(bare, 0.1), 1))


def inboxes(places: dict) -> None:
    import re

    for scope in ("district", "community", "grid"):
        client = _client(_head(places[scope]))
        for tab in ("mine", "area", "overdue", "rectification", "rating"):
            for size in (25, 100):
                timed(
                    f"inbox_{scope}_{tab}_{size}",
                    lambda c=client, t=tab, s=size: c.get(f"/tickets/?tab={t}&size={s}"),
                )
        # A deep page: 40 pages of 100 down the district's problems, then timed there.
        url = "/tickets/?tab=area&size=100"
        for _ in range(40):
            found = re.search(r'rel="next" href="\?([^"]+)"', client.get(url).content.decode())
            if not found:
                break
            url = "/tickets/?" + found.group(1).replace("&amp;", "&")
        timed(f"inbox_{scope}_area_100_deep", lambda c=client, u=url: c.get(u))


def ticket_page(places: dict) -> None:
    from issues.models import Ticket

    client = _client(_head(places["community"]))
    ticket = Ticket.objects.filter(community=places["community"]).order_by("-pk").first()
    timed("ticket_page_community", lambda: client.get(f"/tickets/{ticket.pk}/"))


def tree_pages(places: dict) -> None:
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.filter(is_superuser=True).first()
    for scope in ("city", "district"):
        area = places[scope]
        client = _client(admin if scope == "city" else _head(area))
        timed(f"tree_browser_{scope}", lambda c=client, a=area: c.get(f"/areas/{a.code}/"))

        timed(f"coverage_{scope}", lambda c=client: c.get("/residents/coverage/"))
        name = places["community"].name
        timed(f"area_search_{scope}", lambda c=client, n=name: c.get(f"/areas/search/?q={n}"))


def notice_boards(places: dict) -> None:
    """The notice board (便民公示牌) of a community and a grid: boards are kept from the
    community down (grids.selectors.BOARD_KINDS), so there is none at the city or district."""
    client = _client(_head(places["district"]))
    for scope in ("community", "grid"):
        area = places[scope]
        timed(f"notice_board_{scope}", lambda a=area: client.get(f"/areas/{a.code}/board/"))


LUA_P95 = """
done = function(summary, latency, requests)
  io.write(string.format("p50_us %d\\np95_us %d\\n", latency:percentile(50),
    latency:percentile(95)))
end
"""


def http(places: dict, *, seconds: int = 10, connections: int = 8) -> None:
    """Requests per second and p50/p95 of the inbox and the dashboard under gunicorn (two
    workers: one per core) with wrk on loopback, next to ``/livez`` (no session, no query)
    and the notification badge (the lightest signed-in page) on the same server. Skipped
    with a comment when wrk is not installed."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    if shutil.which("wrk") is None:
        print("# http: wrk not installed (Debian package wrk); skipped", flush=True)
        return
    user = _head(places["district"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    port = "18765"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1"},
    )
    try:
        time.sleep(3)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA_P95)
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        for name, path, headers in (
            ("livez", "/livez", []),
            # The lightest signed-in page: session, login, one count (the navbar's badge).
            ("badge", "/notifications/badge/", ["-H", f"Cookie: {cookie}"]),
            ("inbox_district", "/tickets/?tab=area", ["-H", f"Cookie: {cookie}"]),
            ("dashboard_district", "/", ["-H", f"Cookie: {cookie}"]),
        ):
            url = f"http://127.0.0.1:{port}{path}"
            out = subprocess.run(
                [
                    "wrk",
                    "-t2",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "-s",
                    script.name,
                    "-H",
                    "X-Forwarded-Proto: https",
                    *headers,
                    url,
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rate = float(
                next(
                    line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")
                )
            )
            p50 = int(
                next(line.split()[1] for line in out.splitlines() if line.startswith("p50_us"))
            )
            p95 = int(
                next(line.split()[1] for line in out.splitlines() if line.startswith("p95_us"))
            )
            errors = [line for line in out.splitlines() if "Non-2xx" in line]
            emit(f"http_{name}_requests_per_s", round(rate, 1))
            emit(f"http_{name}_p50_ms", round(p50 / 1000, 1))
            emit(f"http_{name}_p95_ms", round(p95 / 1000, 1))
            if errors:
                print(f"# http {name}: {errors[0].strip()}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def escalation_backlog(size: int = 1_000) -> None:
    """The overdue job's batches (``workflow._escalate_batch``) over ``size`` overdue
    problems in hand below the county office, in a transaction rolled back afterwards:
    seconds and queries per escalated problem. (The seeded city has some 30,000 overdue
    problems; the whole backlog is one figure more, ``--full-backlog``.)"""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from issues import rules
    from issues.models import Level, Ticket
    from issues.services import workflow

    class Rollback(Exception):
        pass

    now = timezone.now()
    try:
        with transaction.atomic():
            ids = list(
                Ticket.objects.filter(state__in=rules.IN_HAND_STATES)
                .exclude(level__in=[Level.COUNTY, Level.DEPARTMENT])
                .order_by("pk")
                .values_list("pk", flat=True)[:size]
            )
            Ticket.objects.filter(pk__in=ids).update(deadline=now - dt.timedelta(hours=1))
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                count = sum(
                    workflow._escalate_batch(ids[i : i + workflow.OVERDUE_BATCH], now=now)
                    for i in range(0, len(ids), workflow.OVERDUE_BATCH)
                )
                seconds = time.perf_counter() - started
            emit("escalate_overdue_tickets", count)
            emit("escalate_overdue_seconds", round(seconds, 2))
            emit("escalate_overdue_ms_per_ticket", round(1000 * seconds / max(count, 1), 1))
            emit("escalate_overdue_queries_per_ticket", round(len(queries) / max(count, 1), 2))
            raise Rollback
    except Rollback:
        pass


class _Rollback(Exception):
    pass


def worker_portal(places: dict, *, bulk: int = 100, parts: int = 500) -> None:
    """The worker portal's ledger (台账) and desk, issue 13's paths: the ledger as XLSX
    (up to ``LEDGER_ROWS`` rows) and for print, a numbered page deep in the inbox, the
    engagement panel, a department's parts; bulk triage of ``bulk`` reported problems and
    the overdue-parts job over ``parts`` parts, each in a transaction rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from grids.models import Department
    from issues import rules
    from issues.models import DepartmentTask, Level, Meeting, Ticket
    from issues.services import bulk as bulk_services
    from issues.services import meetings

    for scope in ("district", "community"):
        client = _client(_head(places[scope]))
        timed(f"ledger_xlsx_{scope}", lambda c=client: c.get("/tickets/ledger.xlsx?tab=area"), 3)
        timed(f"ledger_print_{scope}", lambda c=client: c.get("/tickets/ledger/print/?tab=area"), 3)
        timed(
            f"inbox_{scope}_area_25_page_20", lambda c=client: c.get("/tickets/?tab=area&page=20")
        )
        timed(f"engagement_panel_{scope}", lambda c=client: c.get("/areas/engagement/"))
    department = Department.objects.filter(handlers__user__isnull=False).order_by("pk").first()
    if department is not None:
        handler = _client(department.handlers.filter(user__isnull=False).first().user)
        timed("department_parts", lambda: handler.get("/tickets/parts/"))

    district = places["district"]
    actor = _head(district)
    now = timezone.now()
    try:
        with transaction.atomic():
            ids = list(
                Ticket.objects.filter(district=district, state=Ticket.State.REPORTED)
                .order_by("-pk")
                .values_list("pk", flat=True)[:bulk]
            )
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = bulk_services.tickets_assign_many(ids=ids, tier="simple", actor=actor)
                seconds = time.perf_counter() - started
            emit("bulk_triage_problems", len(result.done))
            emit("bulk_triage_ms", round(1000 * seconds, 1))
            emit("bulk_triage_queries", len(queries))
            raise _Rollback
    except _Rollback:
        pass
    try:
        with transaction.atomic():
            # The seeded meetings' parts are all done: ``parts`` problems in hand become
            # problems with one department each, every part overdue (rolled back after).
            held = Meeting.objects.order_by("pk").first()
            departments = list(Department.objects.order_by("pk"))
            ids = list(
                Ticket.objects.filter(state__in=rules.IN_HAND_STATES, level=Level.GRID)
                .order_by("pk")
                .values_list("pk", flat=True)[:parts]
            )
            Ticket.objects.filter(pk__in=ids).update(level=Level.DEPARTMENT, tier="hard")
            DepartmentTask.objects.bulk_create(
                DepartmentTask(
                    meeting=held,
                    ticket_id=pk,
                    department=departments[i % len(departments)],
                    instructions="限期办结",
                    deadline=now - dt.timedelta(hours=1),
                )
                for i, pk in enumerate(ids)
            )
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                count = meetings.parts_escalate_overdue(now=now)
                seconds = time.perf_counter() - started
            emit("parts_escalate_overdue_parts", count)
            emit("parts_escalate_overdue_ms_per_part", round(1000 * seconds / max(count, 1), 1))
            emit("parts_escalate_overdue_queries_per_part", round(len(queries) / max(count, 1), 2))
            raise _Rollback
    except _Rollback:
        pass


def resident_pages(places: dict) -> None:
    from django.conf import settings

    from citizens.session import SESSION_KEY
    from issues.models import Ticket
    from residents.accounts import account_privacy_accept
    from residents.models import ResidentAccount

    phone = (
        Ticket.objects.filter(area=places["unit"])
        .exclude(reporter_phone="")
        .values_list("reporter_phone", flat=True)
        .first()
    )
    account, _new = ResidentAccount.objects.get_or_create(phone=phone)
    account_privacy_accept(account=account, display_name="居民")
    client = _client(None)
    session = client.session
    session[SESSION_KEY] = account.pk
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    timed("resident_home", lambda: client.get("/r/"))
    mine = Ticket.objects.filter(reporters__phone=phone).order_by("-pk").first()
    timed("resident_problem", lambda: client.get(f"/r/problems/{mine.pk}/"))
    if _engaged():
        timed("resident_wishes", lambda: client.get("/r/wishes/"))
        timed("resident_points", lambda: client.get("/r/points/"))


def _engaged() -> bool:
    """Whether the city holds the engagement (``seed_city --engagement-only`` adds it)."""
    from wishes.models import Wish

    return Wish.objects.exists()


def engagement(places: dict) -> None:
    """The engagement pages at city size: the wish list (心愿清单) of a district officer and
    a community worker, first page and 40 pages down; the points ranking and the month's
    最美三长 of a community, a district and the city (an administrator); the proposals list
    and the result of the community's closed proposal with the largest roll; the rhythm of
    the regular meetings at district and community scope. A city seeded before engagement
    existed reports them absent (a comment) instead."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from deliberation.models import Proposal

    if not _engaged():
        print("# engagement: none in this city (seed_city --engagement-only adds it)", flush=True)
        return
    admin = get_user_model().objects.filter(is_superuser=True).first()
    users = {scope: _head(places[scope]) for scope in ("district", "community")}
    users["city"] = admin
    for scope in ("district", "community"):
        client = _client(users[scope])
        timed(f"wishes_{scope}_25", lambda c=client: c.get("/wishes/"))
        timed(f"wishes_{scope}_deep", lambda c=client: c.get("/wishes/?page=40"))
    for scope in ("community", "district", "city"):
        client = _client(users[scope])
        timed(f"points_ranking_{scope}", lambda c=client: c.get("/points/"))
        timed(f"best_heads_{scope}", lambda c=client: c.get("/digests/best-heads/"))
    for scope in ("district", "community"):
        client = _client(users[scope])
        timed(f"proposals_{scope}", lambda c=client: c.get("/proposals/"))
        timed(f"councils_rhythm_{scope}", lambda c=client: c.get("/councils/"))
    closed = (
        Proposal.objects.filter(state="closed", district=places["district"])
        .annotate(households=Count("roll"))
        .order_by("-households", "pk")
        .first()
    )
    if closed is not None:
        client = _client(_head(Proposal.objects.get(pk=closed.pk).area))
        timed("proposal_result_page", lambda c=client: c.get(f"/proposals/{closed.pk}/"))
        emit("proposal_result_page_households", closed.households)


def digests(kinds=("daily", "weekly", "monthly")) -> None:
    """The whole city's digests of each kind, built and delivered (console mail), in a
    transaction rolled back afterwards: seconds and queries."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from digests import services as digest_services

    class Rollback(Exception):
        pass

    for kind in kinds:
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    digest_services.digests_run_due(kind=kind)
                    seconds = time.perf_counter() - started
                emit(f"digest_{kind}_city_seconds", round(seconds, 1))
                emit(f"digest_{kind}_city_queries", len(queries))
                _digest_mails(kind)
                raise Rollback
        except Rollback:
            pass


MAILED = 1000


def _digest_mails(kind: str) -> None:
    """The seeded heads have no e-mail address, so the run above mails nothing: here
    ``MAILED`` of the digests it built get a recipient each and go out (to Django's
    in-memory mailbox), each rendered from its figures as it is sent."""
    from django.contrib.auth.models import User
    from django.core import mail
    from django.test import override_settings

    from digests import services as digest_services
    from digests.models import Digest, DigestDelivery

    user = User.objects.order_by("pk").first()
    digests = Digest.objects.filter(kind=kind).order_by("-period_start", "pk")[:MAILED]
    DigestDelivery.objects.bulk_create(
        DigestDelivery(digest=d, recipient=user, email=f"bench{d.pk}@example.org") for d in digests
    )
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        mail.outbox = []
        started = time.perf_counter()
        sent = digest_services.digests_deliver(kind=kind)
        seconds = time.perf_counter() - started
    emit(f"digest_{kind}_mails", sent)
    emit(f"digest_{kind}_ms_per_mail", round(seconds * 1000 / max(sent, 1), 2))


def notifications_seed() -> None:
    """One notification per handled problem (most of them read), the first time: the
    notification list and the unread count get a city's worth of rows to work over."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM issues_notification")
        if cursor.fetchone()[0]:
            return
        cursor.execute(
            "INSERT INTO issues_notification (recipient_id, kind, ticket_id, subject, body,"
            " said, created_at, read_at) SELECT e.actor_id, 'assigned', e.ticket_id,"
            " '您有新问题待办', '问题', '{}'::jsonb, e.at,"
            " CASE WHEN t.state IN ('closed', 'declined') THEN e.at END"
            " FROM issues_ticketevent e JOIN issues_ticket t ON t.id = e.ticket_id"
            " WHERE e.kind = 'accept' AND e.actor_id IS NOT NULL"
        )
        cursor.execute("ANALYZE issues_notification")


def notification_pages(places: dict) -> None:
    client = _client(_head(places["grid"]))
    timed("notifications_grid_head", lambda: client.get("/notifications/"))
    timed("notification_badge_grid_head", lambda: client.get("/notifications/badge/"))


def run(*, with_digests: bool = True) -> None:
    from django.db import connection

    from grids.models import Area
    from issues.models import Ticket, TicketDay

    connection.force_debug_cursor = False
    notifications_seed()
    emit(
        "# city",
        f"{Ticket.objects.count()} problems, {Area.objects.count()} areas, "
        f"{TicketDay.objects.count()} day rows",
    )
    if _engaged():
        from deliberation.models import Ballot
        from points.models import PointEntry
        from wishes.models import Wish

        emit(
            "# engagement",
            f"{Wish.objects.count()} wishes, {PointEntry.objects.count()} points entries, "
            f"{Ballot.objects.count()} ballots",
        )
    places = _places()
    dashboards(places)
    inboxes(places)
    ticket_page(places)
    notification_pages(places)
    tree_pages(places)
    notice_boards(places)
    resident_pages(places)
    engagement(places)
    worker_portal(places)
    escalation_backlog()
    http(places)
    if with_digests:
        digests()


CITY_DB = "portal_bench_city"

# The settings every bench on a seeded city runs Django with: production's (DEBUG off: no
# query log, the cached template loader); DEBUG off wants SMTP and collectstatic, and the
# benches send no mail and collect nothing.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-only-" + "x" * 50,
    "ALLOWED_HOSTS": "testserver",
    "LOG_LEVEL": "WARNING",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "STATIC_HASHED": "false",
}


def django_on_seeded_city(prog: str) -> None:
    """Set Django up in this process on ``DATABASE_URL`` (a seeded city) with
    ``PRODUCTION_ENV``, for the one-page benches; refuses anything but PostgreSQL."""
    import os
    import sys

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"{prog}: set DATABASE_URL to the PostgreSQL database of a seeded city")
    for name, value in {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "portal.settings"}.items():
        os.environ.setdefault(name, value)
    sys.path.insert(0, os.getcwd())
    import django

    django.setup()


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.city [--city-url URL] [--no-digests]``: the city bench in a
    process of its own (Django is set up for the city's database)."""
    import argparse
    import os
    import subprocess
    import sys
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    from bench import db

    parser = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__)
    parser.add_argument("--city-url", default="", help=f"the city's database ({CITY_DB})")
    parser.add_argument("--no-digests", action="store_true", help="leave out the digests")
    parser.add_argument("--scale", default="1", help="seed_city --scale when building it")
    args = parser.parse_args(argv)
    base = os.environ.get("DATABASE_URL", "")
    db.bench_url(base)  # refuses anything but PostgreSQL, with the message
    url = args.city_url
    if not url:
        parts = urlsplit(base)
        url = urlunsplit(("postgresql", parts.netloc, "/" + CITY_DB, parts.query, ""))
    name = urlsplit(url).path.lstrip("/")
    env = {
        **os.environ,
        **{name: os.environ.get(name, value) for name, value in PRODUCTION_ENV.items()},
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": "testserver",  # the test client's host, whatever the shell says
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.getcwd(),
    }
    admin = db._admin_connect(url)
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"# building the city in {name} (seed_city --scale {args.scale})", flush=True)
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True)
    if not exists:
        subprocess.run([*manage, "seed_city", "--scale", args.scale], env=env, check=True)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    code = (
        "import django; django.setup(); from bench import city; "
        f"city.run(with_digests={not args.no_digests})"
    )
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


if __name__ == "__main__":
    main()
