"""A digest no longer stores its rendered mail: the text and HTML are rendered from the
figures when a delivery is sent (``Digest.mail``), as the portal page is when it is read."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('digests', '0002_outbox_claim'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='digest',
            name='html',
        ),
        migrations.RemoveField(
            model_name='digest',
            name='text',
        ),
    ]
