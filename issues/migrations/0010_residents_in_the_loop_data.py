"""The pilot's data in the new shape. Its own migration, not atomic: on PostgreSQL rows
updated in a transaction leave deferred trigger events that forbid schema changes after
them in the same transaction, and a city's million tickets should not be held in one
transaction either. Every statement is set-based (no row goes through Python) and each
commits on its own; each is idempotent, so a migration stopped halfway runs again cleanly.

- every notification with an address becomes one e-mail delivery, sent or not as it was,
  and one already sent counts as read (nobody is shown months of old news as new);
- every problem gets its first reporter row from its reporter fields, the phone falling
  back to the register's (as ``ticket_report`` does), with a random tracking token;
- the first asker is whoever recorded it;
- the ratings so far were typed in by workers: their source says so (``worker``), so no
  figure counts them as the resident's or as a return call.
"""

from django.db import migrations

NOTIFICATIONS = """
INSERT INTO issues_notificationdelivery
    (notification_id, channel, address, created_at, sent_at, claimed_at, attempts, last_error)
SELECT n.id, 'email', n.email, n.created_at, n.sent_at, n.claimed_at, n.attempts, n.last_error
FROM issues_notification n
WHERE n.email <> ''
  AND NOT EXISTS (SELECT 1 FROM issues_notificationdelivery d WHERE d.notification_id = n.id)
"""
READ = (
    "UPDATE issues_notification SET read_at = sent_at WHERE sent_at IS NOT NULL AND read_at IS NULL"
)
FIRST_ASKER = (
    "UPDATE issues_ticket SET first_asker_id = reported_by_id "
    "WHERE first_asker_id IS NULL AND reported_by_id IS NOT NULL"
)
RATED = "('satisfied', 'basic', 'unsatisfied')"
SOURCE = f"UPDATE issues_ticket SET rating_source = 'worker' WHERE rating IN {RATED} AND rating_source = ''"
REPORTERS = """
INSERT INTO issues_ticketreporter
    (ticket_id, reported_as_id, resident_id, name, phone, token, rating, rating_comment,
     rating_source, rated_at, created_at)
SELECT t.id, t.id, t.reporter_id, t.reporter_name,
       CASE WHEN t.reporter_phone <> '' THEN t.reporter_phone ELSE COALESCE(r.phone, '') END,
       {token},
       CASE WHEN t.rating IN {rated} THEN t.rating ELSE '' END,
       CASE WHEN t.rating IN {rated} THEN t.rating_comment ELSE '' END,
       CASE WHEN t.rating IN {rated} THEN 'worker' ELSE '' END,
       CASE WHEN t.rating IN {rated} THEN t.closed_at ELSE NULL END,
       t.created_at
FROM issues_ticket t
LEFT JOIN residents_resident r ON r.id = t.reporter_id
WHERE NOT EXISTS (SELECT 1 FROM issues_ticketreporter x WHERE x.reported_as_id = t.id)
"""
# 32 hex characters from the database's own random source: unguessable, one per row.
TOKEN = {
    "postgresql": "md5(random()::text || clock_timestamp()::text || t.id::text)",
    "sqlite": "lower(hex(randomblob(16)))",
}


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    token = TOKEN.get(vendor)
    if token is None:
        raise RuntimeError(f"issues 0010 knows no random token expression for {vendor}")
    for sql in (
        NOTIFICATIONS,
        READ,
        FIRST_ASKER,
        SOURCE,
        REPORTERS.format(token=token, rated=RATED),
    ):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("issues", "0009_residents_in_the_loop")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
