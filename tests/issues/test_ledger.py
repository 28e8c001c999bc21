"""The ledger (台账): the inbox's list, filtered as shown, as XLSX and on A4 with its filters
in the heading; bulk triage and reminders on the problems selected, each checked as its own
step would be; sortable columns; the filters folded on a phone until one is set."""

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from issues import services
from issues.models import Notification, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

S = Ticket.State
E = TicketEvent.Kind


def _client(t, persona) -> Client:
    client = Client()
    client.force_login(t.user(persona))
    return client


def _sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def _table(rows):
    """The ledger's header row and the rows below it."""
    start = next(i for i, row in enumerate(rows) if row and row[0] == "编号")
    return rows[start], [row for row in rows[start + 1 :] if row and row[0] is not None]


def test_the_ledger_holds_the_rows_filtered_as_shown_with_the_filters_above(t):
    lamp = t.report("U1", description="楼道灯坏了 13912345678")
    t.report("U3", description="电梯停运")  # another grid
    t.report("U2", tier="simple")  # triaged: not "reported"
    url = reverse("issues:inbox_ledger")

    rows = _sheet(
        _client(t, "community").get(url, {"tab": "area", "area": t.g1.code, "state": S.REPORTED})
    )

    assert rows[0][0] == "问题台账"
    heading = " ".join(str(c) for row in rows[:4] for c in row if c)
    assert "辖区问题" in heading and "已上报" in heading and "第1网格" in heading
    header, table = _table(rows)
    assert header[:4] == ["编号", "类别", "地点", "区域编码"]
    assert [row[0] for row in table] == [lamp.pk]
    assert table[0][2] == "莲心社区 › 第1网格 › 1栋 › 1单元"
    assert "13912345678" not in str(table[0]) and "139****5678" in str(table[0])


def test_the_ledger_is_the_viewers_own_scope(t):
    t.report("U4", description="村口路灯坏了")  # community B
    mine = t.report("U1")
    _header, table = _table(
        _sheet(_client(t, "community").get(reverse("issues:inbox_ledger"), {"tab": "area"}))
    )
    assert [row[0] for row in table] == [mine.pk]
    _header, table = _table(
        _sheet(_client(t, "outsider").get(reverse("issues:inbox_ledger"), {"tab": "area"}))
    )
    assert mine.pk not in [row[0] for row in table]


