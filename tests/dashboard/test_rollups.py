# ruff: noqa: F811 (the fixtures imported from test_dashboard are used by name)
"""The problems' ancestor keys and day rollups stay what a recount says, through every act
that changes them: report, triage, escalation, resolve, rating, reopening, decline, merge,
a node moved by the service and by an import; and the dashboard read from the rollups
shows what counting the problems shows."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.spreadsheets import Table
from dashboard import figures
from grids import services as grid_services
from grids.imports import areas_import
from grids.models import Area
from grids.selectors import MovedNodes, area_keys
from issues import services
from issues.models import Ticket, TicketCategoryDay, TicketDay
from issues.rules import SYSTEM, ReporterActor
from issues.services.errors import TicketError
from issues.services.rollups import (
    rollup_nodes_change,
    ticket_days_counted,
    ticket_days_kept,
    ticket_days_recount,
)
from tests.dashboard.test_dashboard import NOW, Maker, clock, local, maker, tickets  # noqa: F401

AREA_HEADERS = ["编码", "名称", "类型", "上级编码", "网格类型", "户数"]


def assert_rollups_right() -> None:
    """Kept rows == a recount from the problems, and every problem's keys == its place's."""
    assert ticket_days_kept() == ticket_days_counted(Ticket.objects.all())
    wrong = [
        t.pk
        for t in Ticket.objects.select_related("area")
        if area_keys(t.area)
        != {
            "district_id": t.district_id,
            "street_id": t.street_id,
            "community_id": t.community_id,
            "grid_id": t.grid_id,
        }
    ]
    assert wrong == []


def test_the_keys_of_a_reported_problem_are_its_ancestors(world, maker):
    ticket = maker.ticket(world.u1, "repair", created=NOW)
    assert (ticket.district_id, ticket.street_id, ticket.community_id, ticket.grid_id) == (
        world.county.pk,
        world.street.pk,
        world.community_a.pk,
        world.g1.pk,
    )
    at_street = maker.ticket(world.street, "repair", created=NOW, tier=None)
    assert (at_street.district_id, at_street.street_id, at_street.community_id) == (
        world.county.pk,
        world.street.pk,
        None,
    )
    assert at_street.grid_id is None


def test_rollups_match_a_recount_after_the_whole_loop(tickets):
    assert TicketDay.objects.exists()
    assert_rollups_right()


def test_a_recount_writes_what_was_kept(tickets):
    kept = ticket_days_kept()
    assert ticket_days_recount(Ticket.objects.all()) == len(kept)
    assert ticket_days_kept() == kept


def test_a_day_row_counts_a_problem_at_its_district_and_its_street(world, maker):
    ticket = maker.ticket(
        world.u1, "repair", created=local(2025, 6, 3, 9), resolved=local(2025, 6, 4, 9)
    )
    rows = {(row.node_id, row.day): (row.reported, row.solved) for row in TicketDay.objects.all()}
    by_category = {
        (row.node_id, row.day, row.category_id): row.reported
        for row in TicketCategoryDay.objects.all()
    }
    day, solved_day = dt.date(2025, 6, 3), dt.date(2025, 6, 4)
    for node in (world.county, world.street):
        assert rows[(node.pk, day)] == (1, 0)
        assert rows[(node.pk, solved_day)] == (0, 1)
        assert by_category[(node.pk, day, ticket.category_id)] == 1
    assert len(rows) == 4 and len(by_category) == 2  # none below the street


def test_decline_takes_a_report_out_of_the_figures(world, maker):
    ticket = maker.ticket(world.u1, "repair", created=NOW, tier=None)
    assert ticket_days_kept()
    services.ticket_decline(
        ticket=ticket, actor=world.users["community"], reason="not_ours", note="不属于本社区"
    )
    assert ticket_days_kept() == {}
    assert_rollups_right()


def test_merge_keeps_the_figures_right(world, maker):
    first = maker.ticket(world.u1, "repair", created=NOW)
    again = maker.ticket(world.u1, "repair", created=NOW, tier=None)
    services.ticket_merge(ticket=again, into=first, actor=world.users["community"])
    kept = ticket_days_kept()
    assert kept[(world.street.pk, NOW.date(), None)]["reported"] == 1
    assert kept[(world.street.pk, NOW.date(), first.category_id)]["reported"] == 1
    assert_rollups_right()


def test_a_grid_moved_to_another_community_takes_its_problems(world, maker, tickets):
    under_g1 = list(Ticket.objects.filter(grid=world.g1).values_list("pk", flat=True))
    assert under_g1
    grid_services.area_move(area=world.g1, parent=world.community_b)
    moved = Ticket.objects.filter(pk__in=under_g1)
    assert set(moved.values_list("community_id", flat=True)) == {world.community_b.pk}
    assert set(moved.values_list("grid_id", flat=True)) == {world.g1.pk}
    assert_rollups_right()


def test_a_community_moved_to_another_street_takes_its_figures_along(world, tickets):
    other = grid_services.area_create(
        code="369921002", name="旴江街道", kind="street", parent=world.county
    )
    in_b = Ticket.objects.filter(community=world.community_b).count()
    assert in_b
    before = ticket_days_kept()
    grid_services.area_move(area=world.community_b, parent=other)
    kept = ticket_days_kept()
    assert set(
        Ticket.objects.filter(community=world.community_b).values_list("street_id", flat=True)
    ) == {other.pk}
    reported = {
        street.pk: sum(
            c.get("reported", 0) for k, c in kept.items() if k[0] == street.pk and k[2] is None
        )
        for street in (world.street, other)
    }
    was = sum(
        c.get("reported", 0) for k, c in before.items() if k[0] == world.street.pk and k[2] is None
    )
    assert reported == {world.street.pk: was - in_b, other.pk: in_b}
    assert_rollups_right()


def test_a_building_moved_to_another_grid_changes_only_its_problems_grid(world, tickets):
    under_b1 = list(
        Ticket.objects.filter(area__in=[world.b1, world.u1, world.u2]).values_list("pk", flat=True)
    )
    before = ticket_days_kept()
    grid_services.area_move(area=world.b1, parent=world.g2)
    moved = Ticket.objects.filter(pk__in=under_b1)
    assert set(moved.values_list("grid_id", flat=True)) == {world.g2.pk}
    assert ticket_days_kept() == before  # same community: no figure of a kept node moves
    assert_rollups_right()


def test_a_move_inside_its_street_recounts_nothing(world, tickets):
    """The day rows are per district and street (``rollups.rollup_nodes_change``): a node
    moved inside its street leaves its problems' figures where they are, uncounted."""
    before = ticket_days_kept()
    with CaptureQueriesContext(connection) as queries:
        grid_services.area_move(area=world.g1, parent=world.community_b)
    assert not [q for q in queries.captured_queries if "rollup_node" in q["sql"]]
    assert ticket_days_kept() == before
    assert_rollups_right()


