"""Which problem a look at personal data was for is written by ``issues``
(``TicketAccess``), next to the row ``residents`` keeps in its access log: the log itself
knows nothing of problems, so residents depends on no app above it."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from issues import services
from issues.models import TicketAccess
from residents import services as resident_services
from residents.models import AccessLog
from tests.migrating import leaves, migrate

pytestmark = pytest.mark.django_db


def test_shape_the_access_log_has_no_column_naming_a_problem():
    assert "ticket" not in {f.name for f in AccessLog._meta.concrete_fields}
    assert AccessLog._meta.get_field("ticket_link").related_model is TicketAccess


def test_shape_a_reporter_phone_reveal_links_the_log_to_its_problem(t):
    ticket = t.report("U1", tier="simple", reporter=None, reporter_phone="13700000042")
    phone = services.ticket_reporter_phone_reveal(
        user=t.users["unit_head"], ticket=ticket, ip="203.0.113.7", user_agent="agent"
    )
    assert phone == "13700000042"
    log = AccessLog.objects.get()
    assert (log.viewer, log.resident, log.field, log.ip) == (
        t.users["unit_head"],
        None,
        "phone",
        "203.0.113.7",
    )
    assert log.ticket_link.ticket == ticket
    assert TicketAccess.objects.get().access_log == log


def test_shape_a_description_reveal_links_the_log_to_its_problem_and_its_reporter(t):
    ticket = t.report("U1", tier="simple", description="电话13700000042")
    services.ticket_description_reveal(user=t.users["unit_head"], ticket=ticket)
    log = AccessLog.objects.get()
    assert (log.field, log.resident, log.ticket_link.ticket) == (
        "description",
        t.residents["U1"],
        ticket,
    )


def test_shape_a_refused_reveal_writes_neither_row(t):
    ticket = t.report("U1", tier="simple")
    with pytest.raises(PermissionDenied):
        services.ticket_reporter_phone_reveal(user=t.users["building_head"], ticket=ticket)
    assert not AccessLog.objects.exists() and not TicketAccess.objects.exists()


def test_shape_the_admin_shows_which_problem_a_look_was_for(t, login_as):
    ticket = t.report("U1", tier="simple", reporter=None, reporter_phone="13700000042")
    services.ticket_reporter_phone_reveal(user=t.users["unit_head"], ticket=ticket)
    resident = t.residents["U2"]
    resident_services.personal_field_reveal(user=t.users["admin"], resident=resident, field="phone")
    client = login_as("admin")
    listing = client.get(reverse("admin:residents_accesslog_changelist"))
    html = listing.content.decode()
    ticket_url = reverse("admin:issues_ticket_change", args=[ticket.pk])
    assert listing.status_code == 200 and ticket_url in html and f"#{ticket.pk}" in html
    log = AccessLog.objects.get(ticket_link__ticket=ticket)
    page = client.get(reverse("admin:residents_accesslog_change", args=[log.pk]))
    assert ticket_url in page.content.decode()


def test_shape_the_access_log_list_reads_the_problems_in_one_query(t, login_as):
    def reveal(count):
        for _ in range(count):
            ticket = t.report("U1", tier="simple", reporter=None, reporter_phone="13700000042")
            services.ticket_reporter_phone_reveal(user=t.users["unit_head"], ticket=ticket)

    client = login_as("admin")
    url = reverse("admin:residents_accesslog_changelist")
    reveal(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    reveal(8)
    with CaptureQueriesContext(connection) as more:
        assert client.get(url).status_code == 200
    assert len(more) == len(few)


def test_shape_the_migration_moves_each_logged_problem_to_issues(fresh_db):
    """A database from before the move: logs naming a problem keep naming it, and back."""
    before = [
        ("residents", "0004_access_log_searches_and_descriptions"),
        ("issues", "0007_department_to_grids"),
    ]
    moved = [("residents", "0006_access_log_without_ticket"), ("issues", "0008_ticket_access")]
    old = migrate(before)
    User = old.get_model("auth", "User")
    Area = old.get_model("grids", "Area")
    Category = old.get_model("issues", "Category")
    Ticket = old.get_model("issues", "Ticket")
    OldLog = old.get_model("residents", "AccessLog")
    viewer = User.objects.create(username="viewer")
    area = Area.objects.create(
        code="3699", name="抚阳市", kind="city", lft=1, rght=2, tree_id=1, level=0
    )
    category = Category.objects.create(code="roof", name="屋顶", lft=1, rght=2, tree_id=1, level=0)
    tickets = [
        Ticket.objects.create(
            area=area, category=category, channel="hotline", description="漏水", reporter_phone=p
        )
        for p in ("13700000001", "13700000002")
    ]
    phone = OldLog.objects.create(viewer=viewer, ticket=tickets[0], field="phone")
    text = OldLog.objects.create(viewer=viewer, ticket=tickets[1], field="description")
    search = OldLog.objects.create(viewer=viewer, field="id_search")

    new = migrate(moved)
    Access = new.get_model("issues", "TicketAccess")
    links = dict(Access.objects.values_list("access_log_id", "ticket_id"))
    assert links == {phone.pk: tickets[0].pk, text.pk: tickets[1].pk}
    assert new.get_model("residents", "AccessLog").objects.count() == 3
    assert not Access.objects.filter(access_log_id=search.pk).exists()

    # And back: the column gets its values again before its check returns.
    migrate(before)
    assert dict(OldLog.objects.values_list("pk", "ticket_id")) == {
        phone.pk: tickets[0].pk,
        text.pk: tickets[1].pk,
        search.pk: None,
    }
    # Forward through every migration since: the running code reads the links.
    migrate(leaves())
    assert TicketAccess.objects.count() == 2
    assert AccessLog.objects.count() == 3