def test_the_printed_ledger_names_its_filters_and_rows(t):
    lamp = t.report("U1")
    t.report("U3")
    response = _client(t, "community").get(
        reverse("issues:inbox_print"), {"tab": "area", "area": t.g1.code}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ledger-heading"' in html and "第1网格" in html and "辖区问题" in html
    assert f"<td>{lamp.pk}</td>" in html and html.count("<tr><td>") == 1
    assert "data-print" in html and "portal/print.js" in html


def test_bulk_triage_assigns_the_selected_and_names_those_refused(t):
    first, second = t.report("U1"), t.report("U2")
    foreign = t.report("U4")  # the grid head cannot see community B
    triaged = t.report("U1", tier="simple")
    client = _client(t, "grid_head")
    response = client.post(
        reverse("issues:inbox_bulk"),
        {
            "act": "assign",
            "tier": "simple",
            "ticket": [first.pk, second.pk, foreign.pk, triaged.pk],
            "back": "?tab=mine",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("issues:inbox") + "?tab=mine"
    for ticket in (first, second):
        ticket.refresh_from_db()
        assert (ticket.state, ticket.tier) == (S.ASSIGNED, "simple")
        assert ticket.handler_area_id in (t.u1.pk, t.u2.pk, t.b1.pk)
        assert [e.kind for e in ticket.events.order_by("pk")] == [E.REPORT, E.ASSIGN]
        assert Notification.objects.filter(ticket=ticket, kind="assigned").exists()
    foreign.refresh_from_db()
    assert foreign.state == S.REPORTED
    html = response.content.decode()
    assert f"#{first.pk}" in html and f"#{foreign.pk}" in html and f"#{triaged.pk}" in html


def test_bulk_reminders_remind_each_holder_at_a_fixed_cost(t):
    def remind(count):
        tickets = [t.report("U1", tier="simple") for _ in range(count)]
        with CaptureQueriesContext(connection) as queries:
            response = _client(t, "community").post(
                reverse("issues:inbox_bulk"),
                {"act": "remind", "note": "请尽快处理", "ticket": [x.pk for x in tickets]},
            )
        assert response.status_code == 302
        for ticket in tickets:
            (event,) = ticket.events.filter(kind=E.REMIND)
            assert event.note == "请尽快处理" and event.actor == t.users["community"]
            assert Notification.objects.filter(ticket=ticket, kind="reminder").exists()
        return len(queries)

    remind(1)
    assert remind(2) == remind(6)


def test_bulk_triage_costs_the_same_for_two_problems_or_six(t):
    def assign(count):
        tickets = [t.report("U1") for _ in range(count)]
        with CaptureQueriesContext(connection) as queries:
            _client(t, "grid_head").post(
                reverse("issues:inbox_bulk"),
                {"act": "assign", "tier": "complex", "ticket": [x.pk for x in tickets]},
            )
        assert all(Ticket.objects.get(pk=x.pk).state == S.ASSIGNED for x in tickets)
        return len(queries)

    assign(1)  # the first use writes the workflow settings' row
    assert assign(2) == assign(6)


def test_the_bulk_bar_is_only_for_those_who_may(t):
    t.report("U1", tier="simple")
    html = _client(t, "grid_head").get(reverse("issues:inbox"), {"tab": "area"}).content.decode()
    assert 'id="bulk-form"' in html and 'value="assign"' in html and 'form="bulk-form"' in html
    html = _client(t, "unit_head").get(reverse("issues:inbox"), {"tab": "area"}).content.decode()
    assert 'id="bulk-form"' not in html and 'form="bulk-form"' not in html
    response = _client(t, "unit_head").post(
        reverse("issues:inbox_bulk"), {"act": "remind", "ticket": [Ticket.objects.get().pk]}
    )
    assert response.status_code == 302
    assert not TicketEvent.objects.filter(kind=E.REMIND).exists()


def test_columns_sort_and_the_filters_fold_until_one_is_set(t):
    older, newer = t.report("U1"), t.report("U2")
    client = _client(t, "community")
    html = client.get(reverse("issues:inbox"), {"tab": "area"}).content.decode()
    assert 'aria-sort="descending"' in html
    assert html.index(f"#{newer.pk}<") < html.index(f"#{older.pk}<")
    assert 'id="inbox-filters" class="row g-2 align-items-end mb-3 collapse d-md-flex"' in html
    html = client.get(reverse("issues:inbox"), {"tab": "area", "sort": "created_at"})
    html = html.content.decode()
    assert 'aria-sort="ascending"' in html
    assert html.index(f"#{older.pk}<") < html.index(f"#{newer.pk}<")
    assert "collapse d-md-flex show" in html  # a filter (the order) is set


def test_a_mobile_number_searched_for_is_masked_in_the_ledgers_heading(t):
    t.report("U1", reporter=None, reporter_phone="13912345678")
    rows = _sheet(
        _client(t, "community").get(
            reverse("issues:inbox_ledger"), {"tab": "area", "q": "13912345678"}
        )
    )
    header, table = _table(rows)
    assert len(table) == 1
    heading = " ".join(str(c) for row in rows[:4] for c in row if c)
    assert "13912345678" not in heading and "139****5678" in heading


def test_bulk_triage_refuses_a_place_with_nobody_above_and_does_the_rest(t):
    from grids.models import Post

    lamp = t.report("U1")
    elsewhere = t.report("U4", actor=t.user("outsider"))  # community B keeps its people
    nobody_above = [t.street, t.county]
    Post.objects.filter(area__in=nobody_above).update(ended_on=timezone.localdate())
    admin = t.user("admin")
    result = services.tickets_assign_many(ids=[lamp.pk, elsewhere.pk], tier="hard", actor=admin)
    assert result.done == [] and set(result.refused) == {lamp.pk, elsewhere.pk}
    assert all(Ticket.objects.get(pk=pk).state == S.REPORTED for pk in result.refused)
    result = services.tickets_assign_many(ids=[lamp.pk, elsewhere.pk], tier="complex", actor=admin)
    assert set(result.done) == {lamp.pk, elsewhere.pk} and not result.refused


@pytest.mark.parametrize("tier", ["simple", "complex", "hard"])
def test_bulk_triage_sends_a_problem_where_triage_one_by_one_does(t, tier):
    """One plan for both (``workflow.assign_plan``): the same rung, place, deadline and
    note for a problem triaged from the ledger as for its twin triaged on its own page."""
    admin = t.user("admin")
    alone, together = t.report("U1"), t.report("U1")
    services.ticket_assign(ticket=alone, tier=tier, actor=admin, note="先核实")
    services.tickets_assign_many(ids=[together.pk], tier=tier, actor=admin, note="先核实")
    alone.refresh_from_db()
    together.refresh_from_db()
    fields = ("state", "tier", "level", "handler_area_id", "deadline", "first_asker_id")
    assert [getattr(together, f) for f in fields] == [getattr(alone, f) for f in fields]
    assert together.deadline is not None
    last = [ticket.events.order_by("pk").last() for ticket in (alone, together)]
    assert last[0].kind == last[1].kind == E.ASSIGN
    assert last[0].text == last[1].text and "先核实" in last[1].text
