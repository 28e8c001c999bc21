"""The figures of every community of a district (or of the whole city) cost the same number
of queries for 2 communities as for 8: the run aggregates by tree ranges, never per node.
Mailing costs the same per mail, and is a separate phase."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from digests.models import Digest
from digests.services import digests_build, digests_deliver
from grids import services as grid_services
from grids.rules import AreaKind as A
from grids.rules import PostTitle as T
from grids.selectors import area_subtree_q
from issues import services
from issues.models import Ticket

from .conftest import local

DAY = dt.date(2025, 3, 6)
_phones = itertools.count(1)


def _head(area, title: str) -> User:
    n = next(_phones)
    user = User.objects.create_user(f"head{n}", email=f"head{n}@grid.example.org")
    person = grid_services.person_get_or_create(name=f"干部{n}", phone=f"1370100{n:04d}")
    person.user = user
    person.save(update_fields=["user"])
    grid_services.post_assign(area=area, title=title, person=person)
    return user


def grow(rhythm, code: str, communities: int) -> tuple:
    """A district of ``communities`` communities with two grids each, people in post and
    on the day three problems per community: one solved in a grid, one triaged at the
    community, one not triaged."""
    clock = rhythm.clock
    district = grid_services.area_create(
        code=code, name=f"区{code}", kind=A.DISTRICT, parent=rhythm.city
    )
    street = grid_services.area_create(
        code=f"{code}001", name="街道", kind=A.STREET, parent=district
    )
    _head(street, T.STREET_OFFICER)
    _head(district, T.COUNTY_OFFICER)
    for i in range(communities):
        community = grid_services.area_create(
            code=f"{code}001{i:03d}", name=f"社区{i}", kind=A.COMMUNITY, parent=street
        )
        worker = _head(community, T.COMMUNITY_WORKER)
        grids = []
        for j in range(2):
            grid = grid_services.area_create(
                code=f"{community.code}{j:03d}", name=f"网格{j}", kind=A.GRID, parent=community
            )
            grids.append((grid, _head(grid, T.GRID_HEAD)))
        clock.set(local(2025, 3, 6, 9, i % 50))
        for place, tier in ((grids[0][0], "complex"), (community, "simple"), (grids[1][0], None)):
            ticket = services.ticket_report(
                area=place,
                category=rhythm.repair,
                channel=Ticket.Channel.HOTLINE,
                description="路灯不亮",
                reporter_phone="13900001111",
                tier=tier,
            )
            if tier == "complex":
                services.ticket_resolve(
                    ticket=Ticket.objects.get(pk=ticket.pk), actor=grids[0][1], feedback="修好了"
                )
        del worker
    clock.set(local(2025, 3, 6, 18, 0))
    return district


def _count(run) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        result = run()
    return len(queries), result


@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
def test_a_district_costs_the_same_for_2_and_8_communities(rhythm, kind):
    small = grow(rhythm, "369931", 2)
    large = grow(rhythm, "369932", 8)
    small_queries, small_result = _count(lambda: digests_build(kind=kind, day=DAY, node=small))
    large_queries, large_result = _count(lambda: digests_build(kind=kind, day=DAY, node=large))
    # daily: the community and its two grids; weekly: the community (its rectification list)
    per_community = {"daily": 3, "weekly": 1, "monthly": 0}[kind]
    fixed = 0 if kind == "daily" else 2  # the street and the district
    assert small_result.created == fixed + 2 * per_community
    assert large_result.created == fixed + 8 * per_community
    assert large_queries == small_queries
    # the node, the ids of the streets' trees below it (then kept on the node), the nodes
    # under it; in a savepoint: the stored digests, the figures (1 query; monthly 11), the
    # insert, and the delivery rows (the period's digests, the posts, the insert)
    assert small_queries == (21 if kind == "monthly" else 11)


def test_the_whole_city_costs_the_same_for_2_and_8_more_communities(rhythm):
    grow(rhythm, "369931", 2)
    small_queries, small = _count(lambda: digests_build(kind="daily", day=DAY))
    grow(rhythm, "369932", 8)
    large_queries, large = _count(lambda: digests_build(kind="daily", day=DAY.replace(day=7)))
    # the world's 2 communities and 3 grids, then 2 × 3 more, then 8 × 3 more
    assert (small.created, large.created) == (5 + 6, 5 + 6 + 24)
    assert large_queries == small_queries


def test_the_figures_of_many_communities_are_right(rhythm):
    large = grow(rhythm, "369932", 8)
    digests_build(kind="daily", day=DAY, node=large)
    communities = Digest.objects.filter(
        area_subtree_q(large, "node__"), kind="daily", node__kind=A.COMMUNITY
    )
    assert communities.count() == 8
    for digest in communities:
        # reported all three; triaged (moved) two of them; solved one
        assert digest.figures["totals"] == {"new": 3, "moved": 2, "solved": 1, "overdue": 0}
        assert [(p["new"], p["moved"], p["solved"]) for p in digest.figures["parts"]] == [
            (1, 1, 1),
            (1, 0, 0),
        ]
        assert digest.figures["rest"] == {"new": 1, "moved": 1, "solved": 0, "overdue": 0}


def test_mailing_costs_one_query_per_mail_past_the_claim(rhythm):
    small = grow(rhythm, "369931", 2)
    large = grow(rhythm, "369932", 8)
    digests_build(kind="daily", day=DAY, node=small)
    digests_build(kind="daily", day=DAY, node=large)
    small_queries, small_sent = _count(lambda: digests_deliver(kind="daily", root=small))
    large_queries, large_sent = _count(lambda: digests_deliver(kind="daily", root=large))
    assert (small_sent, large_sent) == (2 * 3, 8 * 3)  # the worker and two grid heads each
    # the root, the ids of the trees below it, the pending rows; per batch of up to
    # SEND_BATCH mails: claim them (lock, update, read back, in a transaction: here two
    # savepoint queries more); per mail: mark it sent as soon as it left
    per_batch = small_queries - 3 - small_sent
    assert per_batch == 5
    assert large_queries == 3 + per_batch + large_sent


def test_a_batch_of_mails_goes_over_one_connection(rhythm, monkeypatch):
    from django.core import mail

    from digests import services as digest_services

    node = grow(rhythm, "369931", 2)
    digests_build(kind="daily", day=DAY, node=node)
    opened = []
    real = mail.get_connection

    def counting(*args, **kwargs):
        connection = real(*args, **kwargs)
        opened.append(connection)
        return connection

    monkeypatch.setattr(digest_services, "get_connection", counting)
    monkeypatch.setattr(digest_services, "SEND_BATCH", 4)
    assert digests_deliver(kind="daily", root=node) == 6
    assert len(opened) == 2  # 6 mails in batches of 4: two connections, not six
    assert len(mail.outbox) == 6
