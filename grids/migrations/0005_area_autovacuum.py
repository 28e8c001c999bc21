"""Autovacuum for the area table keeps pace with renumbering (PostgreSQL).

Inserting or moving a node rewrites the nested-set numbers of the rows to its right in its
street (its district when this was written), each update leaving a dead row; by default autovacuum waits for 20 % of the table
(over 100,000 rows at a city's size), and until then every page that reads the tree index
reads the dead rows too. Here it runs after 1 % (and analyses after 2 %). SQLite (the
embedded demo) has no autovacuum to set.
"""

from django.db import migrations

from core.migrations_sql import autovacuum


class Migration(migrations.Migration):
    dependencies = [("grids", "0004_department")]

    operations = [autovacuum("grids_area", vacuum=0.01, analyze=0.02)]
