"""Autovacuum for the problems keeps their visibility map fresh (PostgreSQL).

The dashboard counts open problems from the covering index alone (0016) only on pages the
visibility map marks all-visible; every step on a problem clears its page's mark until a
vacuum sets it again. By default autovacuum waits for 20 % of the table (200,000 problems
at a city's size); here it runs after 2 % (20,000 changed rows, about a day's work of a
city) and analyses after 1 %. SQLite has none to set.
"""

from django.db import migrations

from core.migrations_sql import postgresql_only

SET = (
    "ALTER TABLE issues_ticket SET (autovacuum_vacuum_scale_factor = 0.02, "
    "autovacuum_analyze_scale_factor = 0.01)"
)
RESET = (
    "ALTER TABLE issues_ticket RESET (autovacuum_vacuum_scale_factor, "
    "autovacuum_analyze_scale_factor)"
)


class Migration(migrations.Migration):
    dependencies = [("issues", "0016_open_ticket_index")]

    operations = [postgresql_only(SET, RESET)]
