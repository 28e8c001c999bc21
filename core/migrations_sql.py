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


def autovacuum(table: str, *, vacuum: float, analyze: float) -> migrations.RunPython:
    """Autovacuum and autoanalyse of ``table`` after the given shares of changed rows (and,
    unapplied, back to the server's defaults): PostgreSQL only."""
    factors = "autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor"
    return postgresql_only(
        f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = {vacuum}, "
        f"autovacuum_analyze_scale_factor = {analyze})",
        f"ALTER TABLE {table} RESET ({factors})",
    )
