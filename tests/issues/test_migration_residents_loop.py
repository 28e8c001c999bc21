"""issues 0009 brings a pilot's data into the shape of residents in the loop: every
notification that had an address becomes an e-mail delivery (sent or not, as it was), every
problem gets its first reporter row, the first asker is whoever recorded it, and the
ratings typed in by workers so far keep a source of their own ("worker")."""

import datetime as dt

from issues.models import Notification, NotificationDelivery, Ticket, TicketReporter
from tests.migrating import leaves, migrate

BEFORE = [("issues", "0008_ticket_access"), ("residents", "0006_access_log_without_ticket")]


def test_shape_the_migration_keeps_every_notification_report_and_rating(fresh_db):
    old = migrate(BEFORE)
    User = old.get_model("auth", "User")
    Area = old.get_model("grids", "Area")
    Category = old.get_model("issues", "Category")
    OldTicket = old.get_model("issues", "Ticket")
    OldNotification = old.get_model("issues", "Notification")
    worker = User.objects.create(username="worker", email="w@example.org")
    area = Area.objects.create(
        code="3699", name="抚阳市", kind="city", lft=1, rght=2, tree_id=1, level=0
    )
    category = Category.objects.create(code="roof", name="屋顶", lft=1, rght=2, tree_id=1, level=0)
    closed_at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    rated = OldTicket.objects.create(
        area=area,
        category=category,
        channel="hotline",
        description="漏水",
        reporter_name="王大妈",
        reporter_phone="13700000001",
        reported_by=worker,
        state="closed",
        rating="basic",
        rating_comment="还行",
        closed_at=closed_at,
    )
    open_one = OldTicket.objects.create(
        area=area,
        category=category,
        channel="api",
        description="路灯",
        reporter_phone="13700000002",
    )
    Household = old.get_model("residents", "Household")
    Resident = old.get_model("residents", "Resident")
    unit = Area.objects.create(
        code="3699010101", name="1单元", kind="unit", lft=1, rght=2, tree_id=2, level=0
    )
    household = Household.objects.create(area=unit, door="301")
    resident = Resident.objects.create(
        household=household,
        name="李四",
        gender="M",
        birth_date=dt.date(1960, 1, 1),
        id_number="110101196001010019",
        phone="13900000003",
    )
    from_register = OldTicket.objects.create(
        area=area, category=category, channel="visit", description="门锁", reporter=resident
    )
    sent_at = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
    sent = OldNotification.objects.create(
        recipient=worker, email="w@example.org", subject="已发", body="b", sent_at=sent_at
    )
    failing = OldNotification.objects.create(
        email="dept@example.org", subject="未发", body="b", attempts=2, last_error="SMTP 451"
    )
    no_address = OldNotification.objects.create(recipient=worker, subject="无地址", body="b")

    migrate(leaves())

    deliveries = {d.notification_id: d for d in NotificationDelivery.objects.all()}
    assert set(deliveries) == {sent.pk, failing.pk}
    assert (deliveries[sent.pk].channel, deliveries[sent.pk].address) == ("email", "w@example.org")
    assert deliveries[sent.pk].sent_at == sent_at
    assert (deliveries[failing.pk].sent_at, deliveries[failing.pk].attempts) == (None, 2)
    assert deliveries[failing.pk].last_error == "SMTP 451"
    assert Notification.objects.get(pk=sent.pk).read_at == sent_at
    assert Notification.objects.get(pk=no_address.pk).read_at is None

    first = TicketReporter.objects.get(ticket_id=rated.pk)
    assert (first.reported_as_id, first.name, first.phone) == (rated.pk, "王大妈", "13700000001")
    assert (first.rating, first.rating_comment, first.rating_source) == (
        "basic",
        "还行",
        "worker",
    )
    assert first.rated_at == closed_at and len(first.token) >= 20
    other = TicketReporter.objects.get(ticket_id=open_one.pk)
    assert (other.rating, other.rated_at, other.phone) == ("", None, "13700000002")
    assert first.token != other.token
    ticket = Ticket.objects.get(pk=rated.pk)
    assert (ticket.first_asker_id, ticket.rating_source) == (worker.pk, "worker")
    # The register's phone where the report gave none, as ticket_report does now.
    assert TicketReporter.objects.get(ticket_id=from_register.pk).phone == "13900000003"
    assert Ticket.objects.get(pk=open_one.pk).rating_source == ""
