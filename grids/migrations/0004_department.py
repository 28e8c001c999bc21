from django.db import migrations, models


class Migration(migrations.Migration):
    """Departments become part of the organisation (they were ``issues.Department``).

    State only: the tables ``issues_department`` and ``issues_department_handlers`` stay as
    they are, with their rows; ``issues`` 0007 drops its own model from the state and points
    its foreign keys here. On an empty database ``issues`` 0001 still creates the tables.
    """

    dependencies = [
        ('grids', '0003_area_tree_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Department',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=32, unique=True, verbose_name='code')),
                        ('name', models.CharField(max_length=100, unique=True, verbose_name='name')),
                        ('email', models.EmailField(blank=True, default='', max_length=254, verbose_name='e-mail')),
                        ('handlers', models.ManyToManyField(blank=True, db_table='issues_department_handlers', related_name='departments', to='grids.person', verbose_name='handlers')),
                    ],
                    options={
                        'verbose_name': 'department',
                        'verbose_name_plural': 'departments',
                        'db_table': 'issues_department',
                        'ordering': ['code'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
