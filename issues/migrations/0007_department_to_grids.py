import django.db.models.deletion
from django.db import migrations, models


def content_type_to_grids(apps, schema_editor):
    """Keep the permissions granted on departments and the admin's history of them: the
    content type moves with the model (created afresh only on a database that had none)."""
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label='grids', model='department').exists():
        ContentType.objects.using(db).filter(app_label='issues', model='department').update(
            app_label='grids'
        )


def content_type_to_issues(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label='issues', model='department').exists():
        ContentType.objects.using(db).filter(app_label='grids', model='department').update(
            app_label='issues'
        )


class Migration(migrations.Migration):
    """``issues.Department`` is now ``grids.Department`` (grids 0004), on the same tables.

    State only: the foreign keys keep pointing at ``issues_department``; only the model
    they name changes.
    """

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('grids', '0004_department'),
        ('issues', '0006_outbox_claim'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='departmenttask',
                    name='department',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tasks', to='grids.department', verbose_name='department'),
                ),
                migrations.AlterField(
                    model_name='category',
                    name='default_department',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='grids.department', verbose_name='usual department'),
                ),
                migrations.DeleteModel(
                    name='Department',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_grids, content_type_to_issues),
    ]
