"""The inbox's rows and filter fields as ``issues.views`` works them out once per page
(``_inbox_rows``, ``_filter_fields``): the same HTML as the template's own lookups, filters
and ``{% url %}`` gave row by row, in both languages; the filter fields kept for a form with
nothing chosen follow the categories and the language."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from grids.selectors import set_places
from issues import views
from issues.models import Category, Ticket

pytestmark = pytest.mark.django_db

# The rows as inbox.html rendered them before the view worked them out: what they must stay.
REFERENCE_ROWS = """{% load i18n privacy %}
{% translate "Category" as l_category %}{% translate "Place" as l_place %}{% translate "State" as l_state %}{% translate "Tier" as l_tier %}{% translate "Handled at" as l_handler %}{% translate "Deadline" as l_deadline %}{% translate "Reported at" as l_created %}{% translate "rectification" as l_rectification %}
{% for ticket in tickets %}{% url 'issues:ticket_detail' ticket.pk as ticket_url %}
    <tr data-ticket="{{ ticket.pk }}">
      {% if bulk %}<td class="c-pick"><input type="checkbox" class="form-check-input" name="ticket" value="{{ ticket.pk }}" form="bulk-form" id="pick-{{ ticket.pk }}" aria-label="{% blocktranslate with n=ticket.pk %}Select #{{ n }}{% endblocktranslate %}"></td>{% endif %}
      <td class="c-num" data-label="#"><a href="{{ ticket_url }}">#{{ ticket.pk }}</a></td>
      <td class="c-cat" data-label="{{ l_category }}"><a href="{{ ticket_url }}">{{ ticket.category.name }}</a><div class="small text-muted text-truncate c-text mw-22rem">{{ ticket.description|scrub }}</div></td>
      <td class="c-place" data-label="{{ l_place }}" data-place="{{ ticket.area_id }}">{{ ticket.place|default:ticket.area.name }}</td>
      <td class="c-state" data-label="{{ l_state }}">{{ ticket.get_state_display }}{% if ticket.on_rectification_list %} <span class="badge text-bg-warning">{{ l_rectification }}</span>{% endif %}</td>
      <td class="c-tier" data-label="{{ l_tier }}">{{ ticket.get_tier_display|default:"—" }}</td>
      <td class="c-handler" data-label="{{ l_handler }}">{% if ticket.handler_area %}{{ ticket.handler_area.name }} · {{ ticket.get_level_display }}{% else %}{{ ticket.get_level_display|default:"—" }}{% endif %}</td>
      <td class="c-deadline" data-label="{{ l_deadline }}">{% if ticket.deadline and ticket.is_open %}<span class="badge badge-deadline-{{ ticket.deadline_class|default:'ok' }}" data-deadline="{{ ticket.deadline_class }}">{{ ticket.deadline|date:"MONTH_DAY_FORMAT" }} {{ ticket.deadline|time:"TIME_FORMAT" }}</span>{% else %}—{% endif %}</td>
      <td class="c-created" data-label="{{ l_created }}">{{ ticket.created_at|date:"DATE_FORMAT" }}</td>
    </tr>
{% endfor %}"""  # noqa: E501

ROW = re.compile(r'<tr data-ticket="(\d+)">.*?</tr>', re.DOTALL)
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _rows(html: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in ROW.finditer(html)}


def _reference(tickets, user, now) -> dict[str, str]:
    tickets = list(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).select_related(
            "category", "area", "handler_area"
        )
    )
    set_places(tickets, user=user)
    for ticket in tickets:
        ticket.deadline_class = views.deadline_class(ticket, now)
    template = engines["django"].from_string(REFERENCE_ROWS)
    return _rows(template.render({"tickets": tickets, "bulk": True}))


@pytest.fixture
def tickets(t, freeze):
    with freeze(NOW - dt.timedelta(days=3)):
        reported = t.report("U1", description="电梯停了，请回电 13800138000")
        simple = t.report("U2", tier="simple", category=t.leak)
        hard = t.report("B1", tier="hard", description="<b>楼道</b> & 路灯")
        community = t.report("A", tier="simple", category=t.noise)
    # Overdue, due within a day, on the rectification list.
    Ticket.objects.filter(pk=simple.pk).update(deadline=NOW - dt.timedelta(hours=2))
    Ticket.objects.filter(pk=community.pk).update(
        deadline=NOW + dt.timedelta(hours=5), on_rectification_list=True
    )
    return [reported, simple, hard, community]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_rows_are_what_the_template_lookups_gave(t, login_as, freeze, tickets, language):
    client = login_as("community")
    prefix = "" if language == "zh-hans" else "/en"
    with freeze(NOW):
        html = client.get(f"{prefix}/tickets/", {"tab": "area"}).content.decode()
        with translation.override(language):
            expected = _reference(tickets, t.user("community"), timezone.now())
    shown = _rows(html)
    assert set(shown) == {str(ticket.pk) for ticket in tickets}
    assert shown == expected
    # What the cases above are for: each is on the page as it should be.
    reported, simple, hard, community = tickets
    assert "138****8000" in shown[str(reported.pk)]
    assert "&lt;b&gt;楼道&lt;/b&gt; &amp; 路灯" in shown[str(hard.pk)]
    assert 'data-deadline="over"' in shown[str(simple.pk)]
    assert 'data-deadline="soon"' in shown[str(community.pk)]
    assert "text-bg-warning" in shown[str(community.pk)]
    assert f'href="{prefix}/tickets/{hard.pk}/"' in shown[str(hard.pk)]


def test_row_address_is_reverse(t, tickets):
    set_places(tickets, user=t.user("community"))
    with translation.override("zh-hans"):
        rows = views._inbox_rows(tickets, now=NOW)
    assert [row["url"] for row in rows] == [
        reverse("issues:ticket_detail", args=[ticket.pk]) for ticket in tickets
    ]


def _filter_fields_fresh(form) -> str:
    """The fields as the form's own widgets render them, the categories fetched by them."""
    from django.template.loader import render_to_string

    return render_to_string("issues/_inbox_filter_fields.html", {"form": form})


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_blank_filter_fields_are_the_widgets_own(t, language):
    from issues.forms import InboxFilterForm

    views._blank_filter_fields.cache_clear()
    with translation.override(language):
        kept = views._filter_fields(InboxFilterForm())
        assert views._filter_fields(InboxFilterForm()) == kept  # from the cache
        assert kept == _filter_fields_fresh(InboxFilterForm())
    assert views._blank_filter_fields.cache_info().hits == 1


