import django.db.models.deletion
from django.db import migrations, models

BATCH = 2000


def links_from_access_log(apps, schema_editor):
    """Each access log row that named a problem (``residents.AccessLog.ticket``, dropped by
    residents 0006 right after) keeps naming it, through a ``TicketAccess`` row."""
    AccessLog = apps.get_model('residents', 'AccessLog')
    TicketAccess = apps.get_model('issues', 'TicketAccess')
    db = schema_editor.connection.alias
    pairs = (
        AccessLog.objects.using(db)
        .filter(ticket__isnull=False)
        .order_by('pk')
        .values_list('pk', 'ticket_id')
    )
    batch = []
    for log_id, ticket_id in pairs.iterator(chunk_size=BATCH):
        batch.append(TicketAccess(access_log_id=log_id, ticket_id=ticket_id))
        if len(batch) == BATCH:
            TicketAccess.objects.using(db).bulk_create(batch)
            batch = []
    TicketAccess.objects.using(db).bulk_create(batch)


def links_to_access_log(apps, schema_editor):
    AccessLog = apps.get_model('residents', 'AccessLog')
    TicketAccess = apps.get_model('issues', 'TicketAccess')
    db = schema_editor.connection.alias
    for log_id, ticket_id in TicketAccess.objects.using(db).values_list('access_log_id', 'ticket_id').iterator(chunk_size=BATCH):
        AccessLog.objects.using(db).filter(pk=log_id).update(ticket_id=ticket_id)


class Migration(migrations.Migration):
    """Which problem a look at personal data was for moves from the residents access log to
    issues (``TicketAccess``), so that residents depends on no app above it.

    ``run_before`` rather than a dependency in residents 0006: the copy must happen before
    that migration drops the column, and only this app, the upper one, may say so. Backwards,
    the values come back into the column before residents 0005 puts back the check that
    needs them.
    """

    dependencies = [
        ('issues', '0007_department_to_grids'),
        ('residents', '0005_access_log_id_number_names_resident'),
    ]
    run_before = [
        ('residents', '0006_access_log_without_ticket'),
    ]

    operations = [
        migrations.CreateModel(
            name='TicketAccess',
            fields=[
                ('access_log', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='ticket_link', serialize=False, to='residents.accesslog', verbose_name='personal data access')),
                ('ticket', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='issues.ticket', verbose_name='problem')),
            ],
            options={
                'verbose_name': 'personal data access for a problem',
                'verbose_name_plural': 'personal data accesses for problems',
            },
        ),
        migrations.RunPython(links_from_access_log, links_to_access_log),
    ]
