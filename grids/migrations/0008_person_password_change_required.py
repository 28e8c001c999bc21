from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("grids", "0007_area_name_trigram"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="password_change_required",
            field=models.BooleanField(
                default=False, verbose_name="must change password at next sign-in"
            ),
        ),
    ]
