"""The households' ancestor keys filled in (one ``UPDATE … FROM`` the keys of every area:
``grids.selectors.area_keys_select``), before their indexes (0011). Not atomic: idempotent,
and a city's million and a half households are not held in one transaction."""

from django.db import migrations


def fill(apps, schema_editor):
    from grids.selectors import area_keys_fill

    if apps.get_model("residents", "Household").objects.exists():
        area_keys_fill("residents_household")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("residents", "0009_household_ancestor_keys")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
