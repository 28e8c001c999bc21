from django.db import migrations, models


class Migration(migrations.Migration):
    """The access log's check no longer needs its ``ticket`` column: an ID number is always
    a resident's; a look at a problem reporter's phone or description is named by
    ``issues.TicketAccess`` (issues 0008, after this one), and the column goes in 0006."""

    dependencies = [
        ('residents', '0004_access_log_searches_and_descriptions'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='accesslog',
            name='access_log_names_whose',
        ),
        migrations.AddConstraint(
            model_name='accesslog',
            constraint=models.CheckConstraint(condition=models.Q(('resident__isnull', False), models.Q(('field', 'id_number'), _negated=True), _connector='OR'), name='access_log_id_number_names_resident'),
        ),
    ]
