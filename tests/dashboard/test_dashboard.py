"""The worker dashboard: every figure checked against a hand-counted world, scoped to the
viewer, and costing the same number of queries at two data sizes.

The clock is frozen at Wednesday 2025-06-11 10:00 China Standard Time: today is 11 June, the
ISO week started on Monday 9 June, and the 30-day window runs from 13 May to 11 June.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext

from grids import services as grid_services
from grids.rules import AreaKind
from grids.rules import PostTitle as T
from issues import services
from issues.models import Category, Ticket
from issues.rules import SYSTEM, ReporterActor
from tests.clock import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


NOW = local(2025, 6, 11, 10, 0)
TODAY = NOW.date()


@pytest.fixture
def clock():
    clock = Clock(NOW)
    yield clock
    clock.stop()


class Maker:
    """Tickets through the services, each step at the moment given."""

    def __init__(self, world, clock: Clock):
        self.world = world
        self.clock = clock
        self.categories: dict[str, Category] = {}

    def category(self, code: str) -> Category:
        names = {
            "repair": "公共设施维修",
            "noise": "噪音扰民",
            "garbage": "垃圾清运",
            "parking": "停车纠纷",
            "pets": "宠物扰民",
            "trees": "绿化养护",
            "lights": "楼道照明",
        }
        if code not in self.categories:
            self.categories[code] = Category.objects.create(code=code, name=names.get(code, code))
        return self.categories[code]

    def ticket(
        self,
        area,
        category: str,
        *,
        created: dt.datetime,
        tier: str | None = "simple",
        escalated: dt.datetime | None = None,
        progress: dt.datetime | None = None,
        resolved: dt.datetime | None = None,
        rated: tuple[str, dt.datetime] | None = None,
        by_call=None,
    ) -> Ticket:
        """``rated`` by the reporter, or on a return call by ``by_call`` (a user who did not
        work on it)."""
        with self.clock.at(created):
            ticket = services.ticket_report(
                area=area,
                category=self.category(category),
                channel=Ticket.Channel.VISIT,
                description="楼道灯坏了",
                reporter_phone="13700000000",
                tier=tier,
            )
        if escalated:
            with self.clock.at(escalated):
                services.ticket_escalate(ticket=ticket, actor=SYSTEM)
        if progress:
            with self.clock.at(progress):
                services.ticket_progress(ticket=ticket, actor=SYSTEM, note="在处理")
        if resolved:
            with self.clock.at(resolved):
                services.ticket_resolve(ticket=ticket, actor=SYSTEM, feedback="已处理")
        if rated:
            rating, at = rated
            with self.clock.at(at):
                actor = by_call or ReporterActor(ticket.reporters.order_by("pk").first())
                services.ticket_rate(ticket=ticket, actor=actor, rating=rating)
        ticket.refresh_from_db()
        return ticket


@pytest.fixture
def maker(world, clock) -> Maker:
    return Maker(world, clock)


@pytest.fixture
def tickets(world, maker) -> dict[str, Ticket]:
    """Ten problems in community A, two in community B.

    ===  =====  ========  =======  ==========  =================  ======================
    key  place  category  tier     reported    solved (level)     state / rating
    ===  =====  ========  =======  ==========  =================  ======================
    t1   U1     repair    simple   06-01       –                  assigned, overdue
    t2   U1     repair    simple   06-10 23:30 –                  in progress
    t3   G1     noise     complex  06-05       06-11 08:00 grid   closed, satisfied
    t4   U3     noise     simple   06-02       06-09 community    closed, basic (call)
    t5   U1     garbage   hard     06-03       (reopened)         in progress, unsatisfied
    t6   G2     parking   hard     05-20       05-25 county       resolved
    t7   A      lights    hard     05-01       05-02 street       closed, satisfied
    t8   U1     pets      –        06-11 00:30 –                  reported
    t11  U2     repair    simple   06-06       06-06 building     resolved
    t12  U2     trees     simple   05-13 00:30 05-14 building     resolved
    t9   U4     repair    simple   06-10       06-11 09:00 comm.  closed, satisfied  (B)
    t10  G3     noise     complex  06-01       –                  assigned, overdue  (B)
    ===  =====  ========  =======  ==========  =================  ======================
    """
    w, m = world, maker
    made = {
        "t1": m.ticket(w.u1, "repair", created=local(2025, 6, 1, 9)),
        "t2": m.ticket(
            w.u1,
            "repair",
            created=local(2025, 6, 10, 23, 30),
            progress=local(2025, 6, 11, 8),
        ),
        "t3": m.ticket(
            w.g1,
            "noise",
            tier="complex",
            created=local(2025, 6, 5, 9),
            resolved=local(2025, 6, 11, 8),
            rated=("satisfied", local(2025, 6, 11, 8, 30)),
        ),
        "t4": m.ticket(
            w.u3,
            "noise",
            created=local(2025, 6, 2, 9),
            resolved=local(2025, 6, 9, 9),
            rated=("basic", local(2025, 6, 9, 18)),
            by_call=w.users["street"],  # a return call; the others rate it themselves
        ),
        "t5": m.ticket(
            w.u1,
            "garbage",
            tier="hard",
            created=local(2025, 6, 3, 9),
            resolved=local(2025, 6, 8, 20),
            rated=("unsatisfied", local(2025, 6, 8, 21)),
        ),
        "t6": m.ticket(
            w.g2,
            "parking",
            tier="hard",
            created=local(2025, 5, 20, 9),
            escalated=local(2025, 5, 21, 9),
            resolved=local(2025, 5, 25, 9),
        ),
        "t7": m.ticket(
            w.community_a,
            "lights",
            tier="hard",
            created=local(2025, 5, 1, 9),
            resolved=local(2025, 5, 2, 9),
            rated=("satisfied", local(2025, 5, 3, 9)),
        ),
        "t8": m.ticket(w.u1, "pets", tier=None, created=local(2025, 6, 11, 0, 30)),
        "t11": m.ticket(
            w.u2, "repair", created=local(2025, 6, 6, 8), resolved=local(2025, 6, 6, 12)
        ),
        "t12": m.ticket(
            w.u2, "trees", created=local(2025, 5, 13, 0, 30), resolved=local(2025, 5, 14, 10)
        ),
        "t9": m.ticket(
            w.u4,
            "repair",
            created=local(2025, 6, 10, 10),
            resolved=local(2025, 6, 11, 9),
            rated=("satisfied", local(2025, 6, 11, 9, 30)),
        ),
        "t10": m.ticket(w.g3, "noise", tier="complex", created=local(2025, 6, 1, 9)),
    }
    return made


def dashboard(client, url: str = "/"):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response, response.context["dash"]


def rows_of(dash) -> dict[str, tuple]:
    return {
        row.name: (row.code, row.open, row.overdue, row.solved_window, row.rated, row.satisfied)
        for row in dash.rows
    }


def day_index(day: dt.date) -> int:
    return (day - (TODAY - dt.timedelta(days=29))).days


# --- the world the tickets assume --------------------------------------------------------------


def test_the_world_routes_as_the_table_says(tickets):
    t = tickets
    S = Ticket.State
    assert [t["t1"].state, t["t1"].level] == [S.ASSIGNED, "unit"]
    assert t["t1"].deadline < NOW < t["t2"].deadline
    assert [t["t3"].state, t["t3"].resolved_level] == [S.CLOSED, "grid"]
    assert [t["t4"].state, t["t4"].resolved_level] == [S.CLOSED, "community"]
    assert [t["t5"].state, t["t5"].rating, t["t5"].resolved_at] == [
        S.IN_PROGRESS,
        "unsatisfied",
        None,
    ]
    assert [t["t6"].state, t["t6"].resolved_level] == [S.RESOLVED, "county"]
    assert [t["t7"].state, t["t7"].resolved_level] == [S.CLOSED, "street"]
    assert [t["t8"].state, t["t8"].tier] == [S.REPORTED, ""]
    assert t["t11"].resolved_level == t["t12"].resolved_level == "building"
    assert [t["t9"].state, t["t9"].resolved_level] == [S.CLOSED, "community"]
    assert t["t10"].state == S.ASSIGNED and t["t10"].deadline < NOW


# --- the figures, as the community worker of A sees them --------------------------------------


def test_kpis(login_as, tickets):
    _response, dash = dashboard(login_as("community"))
    assert dash.kpis == {
        "open": 4,  # t1 t2 t5 t8
        "overdue": 1,  # t1
        "solved_today": 1,  # t3
        "solved_week": 2,  # t3, t4 (Monday); t5 was solved on Sunday and reopened
        "rated": 4,  # t3 t4 t5 t7; t6 t11 t12 are not rated yet
        "satisfied": 3,
        "satisfaction": 75.0,
        "rated_resident": 3,  # t3 t5 t7
        "rated_call": 1,  # t4, by the street officer
        "not_rated": 0,
    }


def test_kpis_render(login_as, tickets):
    response, _dash = dashboard(login_as("community"))
    html = response.content.decode()
    assert re.search(r'id="kpi-open">4<', html)
    assert re.search(r'id="kpi-overdue">1<', html)
    assert re.search(r'id="kpi-solved-today">1<', html)
    assert re.search(r'id="kpi-solved-week">2<', html)
    assert re.search(r'id="kpi-satisfaction">75.0%<', html)
    assert re.search(r'id="kpi-rated-resident">3<', html)
    assert re.search(r'id="kpi-rated-call">1<', html)
    assert re.search(r'id="kpi-not-rated">0<', html)


def test_not_rated_is_left_out_of_satisfaction(login_as, tickets, clock):
    Ticket.objects.filter(pk=tickets["t6"].pk).update(
        state=Ticket.State.CLOSED, rating=Ticket.Rating.NOT_RATED
    )
    _response, dash = dashboard(login_as("community"))
    assert (dash.kpis["rated"], dash.kpis["satisfaction"]) == (4, 75.0)
    assert dash.kpis["not_rated"] == 1  # counted beside the rate, not in it
    (g2,) = [row for row in dash.rows if row.code == tickets["t6"].area.code]
    assert (g2.rated, g2.rated_call, g2.not_rated) == (1, 1, 1)  # t4 at U3 rated on a call; t6


def test_declined_reports_are_in_no_figure(login_as, tickets, maker, world, clock):
    """A report declined at triage, and a duplicate merged into t2, were never problems taken
    on: the intake, the categories, the open counts, the rows and the satisfaction are what
    they were without them (the merged report's reporter joins t2, which counts once)."""
    before = dashboard(login_as("community"))[1]
    community = world.users["community"]
    declined = maker.ticket(world.u1, "pets", tier=None, created=local(2025, 6, 11, 9))
    duplicate = maker.ticket(world.u1, "repair", tier=None, created=local(2025, 6, 11, 9, 30))
    with clock.at(local(2025, 6, 11, 9, 45)):
        services.ticket_decline(
            ticket=declined,
            actor=community,
            reason=Ticket.DeclineReason.NOT_OURS,
            note="宠物扰民请联系物业",
        )
        services.ticket_merge(ticket=duplicate, into=tickets["t2"], actor=community)
    assert Ticket.objects.filter(state=Ticket.State.DECLINED).count() == 2

    _response, dash = dashboard(login_as("community"))
    assert dash.kpis == before.kpis
    assert dash.series == before.series
    assert dash.categories == before.categories
    assert dash.tiers == before.tiers
    assert rows_of(dash) == rows_of(before)


def test_tiers(login_as, tickets):
    _response, dash = dashboard(login_as("community"))
    assert [(t["tier"], t["open"], t["solved"]) for t in dash.tiers] == [
        ("simple", 2, 3),  # open t1 t2; solved t4 t11 t12
        ("complex", 0, 1),  # t3
        ("hard", 1, 2),  # open t5; solved t6 t7
        ("", 1, 0),  # t8, not triaged yet
    ]
    assert dash.chart_data["tiers"]["open"] == [2, 0, 1, 1]
    assert dash.chart_data["tiers"]["solved"] == [3, 1, 2, 0]


def test_share_solved_at_each_level(login_as, tickets):
    response, dash = dashboard(login_as("community"))
    assert dash.solved_total == 6  # t3 t4 t6 t7 t11 t12
    assert [(b["key"], b["count"], b["percent"]) for b in dash.level_bands] == [
        ("grid", 3, 50.0),  # t3 at the grid, t11 t12 with the building head
        ("community", 1, 16.7),  # t4
        ("street", 1, 16.7),  # t7
        ("above", 1, 16.7),  # t6, lifted to the county office
    ]
    html = response.content.decode()
    assert (
        gettext(
            "Small things stay in the grid, big things stay in the community, hard things stay in "
            "the street."
        )
        in html
    )
    assert re.search(r'id="level-grid">.*?50.0%', html, re.S)


def test_top_categories_in_the_window(login_as, tickets):
    _response, dash = dashboard(login_as("community"))
    top = dash.categories
    assert len(top) == 5
    # repair: t1 t2 t11 (t9 is in B); noise: t3 t4 (t10 is in B); the rest once each.
    assert [(c["name"], c["count"], c["percent"]) for c in top[:2]] == [
        ("公共设施维修", 3, 33.3),
        ("噪音扰民", 2, 22.2),
    ]
    assert {c["count"] for c in top[2:]} == {1}
    assert {c["name"] for c in top[2:]} < {"垃圾清运", "停车纠纷", "宠物扰民", "绿化养护"}
    assert "楼道照明" not in {c["name"] for c in top}  # t7 was reported before the window


def test_thirty_day_series_in_local_days(login_as, tickets):
    _response, dash = dashboard(login_as("community"))
    series = dash.series
    assert series["days"][0] == dt.date(2025, 5, 13)
    assert series["days"][-1] == TODAY
    assert len(series["days"]) == len(series["intake"]) == len(series["solved"]) == 30

    intake = dict.fromkeys(series["days"], 0)
    for day in ["05-13", "05-20", "06-01", "06-02", "06-03", "06-05", "06-06", "06-10", "06-11"]:
        intake[dt.date.fromisoformat(f"2025-{day}")] += 1
    assert series["intake"] == list(intake.values())
    # 23:30 on the 10th and 00:30 on the 11th are one UTC day but two local days.
    assert series["intake"][day_index(dt.date(2025, 6, 10))] == 1
    assert series["intake"][day_index(TODAY)] == 1

    solved = dict.fromkeys(series["days"], 0)
    for day in ["05-14", "05-25", "06-06", "06-09", "06-11"]:
        solved[dt.date.fromisoformat(f"2025-{day}")] += 1
    assert series["solved"] == list(solved.values())
    assert dash.chart_data["daily"]["intake"] == series["intake"]
    assert dash.chart_data["daily"]["solved"] == series["solved"]
    assert len(dash.chart_data["daily"]["days"]) == 30


def test_children_rows_with_one_level_down_links(login_as, tickets, world):
    response, dash = dashboard(login_as("community"))
    assert dash.node == world.community_a
    # name, code, open, overdue, solved in 30 days, rated, satisfied
    assert [
        (r.code, r.open, r.overdue, r.solved_window, r.rated, r.satisfied) for r in dash.rows
    ] == [
        (world.g1.code, 4, 1, 3, 2, 1),  # t1 t2 t3 t5 t8 t11 t12
        (world.g2.code, 0, 0, 2, 1, 1),  # t4 t6
        ("", 0, 0, 0, 1, 1),  # t7, reported at the community itself
    ]
    assert [r.name for r in dash.rows][:2] == ["第1网格", "第2网格"]
    assert "莲心社区" in dash.rows[2].name
    assert [row.satisfaction for row in dash.rows] == [50.0, 100.0, 100.0]
    html = response.content.decode()
    assert f'href="/?node={world.g1.code}"' in html
    assert f'href="/?node={world.g2.code}"' in html


def test_a_child_link_renders_the_dashboard_one_level_down(login_as, tickets, world):
    client = login_as("community")
    _response, dash = dashboard(client, f"/?node={world.g1.code}")
    assert dash.node == world.g1
    assert dash.kpis["open"] == 4 and dash.kpis["overdue"] == 1
    assert rows_of(dash) == {
        "1栋": (world.b1.code, 4, 1, 2, 1, 0),  # t1 t2 t5 t8 t11 t12
        gettext("At %(place)s itself") % {"place": "第1网格"}: ("", 0, 0, 1, 1, 1),  # t3
    }
    assert [(c.name, c.code) for c in dash.place.crumbs] == [
        ("莲心社区", world.community_a.code),
        ("第1网格", world.g1.code),
    ]
    _response, dash = dashboard(client, f"/?node={world.u2.code}")
    assert dash.rows == []
    assert dash.kpis["open"] == 0 and dash.solved_total == 2  # t11 t12


# --- scope --------------------------------------------------------------------------------


def test_community_never_sees_the_other_community(login_as, tickets, world):
    client = login_as("community")
    for url in ["/", f"/?node={world.community_a.code}"]:
        _response, dash = dashboard(client, url)
        assert sum(dash.series["intake"]) == 9  # t9 t10 of B are not counted
        assert dash.kpis["solved_today"] == 1  # not t9
        assert "旴江社区" not in {row.name for row in dash.rows}
    for area in (world.community_b, world.g3, world.street, world.county, world.city):
        assert client.get(f"/?node={area.code}").status_code == 404
    assert client.get("/?node=nonsense").status_code == 404


def test_outsider_sees_only_community_b(login_as, tickets, world):
    client = login_as("outsider")
    _response, dash = dashboard(client)
    assert dash.node == world.community_b
    assert dash.kpis == {
        "open": 1,
        "overdue": 1,
        "solved_today": 1,
        "solved_week": 1,
        "rated": 1,
        "satisfied": 1,
        "satisfaction": 100.0,
        "rated_resident": 1,
        "rated_call": 0,
        "not_rated": 0,
    }
    assert [(b["key"], b["percent"]) for b in dash.level_bands][:2] == [
        ("grid", 0.0),
        ("community", 100.0),
    ]
    assert rows_of(dash) == {"第1网格": (world.g3.code, 1, 1, 1, 1, 1)}
    assert {(c["name"], c["count"]) for c in dash.categories} == {
        ("公共设施维修", 1),
        ("噪音扰民", 1),
    }
    assert client.get(f"/?node={world.community_a.code}").status_code == 404
    assert client.get(f"/?node={world.g1.code}").status_code == 404


def test_street_sees_both_communities_as_rows(login_as, tickets, world):
    _response, dash = dashboard(login_as("street"))
    assert dash.node == world.street
    assert rows_of(dash) == {
        "莲心社区": (world.community_a.code, 4, 1, 5, 4, 3),
        "旴江社区": (world.community_b.code, 1, 1, 1, 1, 1),
    }
    assert dash.kpis["open"] == 5 and dash.kpis["overdue"] == 2
    assert dash.kpis["satisfaction"] == 80.0  # 4 of 5 rated


def test_breadcrumbs_from_the_scope_root_down(login_as, tickets, world):
    _response, dash = dashboard(login_as("county"), f"/?node={world.g1.code}")
    assert [c.name for c in dash.place.crumbs] == ["莲溪县", "莲城街道", "莲心社区", "第1网格"]

    response, dash = dashboard(login_as("admin"), f"/?node={world.g1.code}")
    crumbs = dash.place.crumbs
    assert [c.code for c in crumbs] == [
        "",
        world.city.code,
        world.county.code,
        world.street.code,
        world.community_a.code,
        world.g1.code,
    ]
    html = response.content.decode()
    assert f'href="/?node={world.city.code}"' in html
    assert 'aria-current="page">第1网格<' in html


def test_admin_starts_at_the_roots(login_as, tickets, world):
    client = login_as("admin")
    _response, dash = dashboard(client)
    assert dash.node is None
    assert rows_of(dash) == {"抚阳市": (world.city.code, 5, 2, 6, 5, 4)}
    assert dash.kpis["open"] == 5
    # The city's rows are its districts, linked through ``upper``.
    _response, dash = dashboard(client, f"/?node={world.city.code}")
    assert rows_of(dash) == {"莲溪县": (world.county.code, 5, 2, 6, 5, 4)}


def test_several_posts_make_the_top_level(client, tickets, world):
    person = world.persons["grid_head"]
    grid_services.post_assign(area=world.g3, title=T.GRID_WORKER, person=person)
    grid_services.post_assign(area=world.b1, title=T.BUILDING_HEAD, person=person)  # under G1
    client.force_login(world.users["grid_head"])
    _response, dash = dashboard(client)
    assert dash.node is None
    # The building post lies inside G1: two top areas, not three.
    assert [(r.code, r.open, r.overdue, r.solved_window) for r in dash.rows] == [
        (world.g1.code, 4, 1, 3),
        (world.g3.code, 1, 1, 1),  # t10 at G3, t9 under it
    ]
    assert dash.kpis["open"] == 5
    _response, dash = dashboard(client, f"/?node={world.g3.code}")
    assert [c.code for c in dash.place.crumbs] == ["", world.g3.code]


def test_one_post_inside_another_is_one_top_area(client, tickets, world):
    person = world.persons["community"]
    grid_services.post_assign(area=world.u1, title=T.UNIT_HEAD, person=person)
    client.force_login(world.users["community"])
    _response, dash = dashboard(client)
    assert dash.node == world.community_a


def test_department_handler_sees_only_assigned_problems(login_as, tickets, world):
    client = login_as("department")
    response, dash = dashboard(client)
    assert dash.node is None and dash.rows == []
    assert dash.kpis["open"] == 0 and sum(dash.series["intake"]) == 0
    assert gettext("The figures above are the problems assigned to your department.") in (
        response.content.decode()
    )
    assert client.get(f"/?node={world.community_a.code}").status_code == 404


def test_login_required_and_get_only(client, login_as):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert login_as("community").post("/").status_code == 405


# --- the page -------------------------------------------------------------------------------


def test_charts_get_their_data_from_json_script_only(login_as, tickets):
    response, dash = dashboard(login_as("community"))
    html = response.content.decode()
    data = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert json.loads(data.group(1)) == json.loads(json.dumps(dash.chart_data))
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert "/static/portal/dashboard.js" in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert 'id="chart-daily"' in html and 'id="chart-tiers"' in html


def test_english_page(login_as, tickets, world):
    response = login_as("community").get("/en/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Solved this week" in html
    assert f'href="/en/?node={world.g1.code}"' in html


def test_echarts_is_only_on_the_dashboard(login_as):
    response = login_as("community").get("/accounts/login/")
    assert "echarts" not in response.content.decode()


# --- cost -----------------------------------------------------------------------------------


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("persona", "node"),
    [("county", "community_a"), ("community", None), ("admin", None), ("street", None)],
)
def test_constant_number_of_queries(login_as, maker, world, persona, node):
    client = login_as(persona)
    url = f"/?node={getattr(world, node).code}" if node else "/"
    maker.ticket(world.u1, "repair", created=local(2025, 6, 1, 9))
    maker.ticket(world.g1, "noise", tier="complex", created=local(2025, 6, 2, 9))
    maker.ticket(world.u4, "repair", created=local(2025, 6, 3, 9), resolved=local(2025, 6, 4, 9))
    small = _count_queries(client, url)

    grids = [
        grid_services.area_create(
            code=f"{world.community_a.code}{n:03d}",
            name=f"第{n}网格",
            kind=AreaKind.GRID,
            parent=world.community_a,
        )
        for n in range(4, 9)
    ]
    places = [world.u1, world.u2, world.u3, world.g2, world.u4, *grids]
    codes = ["repair", "noise", "garbage", "parking", "pets", "trees", "lights"]
    for i in range(57):
        kwargs = {}
        if i % 3 == 0:
            kwargs["resolved"] = local(2025, 6, 1 + i % 10, 12)
        maker.ticket(
            places[i % len(places)],
            codes[i % len(codes)],
            tier=None if i % 5 == 0 and not kwargs else "simple",
            created=local(2025, 5, 10 + i % 20, 9),
            **kwargs,
        )
    assert Ticket.objects.count() == 60
    large = _count_queries(client, url)
    assert large == small, (small, large)
    assert large <= 15  # 14, and the navbar's unread notification count
