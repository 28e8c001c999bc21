"""The problems' ancestor keys and day figures filled in, for a database that has problems.

Not atomic, like 0010: a city's million problems are not held in one transaction, and each
step is idempotent (the keys are recomputed whole, the day rows rebuilt whole), so a
migration stopped halfway runs again cleanly. Set-based: one ``UPDATE … FROM`` the keys of
every area (``grids.selectors.area_keys_select``: parent links followed by primary-key
joins), then two grouped queries per key level for the figures. The indexes on the keys
come after (0015), so this update does not maintain them row by row.
"""

from django.db import migrations


def fill(apps, schema_editor):
    from grids.selectors import area_keys_fill
    from issues.services.rollups import ticket_days_recount

    Ticket = apps.get_model("issues", "Ticket")
    if not Ticket.objects.exists():
        return
    area_keys_fill("issues_ticket")
    ticket_days_recount(
        Ticket.objects.all(),
        days_model=apps.get_model("issues", "TicketDay"),
        category_days_model=apps.get_model("issues", "TicketCategoryDay"),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("issues", "0013_ancestor_keys_and_days")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
