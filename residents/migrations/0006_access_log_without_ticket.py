from django.db import migrations


class Migration(migrations.Migration):
    """The access log no longer names a problem: ``issues.TicketAccess`` does (issues 0008
    copies the column's values and runs before this one)."""

    dependencies = [
        ('residents', '0005_access_log_id_number_names_resident'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='accesslog',
            name='ticket',
        ),
    ]
