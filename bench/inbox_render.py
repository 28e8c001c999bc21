"""What the inbox costs at 25 and 100 rows, tab by tab, and where a 100-row page's time goes.

    DATABASE_URL=postgres://…/portal_inbox python -m bench.inbox_render [--repeat 20] [--profile]

The database is the one ``DATABASE_URL`` names, seeded beforehand (``python manage.py
seed_city --scale 0.02``: 20,000 problems, about four minutes); nothing in it is changed.
The pages are served by Django's test client with production settings (DEBUG off, the
cached template loader), as HTTPS, signed in as the head of the first unit's community and
of its district (as in ``bench/city.py``).

Each page ``/tickets/?tab=<tab>&size=<n>`` is asked for ``--warmup`` times, then
``--repeat`` times. ``inbox_<scope>_<tab>_<n>_ms`` is the median wall time of the request
(``time.perf_counter``), ``…_cpu_ms`` its median ``time.process_time`` (this process only:
PostgreSQL's share is not in it), ``…_view_ms`` the view's own work before it renders and
``…_render_ms`` the template's (both wall time, median), ``…_rows`` the
rows shown and ``…_queries`` the queries of one request. ``inbox_<scope>_<tab>_per_row_ms``
is ``(t100 - t25) / (rows100 - rows25)``: what one more row costs. ``--profile`` profiles
``--repeat`` 100-row pages of the district's area tab and prints the top functions as
comments.

The figures move with the machine's load: compare runs taken back to back.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time

from bench.city import _client, _head, django_on_seeded_city
from bench.report import comment, emit

TABS = ("mine", "area", "overdue", "rectification", "rating")
SIZES = (25, 100)


class Split:
    """Wall time of one request's view before it renders and of its page's template (an
    include or a widget inside it counts to the template), and the queries it makes."""

    def __init__(self):
        self.view = self.render = 0.0
        self.queries = 0
        self.depth = 0

    def reset(self) -> None:
        self.view = self.render = 0.0
        self.queries = 0

    def count_query(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


SPLIT = Split()


def instrument() -> None:
    from django.core.handlers import base as handlers
    from django.template import base as template_base

    make_view_atomic = handlers.BaseHandler.make_view_atomic

    def view_timed(self, view):
        view = make_view_atomic(self, view)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            before = SPLIT.render
            try:
                return view(*args, **kwargs)
            finally:
                SPLIT.view += time.perf_counter() - started - (SPLIT.render - before)

        return timed

    handlers.BaseHandler.make_view_atomic = view_timed
    template_render = template_base.Template.render

    def render(self, context):
        if SPLIT.depth:
            return template_render(self, context)
        SPLIT.depth += 1
        started = time.perf_counter()
        try:
            return template_render(self, context)
        finally:
            SPLIT.render += time.perf_counter() - started
            SPLIT.depth -= 1

    template_base.Template.render = render


def _users() -> dict:
    """The heads of the first unit's community and district."""
    from grids.models import Area
    from grids.selectors import area_keys

    unit = Area.objects.filter(kind="unit").order_by("pk").first()
    if unit is None:
        raise SystemExit(
            "bench.inbox_render: the database holds no city; seed one first, e.g.\n"
            "  python manage.py seed_city --scale 0.02"
        )
    keys = area_keys(unit)
    users = {}
    for scope in ("community", "district"):
        users[scope] = _head(keys[f"{scope}_id"])
    return users


def measure(name: str, client, url: str, *, warmup: int, repeat: int) -> dict:
    from django.db import connection

    response = None
    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{name}: HTTP {response.status_code} for {url}, not a page")
    rows = response.content.count(b"<tr data-ticket=")
    walls, cpus, views, renders = [], [], [], []
    with connection.execute_wrapper(SPLIT.count_query):
        for _ in range(repeat):
            SPLIT.reset()
            cpu, wall = time.process_time(), time.perf_counter()
            client.get(url)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            views.append(SPLIT.view * 1000)
            renders.append(SPLIT.render * 1000)
    figures = {
        "ms": statistics.median(walls),
        "cpu_ms": statistics.median(cpus),
        "view_ms": statistics.median(views),
        "render_ms": statistics.median(renders),
    }
    for key, value in figures.items():
        emit(f"{name}_{key}", round(value, 2), 2)
    emit(f"{name}_rows", rows)
    emit(f"{name}_queries", SPLIT.queries)
    return {**figures, "rows": rows}


def profile(client, *, repeat: int, top: int = 40) -> None:
    url = "/tickets/?tab=area&size=100"
    for _ in range(3):
        client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(url)
    profiler.disable()
    for sort in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
        comment(f"profile of {repeat} district inboxes of 100 rows (area tab), by {sort}:")
        for line in out.getvalue().splitlines():
            if line.strip():
                comment(line)


def run(*, warmup: int, repeat: int, with_profile: bool, tabs: tuple[str, ...]) -> None:
    from django.db import connection

    connection.force_debug_cursor = False
    users = _users()
    instrument()
    per_row = []
    for scope, user in users.items():
        client = _client(user)
        for tab in tabs:
            got = {
                size: measure(
                    f"inbox_{scope}_{tab}_{size}",
                    client,
                    f"/tickets/?tab={tab}&size={size}",
                    warmup=warmup,
                    repeat=repeat,
                )
                for size in SIZES
            }
            more = got[100]["rows"] - got[25]["rows"]
            if more > 0:
                cost = (got[100]["ms"] - got[25]["ms"]) / more
                per_row.append(cost)
                emit(f"inbox_{scope}_{tab}_per_row_ms", round(cost, 3))
            else:
                comment(f"inbox_{scope}_{tab}: no more rows at 100 than at 25")
    if per_row:
        emit("inbox_per_row_median_ms", round(statistics.median(per_row), 3))
    if with_profile:
        profile(_client(users["district"]), repeat=repeat)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inbox_render", description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page (20)")
    parser.add_argument("--warmup", type=int, default=3, help="requests before timing (3)")
    parser.add_argument("--profile", action="store_true", help="cProfile 100-row inboxes")
    parser.add_argument("--tab", action="append", choices=TABS, help="only these tabs")
    args = parser.parse_args(argv)
    django_on_seeded_city("bench.inbox_render")
    import django

    comment(f"{django.get_version()}, python {sys.version.split()[0]}, load {os.getloadavg()}")
    run(
        warmup=args.warmup,
        repeat=args.repeat,
        with_profile=args.profile,
        tabs=tuple(args.tab or TABS),
    )


if __name__ == "__main__":
    main()