def test_chosen_filters_are_the_widgets_own(t):
    from issues.forms import InboxFilterForm

    data = {"category": str(t.leak.pk), "state": "reported", "q": "电梯", "since": "2026-01-02"}
    form = InboxFilterForm(data)
    assert form.is_valid()
    fresh = InboxFilterForm(data)
    fresh.is_valid()
    assert views._filter_fields(form) == _filter_fields_fresh(fresh)
    assert f'<option value="{t.leak.pk}" selected>' in views._filter_fields(form)


def test_kept_filter_fields_follow_the_categories(t, login_as):
    client = login_as("community")
    assert "噪音扰民" in client.get("/tickets/").content.decode()
    Category.objects.filter(pk=t.noise.pk).update(name="夜间施工噪音")
    Category.objects.create(code="parking", name="乱停车")
    html = client.get("/tickets/").content.decode()
    assert "噪音扰民" not in html
    assert f'<option value="{t.noise.pk}">夜间施工噪音</option>' in html
    assert "乱停车" in html
    assert 'for="id_q">Search<' in client.get("/en/tickets/").content.decode()


def test_rows_read_no_column_left_out(login_as, tickets):
    """The page reads its rows' columns only (views.INBOX_COLUMNS): four rows of every kind
    above cost the queries of one, so no row loads a column left out on its own."""
    client = login_as("community")
    with CaptureQueriesContext(connection) as one:
        html = client.get("/tickets/", {"tab": "area", "state": "reported"}).content.decode()
    assert len(_rows(html)) == 1
    with CaptureQueriesContext(connection) as four:
        html = client.get("/tickets/", {"tab": "area", "sort": "deadline"}).content.decode()
    assert len(_rows(html)) == 4
    assert len(four) == len(one)
