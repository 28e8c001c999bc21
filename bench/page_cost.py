"""What every page pays before its own content, and what the dashboard's content costs, on a
small seeded city.

    DATABASE_URL=postgres://…/portal_dash python -m bench.page_cost [--repeat 30] [--profile]

The database is the one ``DATABASE_URL`` names, seeded beforehand (``python manage.py
seed_city --scale 0.02``: 20,000 problems, about three minutes); nothing in it is changed
but one superuser added when there is none. The pages are served by Django's test client
with production settings (DEBUG off, the cached template loader), as HTTPS, signed in as
the head of a grid, of a community and of a street (the first unit's chain, as in
``bench/city.py``) and as an administrator.

Each page is asked for ``--warmup`` times, then ``--repeat`` times; ``<page>_ms`` is the
median time of the test client's request, ``<page>_cpu_ms`` the median CPU time this
process spent on it (the database's time left out: on a loaded machine the steadier figure
of the page's own work), ``<page>_queries`` the queries of one request. Every request is
split into phases, each the time (``_ms``, ``_cpu_ms``) spent in it and not in a phase
inside it (each phase's figure is its median over the runs, so the phases need not add up
to the whole exactly):

* ``outside``: the test client, the handler and the middleware (session, user, CSRF, CSP …);
* ``view``: the view's own work before it renders (the dashboard's figures);
* ``context_processors``: the template context processors, called once per page;
* ``navbar``: the navbar's menu and unread count, worked out on first use in base.html;
* ``base``: the rest of base.html (and everything outside its blocks);
* ``content``: the page's own blocks (``content``, ``scripts``, ``head``, ``title``).

``<page>_fixed_ms`` (and ``_fixed_cpu_ms``) is outside + context_processors + navbar + base
(what every page pays), ``<page>_own_ms`` view + content. ``--profile`` profiles
``--repeat`` community dashboards and prints the top functions as comments.
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
from collections import defaultdict
from contextlib import contextmanager

from bench.city import _client, _head, django_on_seeded_city
from bench.report import comment, emit

PHASES = ("outside", "view", "context_processors", "navbar", "base", "content")
FIXED = ("outside", "context_processors", "navbar", "base")
OWN_BLOCKS = frozenset({"content", "scripts", "head", "title"})


class Phases:
    """Exclusive time (wall clock and this thread's CPU) and queries per phase of one
    request: entering a phase pauses the one it is entered from."""

    def __init__(self):
        self.stack: list[str] = []
        self.started = (0.0, 0.0)
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.queries: dict[str, int] = defaultdict(int)

    def reset(self, phase: str = "outside") -> None:
        self.wall.clear()
        self.cpu.clear()
        self.queries.clear()
        self.stack = [phase]
        self.started = (time.perf_counter(), time.thread_time())

    def _switch(self) -> None:
        now = (time.perf_counter(), time.thread_time())
        if self.stack:
            self.wall[self.stack[-1]] += now[0] - self.started[0]
            self.cpu[self.stack[-1]] += now[1] - self.started[1]
        self.started = now

    @contextmanager
    def phase(self, name: str):
        self._switch()
        self.stack.append(name)
        try:
            yield
        finally:
            self._switch()
            self.stack.pop()

    def stop(self) -> tuple[dict[str, float], dict[str, float]]:
        """Milliseconds per phase: wall clock, CPU."""
        self._switch()
        self.stack = []
        return (
            {name: self.wall.get(name, 0.0) * 1000 for name in PHASES},
            {name: self.cpu.get(name, 0.0) * 1000 for name in PHASES},
        )

    def count_query(self, execute, sql, params, many, context):
        if self.stack:
            self.queries[self.stack[-1]] += 1
        return execute(sql, params, many, context)


PHASE = Phases()


def _in_phase(name: str, func):
    def wrapped(*args, **kwargs):
        with PHASE.phase(name):
            return func(*args, **kwargs)

    wrapped.__wrapped__ = func
    return wrapped


def instrument() -> None:
    """Hooks the phases into Django: the view, the context processors, the navbar's lazy
    parts, the template and its own blocks."""
    from django.core.handlers import base as handlers
    from django.template import base as template_base
    from django.template import engines, loader_tags

    import issues.context_processors
    import portal.menu

    make_view_atomic = handlers.BaseHandler.make_view_atomic

    def view_in_phase(self, view):
        return _in_phase("view", make_view_atomic(self, view))

    handlers.BaseHandler.make_view_atomic = view_in_phase

    engine = engines["django"].engine
    engine.template_context_processors = tuple(
        _in_phase("context_processors", processor)
        for processor in engine.template_context_processors
    )
    # Worked out the first time base.html asks (SimpleLazyObject, cached_property).
    portal.menu.menu_for = _in_phase("navbar", portal.menu.menu_for)
    issues.context_processors.notifications_unread_count = _in_phase(
        "navbar", issues.context_processors.notifications_unread_count
    )

    template_render = template_base.Template.render

    def render(self, context):
        # The page's template (rendered in the view, or after it by a TemplateResponse),
        # not an include or a form's widget inside it.
        if PHASE.stack and PHASE.stack[-1] in ("view", "outside"):
            with PHASE.phase("base"):
                return template_render(self, context)
        return template_render(self, context)

    template_base.Template.render = render

    block_render = loader_tags.BlockNode.render

    def block(self, context):
        if self.name in OWN_BLOCKS and PHASE.stack and PHASE.stack[-1] == "base":
            with PHASE.phase("content"):
                return block_render(self, context)
        return block_render(self, context)

    loader_tags.BlockNode.render = block


def _users() -> dict:
    """The head of the first unit's grid, community and street, and an administrator."""
    from django.contrib.auth import get_user_model

    from grids.models import Area
    from grids.selectors import area_keys

    unit = Area.objects.filter(kind="unit").order_by("pk").first()
    if unit is None:
        raise SystemExit(
            "bench.page_cost: the database holds no city; seed one first, e.g.\n"
            "  python manage.py seed_city --scale 0.02"
        )
    keys = area_keys(unit)
    users = {}
    for scope in ("grid", "community", "street"):
        users[scope] = _head(keys[f"{scope}_id"])
    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("bench-admin", password=None)
    users["admin"] = admin
    return users


def measure(name: str, client, url: str, *, warmup: int, repeat: int) -> None:
    from django.db import connection

    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{name}: HTTP {response.status_code} for {url}, not a page")
    wall, cpu = [], []
    phase_wall, phase_cpu = defaultdict(list), defaultdict(list)
    queries: dict[str, int] = {}
    with connection.execute_wrapper(PHASE.count_query):
        for _ in range(repeat):
            PHASE.reset()
            started = (time.perf_counter(), time.thread_time())
            client.get(url)
            wall.append((time.perf_counter() - started[0]) * 1000)
            cpu.append((time.thread_time() - started[1]) * 1000)
            walls, cpus = PHASE.stop()
            for phase in PHASES:
                phase_wall[phase].append(walls[phase])
                phase_cpu[phase].append(cpus[phase])
            queries = dict(PHASE.queries)
    walls = {phase: statistics.median(phase_wall[phase]) for phase in PHASES}
    cpus = {phase: statistics.median(phase_cpu[phase]) for phase in PHASES}
    emit(f"{name}_ms", statistics.median(wall), 2)
    emit(f"{name}_cpu_ms", statistics.median(cpu), 2)
    emit(f"{name}_queries", sum(queries.values()))
    emit(f"{name}_fixed_ms", sum(walls[p] for p in FIXED), 2)
    emit(f"{name}_fixed_cpu_ms", sum(cpus[p] for p in FIXED), 2)
    emit(f"{name}_own_ms", walls["view"] + walls["content"], 2)
    emit(f"{name}_own_cpu_ms", cpus["view"] + cpus["content"], 2)
    for phase in PHASES:
        emit(f"{name}_{phase}_ms", walls[phase], 2)
        emit(f"{name}_{phase}_cpu_ms", cpus[phase], 2)
    comment(f"{name} queries by phase: " + ", ".join(f"{p} {n}" for p, n in queries.items()))


PAGES = (
    # The dashboard, a signed-in page with little of its own (a form), and the navbar's
    # badge, a fragment without base.html: session, user and one count.
    ("dashboard", "/"),
    ("password_page", "/accounts/password/change/"),
    ("badge", "/notifications/badge/"),
)


def profile(client, *, repeat: int, top: int = 35) -> None:
    for _ in range(3):
        client.get("/")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get("/")
    profiler.disable()
    for sort in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
        comment(f"profile of {repeat} community dashboards, by {sort}:")
        for line in out.getvalue().splitlines():
            if line.strip():
                comment(line)


SCOPES = ("grid", "community", "street", "admin")


def run(*, warmup: int, repeat: int, with_profile: bool, scopes=SCOPES, pages=None) -> None:
    from django.db import connection

    connection.force_debug_cursor = False
    users = _users()
    instrument()
    for scope in scopes:
        client = _client(users[scope])
        for page, url in PAGES:
            if pages is None or page in pages:
                measure(f"{page}_{scope}", client, url, warmup=warmup, repeat=repeat)
    if with_profile:
        profile(_client(users["community"]), repeat=repeat)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.page_cost", description=__doc__)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page (30)")
    parser.add_argument("--warmup", type=int, default=5, help="requests before timing (5)")
    parser.add_argument("--profile", action="store_true", help="cProfile a community dashboard")
    parser.add_argument(
        "--scope", action="append", choices=SCOPES, help="only these users (repeatable)"
    )
    parser.add_argument(
        "--page", action="append", choices=[name for name, _url in PAGES], help="only these pages"
    )
    args = parser.parse_args(argv)
    django_on_seeded_city("bench.page_cost")
    import django

    comment(f"{django.get_version()}, python {sys.version.split()[0]}, load {os.getloadavg()}")
    run(
        warmup=args.warmup,
        repeat=args.repeat,
        with_profile=args.profile,
        scopes=args.scope or SCOPES,
        pages=args.page,
    )


if __name__ == "__main__":
    main()
