from django.db import migrations, models


class Migration(migrations.Migration):
    """Resident exports in the personal-data access log: which scope and filters, how many
    rows (issue 15, point 4)."""

    dependencies = [
        ("residents", "0011_household_key_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accesslog",
            name="field",
            field=models.CharField(
                choices=[
                    ("id_number", "ID number"),
                    ("phone", "mobile"),
                    ("id_search", "search by full ID number"),
                    ("description", "problem description"),
                    ("export", "resident export"),
                ],
                max_length=16,
                verbose_name="field",
            ),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="scope",
            field=models.CharField(blank=True, default="", max_length=300, verbose_name="scope"),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="rows",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="rows"),
        ),
        migrations.AddConstraint(
            model_name="accesslog",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("rows__isnull", False),
                    models.Q(("field", "export"), _negated=True),
                    _connector="OR",
                ),
                name="access_log_export_counts_rows",
            ),
        ),
    ]
