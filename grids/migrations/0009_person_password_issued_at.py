from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def given_when_the_login_was_made(apps, schema_editor):
    """One-time passwords given before this migration count from their login's creation
    (the heads import makes the login and its password at once)."""
    Person = apps.get_model("grids", "Person")
    User = apps.get_model("auth", "User")
    joined = User.objects.filter(pk=OuterRef("user_id")).values("date_joined")[:1]
    Person.objects.filter(password_change_required=True, user__isnull=False).update(
        password_issued_at=Subquery(joined)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("grids", "0008_person_password_change_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="password_issued_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="one-time password given at"
            ),
        ),
        migrations.RunPython(given_when_the_login_was_made, migrations.RunPython.noop),
    ]
