# Snapshot and CheckResult now belong to the incidents app (incidents 0008): this app
# forgets them without touching their tables, and their content types follow them.

from __future__ import annotations

from django.db import migrations

MOVED = ('snapshot', 'checkresult')


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    for model in MOVED:
        if ContentType.objects.filter(app_label='incidents', model=model).exists():
            continue
        ContentType.objects.filter(app_label='validation', model=model).update(app_label='incidents')


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    ContentType.objects.filter(app_label='incidents', model__in=MOVED).update(app_label='validation')


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('validation', '0001_initial'),
        ('incidents', '0008_check_results_from_validation'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='CheckResult'),
                migrations.DeleteModel(name='Snapshot'),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
