"""The pilot's data in the new shape (its own migration: on PostgreSQL rows updated in a
transaction leave deferred trigger events that forbid later schema changes in the same
transaction)."""

from django.db import migrations, models

import issues.models


def forwards(apps, schema_editor):
    """What the pilot already holds, in the new shape, set-based (a city's tickets):

    - every notification with an address becomes one e-mail delivery, sent or not as it was;
    - every problem gets its reporter row (the first report), from its reporter fields;
    - the first asker is whoever recorded it;
    - the ratings entered so far were typed in by workers: they count as return calls.
    """
    Notification = apps.get_model("issues", "Notification")
    Delivery = apps.get_model("issues", "NotificationDelivery")
    Ticket = apps.get_model("issues", "Ticket")
    Reporter = apps.get_model("issues", "TicketReporter")
    batch = []
    for row in Notification.objects.exclude(email="").iterator(chunk_size=2000):
        batch.append(
            Delivery(
                notification_id=row.pk,
                channel="email",
                address=row.email,
                created_at=row.created_at,
                sent_at=row.sent_at,
                claimed_at=row.claimed_at,
                attempts=row.attempts,
                last_error=row.last_error,
            )
        )
        if len(batch) >= 2000:
            Delivery.objects.bulk_create(batch)
            batch = []
    Delivery.objects.bulk_create(batch)
    # Notifications already sent count as read: nobody is shown months of old news as new.
    Notification.objects.exclude(sent_at=None).update(read_at=models.F("sent_at"))
    Ticket.objects.filter(first_asker=None).update(first_asker=models.F("reported_by"))
    rated = ["satisfied", "basic", "unsatisfied"]
    Ticket.objects.filter(rating__in=rated).update(rating_source="return_call")
    batch = []
    fields = (
        "pk",
        "reporter_id",
        "reporter_name",
        "reporter_phone",
        "created_at",
        "rating",
        "rating_comment",
        "closed_at",
        "rating_source",
    )
    for t in Ticket.objects.values(*fields).iterator(chunk_size=2000):
        closed_rated = t["rating"] in rated
        batch.append(
            Reporter(
                ticket_id=t["pk"],
                reported_as_id=t["pk"],
                resident_id=t["reporter_id"],
                name=t["reporter_name"],
                phone=t["reporter_phone"],
                created_at=t["created_at"],
                token=issues.models.tracking_token(),
                rating=t["rating"] if closed_rated else "",
                rating_comment=t["rating_comment"] if closed_rated else "",
                rating_source="return_call" if closed_rated else "",
                rated_at=t["closed_at"] if closed_rated else None,
            )
        )
        if len(batch) >= 2000:
            Reporter.objects.bulk_create(batch)
            batch = []
    Reporter.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("issues", "0009_residents_in_the_loop")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
