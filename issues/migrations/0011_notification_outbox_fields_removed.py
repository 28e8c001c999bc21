"""A notification is no longer an outbox row: its deliveries are (0010 copied them)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("issues", "0010_residents_in_the_loop_data")]

    operations = [
        migrations.RemoveField(
            model_name="notification",
            name="attempts",
        ),
        migrations.RemoveField(
            model_name="notification",
            name="claimed_at",
        ),
        migrations.RemoveField(
            model_name="notification",
            name="email",
        ),
        migrations.RemoveField(
            model_name="notification",
            name="last_error",
        ),
        migrations.RemoveField(
            model_name="notification",
            name="sent_at",
        ),
    ]
