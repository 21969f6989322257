# The validation app's Snapshot and CheckResult became the incident's own models.
# State only: the tables (validation_snapshot, validation_checkresult) and their rows stay.

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0007_run_waiting_and_leftovers'),
        ('validation', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Snapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('taken_at', models.DateTimeField()),
                        ('data', models.JSONField(blank=True, default=dict)),
                        ('error', models.TextField(blank=True)),
                        ('incident', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='validation_snapshot', to='incidents.incident')),
                    ],
                    options={'db_table': 'validation_snapshot'},
                ),
                migrations.CreateModel(
                    name='CheckResult',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('validation_id', models.CharField(max_length=63)),
                        ('family', models.CharField(max_length=63)),
                        ('kind', models.CharField(blank=True, max_length=16)),
                        ('title', models.CharField(max_length=300)),
                        ('result', models.CharField(choices=[('pass', 'Pass'), ('fail', 'Fail'), ('error', 'Error')], max_length=8)),
                        ('summary', models.TextField(blank=True)),
                        ('evidence', models.JSONField(blank=True, default=dict)),
                        ('checked_at', models.DateTimeField()),
                        ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='check_results', to='incidents.incident')),
                        ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='check_results', to='incidents.steprun')),
                    ],
                    options={
                        'db_table': 'validation_checkresult',
                        'ordering': ['incident', 'validation_id', '-pk'],
                        'indexes': [models.Index(fields=['incident', 'validation_id'], name='check_result_validation')],
                    },
                ),
            ],
        ),
    ]
