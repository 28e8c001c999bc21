"""``python manage.py db_grants ROLE``: what the services' database role may do, granted by
the role that owns the tables, after each release's migrations (``make release`` runs it
when ``DATABASE_APP_ROLE`` is set; README, "Production").

The services (web, worker, beat) connect as a role that owns nothing: it reads and writes
rows, and that is all (no tables of its own, no temporary ones, no membership of the
owner's role, not the owner of the database or its schema: each refused or revoked).
Only a table's owner may drop or alter it, and so disable its
triggers: the history's append-only triggers (core/audit) and the triggers that write it
cannot be switched off from a compromised web process. On the history tables it may only
read and add rows; its UPDATE, DELETE and TRUNCATE are revoked, a second lock behind the
triggers that refuse them.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from core.audit import AuditEvent


def history_tables() -> list[str]:
    """The tables of every audit history (``core.audit.track``)."""
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, AuditEvent) and not model._meta.proxy
    )


class Command(BaseCommand):
    help = (
        "Grant the services' database role (which must own nothing) the rows of every table, "
        "and only reading and adding on the audit history."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the web, worker and beat connect as")

    def handle(self, *args, role: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("db_grants is for PostgreSQL: SQLite has no roles")
        from psycopg import sql

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_schema()")
            owner, schema = cursor.fetchone()
            cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
            found = cursor.fetchone()
            if found is None:
                raise CommandError(f"there is no database role {role!r}: create it first")
            if role == owner:
                raise CommandError(
                    f"{role!r} is the role running the migrations, which owns the tables: the "
                    "services must connect as another role (DATABASE_URL in the env file), the "
                    "release as the owner (the release env file)"
                )
            if found[0]:
                raise CommandError(f"{role!r} is a superuser: no grant or revoke binds it")
            cursor.execute(
                "SELECT pg_has_role(%s, %s, 'MEMBER'),"
                " (SELECT datdba::regrole::text FROM pg_database"
                "  WHERE datname = current_database()),"
                " (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s)",
                [role, owner, schema],
            )
            member, database_owner, schema_owner = cursor.fetchone()
            if member:
                raise CommandError(
                    f"{role!r} is a member of {owner!r}, the tables' owner: it would act as it"
                )
            if role in (database_owner, schema_owner):
                raise CommandError(
                    f"{role!r} owns the database or its schema {schema!r}, and could drop any "
                    f"table in it: give them to {owner!r} (README, Production: upgrading to two "
                    "roles)"
                )
            cursor.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tableowner <> %s",
                [schema, owner],
            )
            (foreign,) = cursor.fetchone()
            if foreign:
                raise CommandError(
                    f"{foreign} tables of schema {schema!r} are not owned by {owner!r}: run the "
                    "release as the role that owns them all"
                )
            ident = sql.Identifier
            cursor.execute("SELECT current_database()")
            (database,) = cursor.fetchone()
            statements = [
                # No tables of its own (PostgreSQL before 15 let everyone create them in
                # public), and no temporary ones: a temporary table named like a history
                # table would come first in the search path and take the trigger's rows.
                sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(ident(schema)),
                sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(ident(database)),
                sql.SQL("REVOKE CREATE, TEMPORARY ON DATABASE {} FROM {}").format(
                    ident(database), ident(role)
                ),
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(ident(database), ident(role)),
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident(schema), ident(role)),
                sql.SQL(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}"
                ).format(ident(schema), ident(role)),
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                    ident(schema), ident(role)
                ),
            ]
            histories = history_tables()
            for table in histories:
                statements.append(
                    sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                        ident(table), ident(role)
                    )
                )
            raw = cursor.cursor  # psycopg's own cursor: Django's would not take Composed
            for statement in statements:
                raw.execute(statement)
            cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema])
            (tables,) = cursor.fetchone()
        self.stdout.write(
            f"{role}: rows of {tables} tables; {len(histories)} history tables read and "
            "added to only; owns nothing, creates nothing"
        )
