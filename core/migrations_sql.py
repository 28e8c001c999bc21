"""Operations the project's migrations share (kept small and stable: old migrations import
them)."""

from django.db import migrations


def postgresql_only(forwards: str, backwards: str) -> migrations.RunPython:
    """A ``RunPython`` that runs ``forwards`` (and, unapplied, ``backwards``) on PostgreSQL
    only: a PostgreSQL feature (a covering index, a table's autovacuum setting) that the
    embedded SQLite database neither has nor needs."""

    def run(sql):
        def operation(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)

        return operation

    return migrations.RunPython(run(forwards), run(backwards))
