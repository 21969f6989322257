"""Log chunks hold bytes (``data``, bytea) instead of text, so a log is stored byte-exact.

Existing text is converted to its UTF-8 bytes in the database, one statement, whatever the
table's size. Not with ``USING text::bytea``: that cast reads the text as a bytea literal,
so a log line holding a backslash (``\\x41``, ``C:\\tmp``) would come out altered or not
at all. Going back turns bytes into text again, lossily (invalid UTF-8 becomes U+FFFD and
NUL, which text cannot hold, is dropped): the old column cannot hold more.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

FORWARD = {
    "postgresql": "UPDATE incidents_steprunlogchunk SET data = convert_to(text, 'UTF8')",
    "sqlite": "UPDATE incidents_steprunlogchunk SET data = CAST(text AS BLOB)",
}


def text_to_bytes(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor in FORWARD:
        schema_editor.execute(FORWARD[vendor])
        return
    chunk_model = apps.get_model("incidents", "StepRunLogChunk")
    for chunk in chunk_model.objects.only("pk", "text").iterator(chunk_size=500):
        chunk_model.objects.filter(pk=chunk.pk).update(data=chunk.text.encode())


def bytes_to_text(apps: Any, schema_editor: Any) -> None:
    chunk_model = apps.get_model("incidents", "StepRunLogChunk")
    for chunk in chunk_model.objects.only("pk", "data").iterator(chunk_size=500):
        text = bytes(chunk.data).decode("utf-8", errors="replace").replace("\x00", "")
        chunk_model.objects.filter(pk=chunk.pk).update(text=text)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_safeguard_checks"),
    ]

    operations = [
        migrations.AddField(
            model_name="steprunlogchunk",
            name="data",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        migrations.AlterField(  # so that going back can add the text column to filled rows
            model_name="steprunlogchunk",
            name="text",
            field=models.TextField(default=""),
        ),
        migrations.RunPython(text_to_bytes, bytes_to_text, elidable=False),
        migrations.RemoveField(model_name="steprunlogchunk", name="text"),
    ]
