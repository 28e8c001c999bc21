"""An index on the residents' mobile numbers (sign-in links an account by it, a resident's
problems are found by it). On PostgreSQL it is built CONCURRENTLY, so a register of
millions stays writable while it builds; hence not atomic."""

from django.db import migrations, models

INDEX = models.Index(condition=~models.Q(phone=""), fields=["phone"], name="resident_phone")


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX {concurrently}IF NOT EXISTS resident_phone "
        "ON residents_resident (phone) WHERE NOT (phone = '')"
    )


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS resident_phone")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("grids", "0004_department"),
        ("residents", "0007_residentaccount_signincode"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="resident", index=INDEX)],
            database_operations=[migrations.RunPython(create, drop, elidable=False)],
        ),
    ]
