"""Trigram indexes for the area search (PostgreSQL): ``name`` and ``code`` contain a typed
fragment (``grids.selectors.area_search``, the admin's search), which a B-tree cannot serve
and which otherwise scans every node of the scope. The indexes are on ``UPPER(…)`` because
that is what Django's ``icontains`` compares on PostgreSQL. A fragment of three characters
or more narrows through them (Chinese names included: the database's UTF-8 ctype makes
each Han character a word character for pg_trgm); a shorter one falls back to the scope's
own index. SQLite (the embedded demo) has neither the extension nor the need.
"""

from django.db import migrations

from core.migrations_sql import postgresql_only

FORWARDS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS area_name_trgm ON grids_area USING gin (UPPER(name::text) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS area_code_trgm ON grids_area USING gin (UPPER(code::text) gin_trgm_ops);
"""
BACKWARDS = "DROP INDEX IF EXISTS area_name_trgm; DROP INDEX IF EXISTS area_code_trgm;"


class Migration(migrations.Migration):
    dependencies = [("grids", "0006_street_trees")]

    operations = [postgresql_only(FORWARDS, BACKWARDS)]
