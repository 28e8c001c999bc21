"""The inbox pages by keyset (core/keyset.py): every problem once, in order, forwards and
back, for every sort (a nullable deadline's empty values last); a capped count; the same
queries on the first page, at 100 rows and deep down."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import keyset
from core.keyset import COUNT_CAP, keyset_page
from issues import services
from issues.models import Category, Ticket
from issues.rules import SYSTEM
from tests.clock import Clock

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2025, 6, 1, 9, tzinfo=SHANGHAI)


@pytest.fixture
def many(world):
    """23 problems an hour apart, every third untriaged (no deadline), two reported at the
    same moment (a tie the id breaks)."""
    clock = Clock(START)
    category = Category.objects.create(code="repair", name="公共设施维修")
    made = []
    try:
        for i in range(23):
            moment = START + dt.timedelta(hours=i if i != 5 else 4)
            with clock.at(moment):
                made.append(
                    services.ticket_report(
                        area=[world.u1, world.u2, world.u3][i % 3],
                        category=category,
                        channel=Ticket.Channel.VISIT,
                        description=f"第{i}号",
                        reporter_phone="13700000000",
                        tier=None if i % 3 == 0 else "simple",
                        actor=SYSTEM,
                    )
                )
    finally:
        clock.stop()
    return made


def _walk(rows, order: str, size: int) -> tuple[list[list[int]], list[list[int]]]:
    pages, page = [], keyset_page(rows, order=order, size=size)
    pages.append([t.pk for t in page])
    while page.has_next:
        page = keyset_page(rows, order=order, after=page.next_cursor, size=size)
        pages.append([t.pk for t in page])
    back = [[t.pk for t in page]]
    while page.has_previous:
        page = keyset_page(rows, order=order, before=page.previous_cursor, size=size)
        back.append([t.pk for t in page])
    assert page.is_first
    return pages, back[::-1]


def _expected(order: str) -> list[int]:
    name = order.lstrip("-")
    rows = list(Ticket.objects.all())
    present = [t for t in rows if getattr(t, name) is not None]
    empty = [t for t in rows if getattr(t, name) is None]
    down = order.startswith("-")
    present.sort(key=lambda t: (getattr(t, name), t.pk), reverse=down)
    empty.sort(key=lambda t: t.pk, reverse=down)
    return [t.pk for t in present + empty]


@pytest.mark.parametrize("order", ["-created_at", "created_at", "deadline", "-updated_at"])
def test_every_problem_once_in_order_forwards_and_back(many, order):
    assert Ticket.objects.filter(deadline=None).count() == 8  # the untriaged ones
    pages, back = _walk(Ticket.objects.all(), order, size=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [pk for p in pages for pk in p] == _expected(order)
    assert back == pages


def test_the_count_stops_at_the_cap(many, monkeypatch):
    monkeypatch.setattr(keyset, "COUNT_CAP", 10)
    page = keyset_page(Ticket.objects.all(), order="-created_at", size=5)
    assert (page.count, page.count_capped) == (11, True)
    monkeypatch.setattr(keyset, "COUNT_CAP", 100)
    page = keyset_page(Ticket.objects.all(), order="-created_at", size=5)
    assert (page.count, page.count_capped) == (23, False)


def test_a_cursor_that_does_not_parse_is_the_first_page(many):
    first = keyset_page(Ticket.objects.all(), order="-created_at", size=5)
    for bad in ("", "x", "%%%", "WzEsMl0", "bnVsbA"):
        page = keyset_page(Ticket.objects.all(), order="-created_at", after=bad, size=5)
        assert [t.pk for t in page] == [t.pk for t in first]


def test_the_size_is_one_of_the_offered(many):
    assert keyset.page_size("100") == 100
    assert keyset.page_size("7") == keyset.page_size("") == keyset.page_size("x") == 25


def test_the_inbox_walks_its_pages_with_the_same_queries(login_as, many):
    client = login_as("county")
    first = client.get("/tickets/?tab=area&size=25")
    assert first.status_code == 200
    html = first.content.decode()
    assert 'data-count="23"' in html
    with CaptureQueriesContext(connection) as at_25:
        client.get("/tickets/?tab=area&size=25")
    with CaptureQueriesContext(connection) as at_100:
        client.get("/tickets/?tab=area&size=100")
    assert len(at_25) == len(at_100)
    # Page by page at 25 rows is one page here: walk at the smallest page the view allows
    # by cutting the cursor from a page of the keyset directly.
    page = keyset_page(Ticket.objects.all(), order="-created_at", size=5)
    later = keyset_page(Ticket.objects.all(), order="-created_at", after=page.next_cursor, size=5)
    with CaptureQueriesContext(connection) as deep:
        response = client.get(f"/tickets/?tab=area&after={later.next_cursor}")
    assert response.status_code == 200
    assert len(deep) == len(at_25)
    shown = [int(pk) for pk in re.findall(r'href="/tickets/(\d+)/"', response.content.decode())]
    assert list(dict.fromkeys(shown)) == _expected("-created_at")[10:]
    assert 'rel="prev"' in response.content.decode()


def test_a_list_within_the_cap_has_numbered_pages(t):
    tickets = [t.report("U1") for _ in range(12)]
    newest_first = [x.pk for x in reversed(tickets)]
    pages = [
        keyset_page(Ticket.objects.all(), order="-created_at", size=5, number=n) for n in (1, 2, 3)
    ]
    assert [[x.pk for x in p] for p in pages] == [
        newest_first[:5],
        newest_first[5:10],
        newest_first[10:],
    ]
    assert [p.number for p in pages] == [1, 2, 3] and pages[0].num_pages == 3
    assert pages[1].page_numbers() == [1, 2, 3]
    # past the end: the last page
    assert keyset_page(Ticket.objects.all(), order="-created_at", size=5, number=9).number == 3
    # a cursor from a numbered page goes on from it
    after = keyset_page(
        Ticket.objects.all(), order="-created_at", size=5, after=pages[0].next_cursor
    )
    assert [x.pk for x in after] == newest_first[5:10]


def test_page_numbers_leave_gaps_far_from_the_current_page(t):
    page = keyset_page(Ticket.objects.none(), order="-created_at", size=5)
    page.count, page.number = 100, 10  # 20 pages
    assert page.page_numbers() == [1, None, 8, 9, 10, 11, 12, None, 20]
    page.count = COUNT_CAP + 1
    assert page.num_pages is None and page.page_numbers() == []


def test_the_inbox_links_its_pages_by_number(t, client):
    for _ in range(30):
        t.report("U1")
    client.force_login(t.user("community"))
    html = client.get(reverse("issues:inbox"), {"tab": "area"}).content.decode()
    assert 'aria-current="page"><span class="page-link">1</span>' in html
    assert "page=2" in html
    html = client.get(reverse("issues:inbox"), {"tab": "area", "page": "2"}).content.decode()
    assert 'aria-current="page"><span class="page-link">2</span>' in html
    assert html.count('<tr data-ticket="') == 5
