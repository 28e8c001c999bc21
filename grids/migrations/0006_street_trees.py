"""Every street and town becomes the root of a nested-set tree of its own (hung below its
district through ``upper``), so that adding or moving a node renumbers one street — a few
thousand rows at a city's size — instead of a whole district (26,850 rows measured on a
300,000-node tree, ``make bench``).

Set-based: one ``UPDATE`` per street shifts its subtree into a new tree numbered from 1,
then the streets take their district as ``upper`` and each district is a one-node tree.
Nothing but the nested-set numbers and the two links changes; the ancestor keys of problems
and households stay as they are. Backwards, the streets go back into their districts' trees,
in the order of their tree ids.
"""

from django.db import migrations

ROOTS = ("street", "town")  # kinds that become roots here (grids.rules.TREE_ROOT_KINDS)


def _rows(cursor, sql, params=()):
    cursor.execute(sql, params)
    return cursor.fetchall()


def forwards(apps, schema_editor):
    table = apps.get_model("grids", "Area")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        streets = _rows(
            cursor,
            f"SELECT id, tree_id, lft, rght, level FROM {table}"
            f" WHERE kind IN (%s, %s) AND parent_id IS NOT NULL ORDER BY tree_id, lft",
            ROOTS,
        )
        if not streets:
            return
        (top,) = _rows(cursor, f"SELECT MAX(tree_id) FROM {table}")[0]
        for offset, (pk, tree_id, lft, rght, level) in enumerate(streets, start=1):
            cursor.execute(
                f"UPDATE {table} SET tree_id = %s, lft = lft - %s, rght = rght - %s,"
                f" level = level - %s WHERE tree_id = %s AND lft BETWEEN %s AND %s",
                [top + offset, lft - 1, lft - 1, level, tree_id, lft, rght],
            )
        cursor.execute(
            f"UPDATE {table} SET upper_id = parent_id, parent_id = NULL"
            f" WHERE kind IN (%s, %s) AND parent_id IS NOT NULL",
            ROOTS,
        )
        left = _rows(
            cursor,
            f"SELECT a.code FROM {table} a JOIN {table} d ON d.tree_id = a.tree_id"
            f" WHERE d.kind = 'district' AND a.id <> d.id",
        )
        if left:  # grids.rules allows nothing but streets and towns under a district
            raise RuntimeError(f"nodes left in a district's tree: {[c for (c,) in left[:10]]}")
        cursor.execute(f"UPDATE {table} SET lft = 1, rght = 2, level = 0 WHERE kind = 'district'")


def backwards(apps, schema_editor):
    table = apps.get_model("grids", "Area")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        districts = _rows(cursor, f"SELECT id, tree_id FROM {table} WHERE kind = 'district'")
        for pk, district_tree in districts:
            streets = _rows(
                cursor,
                f"SELECT id, tree_id, rght FROM {table} WHERE upper_id = %s ORDER BY tree_id",
                [pk],
            )
            offset = 1
            for _street, tree_id, rght in streets:
                cursor.execute(
                    f"UPDATE {table} SET tree_id = %s, lft = lft + %s, rght = rght + %s,"
                    f" level = level + 1 WHERE tree_id = %s",
                    [district_tree, offset, offset, tree_id],
                )
                offset += rght
            cursor.execute(f"UPDATE {table} SET rght = %s WHERE id = %s", [offset + 1, pk])
            cursor.execute(
                f"UPDATE {table} SET parent_id = upper_id, upper_id = NULL WHERE upper_id = %s",
                [pk],
            )


class Migration(migrations.Migration):
    dependencies = [("grids", "0005_area_autovacuum")]

    operations = [migrations.RunPython(forwards, backwards)]
