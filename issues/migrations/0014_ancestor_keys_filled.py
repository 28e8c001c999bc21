"""The problems' ancestor keys and day figures filled in, for a database that has problems.

Not atomic, like 0010: a city's million problems are not held in one transaction, and each
step is idempotent (the keys are recomputed whole, the day rows rebuilt whole), so a
migration stopped halfway runs again cleanly. Set-based: one ``UPDATE … FROM`` the keys of
every area (``grids.selectors.area_keys_select``: parent links followed by primary-key
joins), then two grouped queries per key level for the figures. The indexes on the keys
come after (0015), so this update does not maintain them row by row.
"""

from django.db import connection, migrations, transaction

KEYS = ("district_id", "street_id", "community_id", "grid_id")


def fill(apps, schema_editor):
    from grids.selectors import area_keys_select
    from issues.services.rollups import ticket_days_recount

    Ticket = apps.get_model("issues", "Ticket")
    TicketDay = apps.get_model("issues", "TicketDay")
    if not Ticket.objects.exists():
        return
    assignments = ", ".join(f"{key} = k.{key}" for key in KEYS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE issues_ticket SET {assignments} FROM ({area_keys_select()}) AS k "
            "WHERE issues_ticket.area_id = k.area_id"
        )
    ticket_days_recount(
        Ticket.objects.all(),
        days_model=TicketDay,
        category_days_model=apps.get_model("issues", "TicketCategoryDay"),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("issues", "0013_ancestor_keys_and_days")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
