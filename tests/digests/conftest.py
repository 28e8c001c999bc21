"""The digests' world: the persona tree of ``tests/conftest.py`` and a scripted week of
problems and visits, played through the services with the clock frozen at each step.

    抚阳市 › 莲溪县 › 莲城街道 ├─ 莲心社区 A: 第1网格 G1 (1栋 B1: U1, U2), 第2网格 G2 (2栋 B2: U3)
                                 └─ 旴江社区 B: 第1网格 G3 (1栋 B3: U4)

Who handles what (no tier policy: simple 3, complex 7 working days; rectification 3): a
simple problem at U1 goes to the unit head, at U2 to the building head (U2 has no head), at
U3 to community A (nobody in post on U3, B2 or G2), at U4 to community B's secretary (the
"outsider"); a complex one at G1 to the grid head; one reported at A itself to community A.

The timeline (2025, China Standard Time; 28 February is a Friday, no holidays near):

    Fri 02-28 09:00  T6 simple at U1 (unit head; deadline Wed 03-05)
              10:00  unit head visits U1's household (February: not in March's figures)
    Mon 03-03 09:00  T1 simple at U1 (unit head; deadline Thu 03-06)
              15:00  unit head visits U1's household
    Tue 03-04 09:00  T4 complex at G1 (grid head; deadline Thu 03-13)
              10:00  T9 simple at U3 (community A; deadline Fri 03-07)
              14:00  grid head visits G1's household
              15:00  T9 resolved by community A
    Wed 03-05 09:00  T5 simple at U4 (community B)
              10:00  grid head visits U1's household
              11:00  T8 simple at U1 (unit head)
              17:00  T8 resolved by the unit head
    Thu 03-06 00:05  overdue sweep: T6 lifted to building B1, rectification list, new
                     deadline Tue 03-11
              09:00  community B's secretary visits U4's household
              10:00  T2 simple at U2 (building head; deadline Tue 03-11)
              11:00  T3 at U3, not triaged
              12:00  T7 simple at community A itself (deadline Tue 03-11)
              14:00  T4 progress by the grid head
              15:00  T5 resolved by community B
              16:00  T4 resolved by the grid head
              17:00  T9 rated satisfied by its reporter (closed)
              18:00  ── the daily digests of Thursday are built here ──
              19:00  T10 simple at U1 (unit head; deadline Tue 03-11)
    Fri 03-07 00:05  overdue sweep: T1 lifted to building B1, rectification list, new
                     deadline Wed 03-12
              10:00  T5 rated unsatisfied ("还是漏水") by its reporter: reopened, new
                     deadline Wed 03-12
              11:00  T4 rated basically satisfied on a return call by community A's
                     secretary, who did not work on it (closed)
              18:00  ── the daily digests of Friday ──
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from issues import services
from issues.models import Category, Ticket
from issues.rules import ReporterActor
from residents.services import visit_log
from tests.clock import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


THURSDAY = dt.date(2025, 3, 6)
FRIDAY = dt.date(2025, 3, 7)
THURSDAY_EVENING = local(2025, 3, 6, 18, 0)
FRIDAY_EVENING = local(2025, 3, 7, 18, 0)
# the weekly digest of 3–9 March, built late: no overdue sweep ran since Friday
WEEK_BUILT = local(2025, 3, 12, 9, 0)
MONTH_BUILT = local(2025, 4, 1, 8, 30)

EMAILS = ("community", "grid_head", "street", "county", "outsider", "unit_head")


@pytest.fixture
def clock():
    clock = Clock(local(2025, 2, 27, 9, 0))
    yield clock
    clock.stop()


class Rhythm:
    """``world`` plus a category, e-mail addresses and the timeline above, played on demand
    with ``play(until)``. Tickets are kept by name: ``r.t["T4"]``."""

    def __init__(self, world, clock: Clock):
        self.world = world
        self.clock = clock
        for key in EMAILS:
            user = world.users[key]
            user.email = f"{key}@grid.example.org"
            user.save(update_fields=["email"])
        self.repair = Category.objects.create(code="repair", name="公共设施维修")
        self.t: dict[str, Ticket] = {}
        self._steps = list(self._timeline())
        self._done = 0

    def __getattr__(self, name):
        return getattr(self.world, name)

    def user(self, key):
        return self.world.users[key]

    # --- steps ---

    def report(self, name: str, place, tier: str | None = None) -> None:
        ticket = services.ticket_report(
            area=place,
            category=self.repair,
            channel=Ticket.Channel.VISIT,
            description=f"{name}: 楼道灯坏了",
            reporter=self.world.residents["U1"],
            tier=tier,
        )
        self.t[name] = ticket

    def fresh(self, name: str) -> Ticket:
        return Ticket.objects.get(pk=self.t[name].pk)

    def resolve(self, name: str, persona: str) -> None:
        services.ticket_resolve(
            ticket=self.fresh(name), actor=self.user(persona), feedback="已处理"
        )

    def rate(self, name: str, persona: str | None, rating: str, comment: str = "") -> None:
        """The reporter rates it (``persona`` None), or ``persona``, who did not work on
        it, logs a return call."""
        ticket = self.fresh(name)
        if persona is None:
            actor = ReporterActor(ticket.reporters.order_by("pk").first())
        else:
            actor = self.user(persona)
        services.ticket_rate(ticket=ticket, actor=actor, rating=rating, comment=comment)

    def visit(self, persona: str, household: str) -> None:
        visit_log(
            household=self.world.households[household],
            visitor=self.world.persons[persona],
            visited_at=self.clock.moment,
        )

    def _timeline(self):
        w = self.world
        yield local(2025, 2, 28, 9), lambda: self.report("T6", w.u1, "simple")
        yield local(2025, 2, 28, 10), lambda: self.visit("unit_head", "U1")
        yield local(2025, 3, 3, 9), lambda: self.report("T1", w.u1, "simple")
        yield local(2025, 3, 3, 15), lambda: self.visit("unit_head", "U1")
        yield local(2025, 3, 4, 9), lambda: self.report("T4", w.g1, "complex")
        yield local(2025, 3, 4, 10), lambda: self.report("T9", w.u3, "simple")
        yield local(2025, 3, 4, 14), lambda: self.visit("grid_head", "G1")
        yield local(2025, 3, 4, 15), lambda: self.resolve("T9", "community")
        yield local(2025, 3, 5, 9), lambda: self.report("T5", w.u4, "simple")
        yield local(2025, 3, 5, 10), lambda: self.visit("grid_head", "U1")
        yield local(2025, 3, 5, 11), lambda: self.report("T8", w.u1, "simple")
        yield local(2025, 3, 5, 17), lambda: self.resolve("T8", "unit_head")
        yield local(2025, 3, 6, 0, 5), lambda: services.tickets_escalate_overdue()
        yield local(2025, 3, 6, 9), lambda: self.visit("outsider", "U4")
        yield local(2025, 3, 6, 10), lambda: self.report("T2", w.u2, "simple")
        yield local(2025, 3, 6, 11), lambda: self.report("T3", w.u3)
        yield local(2025, 3, 6, 12), lambda: self.report("T7", w.community_a, "simple")
        yield (
            local(2025, 3, 6, 14),
            lambda: services.ticket_progress(
                ticket=self.fresh("T4"), actor=self.user("grid_head"), note="已联系物业"
            ),
        )
        yield local(2025, 3, 6, 15), lambda: self.resolve("T5", "outsider")
        yield local(2025, 3, 6, 16), lambda: self.resolve("T4", "grid_head")
        yield local(2025, 3, 6, 17), lambda: self.rate("T9", None, "satisfied")
        yield local(2025, 3, 6, 19), lambda: self.report("T10", w.u1, "simple")
        yield local(2025, 3, 7, 0, 5), lambda: services.tickets_escalate_overdue()
        yield (
            local(2025, 3, 7, 10),
            lambda: self.rate("T5", None, "unsatisfied", "还是漏水"),
        )
        yield local(2025, 3, 7, 11), lambda: self.rate("T4", "community", "basic")

    def play(self, until: dt.datetime) -> None:
        """Run every step up to ``until``, then leave the clock at ``until``."""
        while self._done < len(self._steps) and self._steps[self._done][0] <= until:
            moment, step = self._steps[self._done]
            self.clock.set(moment)
            step()
            self._done += 1
        self.clock.set(until)

    def ids(self, *names: str) -> list[int]:
        return [self.t[name].pk for name in names]


@pytest.fixture
def rhythm(world, clock, settings) -> Rhythm:
    # The scripted week gives each community one to three ratings: rank from one on, so the
    # ranking's order is what the tests read (tests/digests/test_ranking.py covers the
    # minimum of the default settings).
    settings.RANKING_MIN_RATED = 1
    return Rhythm(world, clock)
