"""The indexes on the problems' ancestor keys, after they are filled (0014)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("issues", "0014_ancestor_keys_filled")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["district", "created_at"], name="ticket_district_created"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["street", "created_at"], name="ticket_street_created"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["community", "created_at"], name="ticket_community_created"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["grid", "created_at"], name="ticket_grid_created"),
        ),
    ]
