"""The households' ancestor keys filled in (one ``UPDATE … FROM`` the keys of every area:
``grids.selectors.area_keys_select``), before their indexes (0011). Not atomic: idempotent,
and a city's million and a half households are not held in one transaction."""

from django.db import connection, migrations, transaction

KEYS = ("district_id", "street_id", "community_id", "grid_id")


def fill(apps, schema_editor):
    from grids.selectors import area_keys_select

    Household = apps.get_model("residents", "Household")
    if not Household.objects.exists():
        return
    assignments = ", ".join(f"{key} = k.{key}" for key in KEYS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE residents_household SET {assignments} FROM ({area_keys_select()}) AS k "
            "WHERE residents_household.area_id = k.area_id"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("residents", "0009_household_ancestor_keys")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
