"""Autovacuum for the area table keeps pace with renumbering (PostgreSQL).

Inserting or moving a node rewrites the nested-set numbers of the rows to its right in its
district, each update leaving a dead row; by default autovacuum waits for 20 % of the table
(over 100,000 rows at a city's size), and until then every page that reads the tree index
reads the dead rows too. Here it runs after 1 % (and analyses after 2 %). SQLite (the
embedded demo) has no autovacuum to set.
"""

from django.db import migrations

from core.migrations_sql import postgresql_only

SET = (
    "ALTER TABLE grids_area SET (autovacuum_vacuum_scale_factor = 0.01, "
    "autovacuum_analyze_scale_factor = 0.02)"
)
RESET = (
    "ALTER TABLE grids_area RESET (autovacuum_vacuum_scale_factor, "
    "autovacuum_analyze_scale_factor)"
)


class Migration(migrations.Migration):
    dependencies = [("grids", "0004_department")]

    operations = [postgresql_only(SET, RESET)]
