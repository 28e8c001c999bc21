"""A covering partial index of the open problems by district and street (PostgreSQL).

The dashboard's open, overdue and per-tier counts and its children's open counts read
only open problems (a tenth of a city's), by district or street: with their tier, deadline,
community and place in the index, PostgreSQL counts them from the index alone (an
index-only scan) instead of fetching a district's hundred thousand rows to look at their
state. SQLite (the embedded demo) has no INCLUDE and no need. The states are written out
here as ``issues.rules.OPEN_STATES`` holds them today: a migration is frozen in time.
"""

from django.db import migrations

from core.migrations_sql import postgresql_only

OPEN = ("reported", "assigned", "in_progress")
CREATE = (
    "CREATE INDEX IF NOT EXISTS ticket_open_keys ON issues_ticket (district_id, street_id) "
    "INCLUDE (community_id, tier, deadline, area_id) "
    f"WHERE state IN ({', '.join(repr(s) for s in OPEN)})"
)
DROP = "DROP INDEX IF EXISTS ticket_open_keys"


class Migration(migrations.Migration):
    dependencies = [("issues", "0015_ancestor_key_indexes")]

    operations = [postgresql_only(CREATE, DROP)]