def test_which_moves_change_the_nodes_the_problems_count_on(world, tickets):
    """Asked as the signal asks it: the tree has moved, the problems' keys not yet."""
    g1 = Area.objects.get(pk=world.g1.pk)
    g1.move_to(Area.objects.get(pk=world.community_b.pk), "last-child")
    assert not rollup_nodes_change(Ticket.objects.all(), MovedNodes([g1.pk]))
    other = grid_services.area_create(
        code="369921002", name="旴江街道", kind="street", parent=world.county
    )
    community = Area.objects.get(pk=world.community_b.pk)
    community.move_to(other, "last-child")
    community = Area.objects.get(pk=community.pk)
    assert rollup_nodes_change(Ticket.objects.all(), MovedNodes([community.pk]))
    assert not rollup_nodes_change(
        Ticket.objects.exclude(community=community), MovedNodes([community.pk])
    )


def test_an_import_that_moves_a_grid_moves_its_problems(world, tickets):
    g3 = world.g3
    table = Table(
        headers=AREA_HEADERS,
        rows=[(2, [g3.code, g3.name, "网格", world.community_a.code, "基础网格", "300"])],
    )
    areas_import(table=table)
    assert set(Ticket.objects.filter(grid=g3).values_list("community_id", flat=True)) == {
        world.community_a.pk
    }
    assert_rollups_right()


def test_escalation_changes_no_figure_and_writes_no_day_row(
    world, maker, django_assert_num_queries
):
    ticket = maker.ticket(world.u1, "repair", created=NOW)
    before = ticket_days_kept()
    services.ticket_escalate(ticket=ticket, actor=SYSTEM)
    assert ticket_days_kept() == before


# --- a property: any sequence of acts keeps rollups == recount -----------------------------


