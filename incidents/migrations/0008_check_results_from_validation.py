# The validation app's Snapshot and CheckResult became the incident's own models.
# State only: the tables (validation_snapshot, validation_checkresult) and their rows stay.
# The models' fields are validation 0001's, frozen there: this state takes them from it,
# adding only the table names they keep.

from __future__ import annotations

from importlib import import_module

from django.db import migrations

CREATED = import_module('validation.migrations.0001_initial').Migration.operations
TABLES = {'Snapshot': 'validation_snapshot', 'CheckResult': 'validation_checkresult'}


def _kept_table(operation):
    options = {**operation.options, 'db_table': TABLES[operation.name]}
    return migrations.CreateModel(operation.name, operation.fields, options=options)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0007_run_waiting_and_leftovers'),
        ('validation', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[_kept_table(operation) for operation in CREATED],
        ),
    ]
