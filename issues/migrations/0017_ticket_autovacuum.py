"""Autovacuum for the problems keeps their visibility map fresh (PostgreSQL).

The dashboard counts open problems from the covering index alone (0016) only on pages the
visibility map marks all-visible; every step on a problem clears its page's mark until a
vacuum sets it again. By default autovacuum waits for 20 % of the table (200,000 problems
at a city's size); here it runs after 2 % (20,000 changed rows, about a day's work of a
city) and analyses after 1 %. SQLite has none to set.
"""

from django.db import migrations

from core.migrations_sql import autovacuum


class Migration(migrations.Migration):
    dependencies = [("issues", "0016_open_ticket_index")]

    operations = [autovacuum("issues_ticket", vacuum=0.02, analyze=0.01)]