def _random_acts(world, maker, clock, seed: int, steps: int) -> None:
    rng = random.Random(seed)
    places = [
        world.u1,
        world.u2,
        world.u3,
        world.u4,
        world.b1,
        world.g1,
        world.g2,
        world.g3,
        world.community_a,
        world.street,
    ]
    moves = [
        (world.g1, world.community_b),
        (world.g1, world.community_a),
        (world.b1, world.g2),
        (world.b1, world.g1),
        (world.b3, world.g1),
        (world.b3, world.g3),
    ]
    triager = world.users["admin"]
    made: list[Ticket] = []
    for step in range(steps):
        moment = local(2025, 6, 1, 9) + dt.timedelta(hours=7 * step + rng.randrange(5))
        act = rng.choice(
            [
                "report",
                "report",
                "assign",
                "escalate",
                "resolve",
                "rate",
                "decline",
                "merge",
                "move",
            ]
        )
        open_ones = [t for t in made if t.state in ("reported", "assigned", "in_progress")]
        try:
            with clock.at(moment):
                if act == "report" or not made:
                    tier = rng.choice([None, "simple", "complex", "hard"])
                    made.append(
                        maker.ticket(rng.choice(places), "repair", created=moment, tier=tier)
                    )
                elif act == "assign":
                    ticket = rng.choice(made)
                    services.ticket_assign(
                        ticket=ticket, tier=rng.choice(["simple", "complex"]), actor=triager
                    )
                elif act == "escalate" and open_ones:
                    services.ticket_escalate(ticket=rng.choice(open_ones), actor=SYSTEM)
                elif act == "resolve" and open_ones:
                    services.ticket_resolve(
                        ticket=rng.choice(open_ones), actor=SYSTEM, feedback="好"
                    )
                elif act == "rate":
                    ticket = rng.choice(made)
                    reporter = ticket.reporters.order_by("pk").first()
                    if reporter is None:  # merged away: its reporters follow the other one
                        continue
                    services.ticket_rate(
                        ticket=ticket,
                        actor=ReporterActor(reporter),
                        rating=rng.choice(["satisfied", "basic", "unsatisfied"]),
                    )
                elif act == "decline":
                    services.ticket_decline(
                        ticket=rng.choice(made), actor=triager, reason="not_ours", note="不属于"
                    )
                elif act == "merge" and len(made) > 1:
                    a, b = rng.sample(made, 2)
                    services.ticket_merge(ticket=a, into=b, actor=triager)
                elif act == "move":
                    area, parent = rng.choice(moves)
                    grid_services.area_move(
                        area=Area.objects.get(pk=area.pk), parent=Area.objects.get(pk=parent.pk)
                    )
        except (TicketError, PermissionDenied, ValidationError):
            pass  # not allowed in the state it is in: nothing changed, checked below too
        for ticket in made:
            ticket.refresh_from_db()
        assert_rollups_right()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_sequence_of_acts_keeps_the_rollups_right(world, maker, clock, seed):
    _random_acts(world, maker, clock, seed, steps=40)
    assert Ticket.objects.count() > 5


# --- the dashboard from the rollups == the dashboard from the problems ---------------------


def _direct(user, node_code: str, monkeypatch) -> figures.Dashboard:
    monkeypatch.setattr(figures, "rollup_nodes_for", lambda user, place: None)
    try:
        return figures.dashboard_for(user, node_code=node_code, now=NOW)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize(
    ("persona", "node"),
    [("street", ""), ("county", ""), ("county", "street"), ("admin", ""), ("admin", "city")],
)
def test_the_rollup_dashboard_shows_what_counting_shows(world, tickets, monkeypatch, persona, node):
    code = getattr(world, node).code if node else ""
    user = world.users[persona]
    rolled = figures.dashboard_for(user, node_code=code, now=NOW)
    assert figures.rollup_nodes_for(user, rolled.place) is not None  # the rollup path it is
    counted = _direct(user, code, monkeypatch)
    assert rolled.kpis == counted.kpis
    assert rolled.tiers == counted.tiers
    assert rolled.level_bands == counted.level_bands
    assert rolled.series == counted.series
    assert rolled.categories == counted.categories
    assert [vars(r) for r in rolled.rows] == [vars(r) for r in counted.rows]
    assert rolled.kpis["rated"] > 0 and any(r.solved_window for r in rolled.rows)


def test_the_rollup_dashboard_after_random_acts(world, maker, clock, monkeypatch):
    _random_acts(world, maker, clock, seed=7, steps=30)
    for persona, node in (("county", ""), ("street", ""), ("admin", "")):
        user = world.users[persona]
        rolled = figures.dashboard_for(user, node_code=node, now=NOW + dt.timedelta(days=10))
        monkeypatch.setattr(figures, "rollup_nodes_for", lambda user, place: None)
        counted = figures.dashboard_for(user, node_code=node, now=NOW + dt.timedelta(days=10))
        monkeypatch.undo()
        assert (rolled.kpis, rolled.series, rolled.level_bands) == (
            counted.kpis,
            counted.series,
            counted.level_bands,
        )
        assert [vars(r) for r in rolled.rows] == [vars(r) for r in counted.rows]


def test_the_administrators_top_level_reads_the_roots_and_their_districts_at_once(
    world, tickets, client, django_assert_max_num_queries
):
    """The city's row is the sum of its own and its districts' day rows, and the districts
    come with the roots (one query): the page at ten queries, as every other scope's."""
    from django.urls import reverse

    place = figures.dashboard_place(world.users["admin"])
    assert [a.pk for a in place.children] == [world.city.pk]
    assert place.members == {world.city.pk: [world.city.pk, world.county.pk]}
    client.force_login(world.users["admin"])
    client.get(reverse("home"))  # the session's first read
    with django_assert_max_num_queries(10):
        response = client.get(reverse("home"))
    assert response.status_code == 200
    assert figures.rollup_nodes_for(world.users["admin"], place) == [
        world.city.pk,
        world.county.pk,
    ]
