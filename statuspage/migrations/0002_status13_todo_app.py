"""The page MIG-002 publishes to (status.todoapp.com in the plan), there from the first start.

Every component starts operational, so the page says "operational" until an update is published.
"""

from django.db import migrations

SLUG = "todo-app"
NAME = "Todo App"
COMPONENTS = ["Web app", "API", "Login", "Task data"]


def create(apps, schema_editor):
    StatusPage = apps.get_model("statuspage", "StatusPage")
    Component = apps.get_model("statuspage", "Component")
    page, _ = StatusPage.objects.get_or_create(slug=SLUG, defaults={"name": NAME})
    for position, name in enumerate(COMPONENTS):
        Component.objects.get_or_create(page=page, name=name, defaults={"position": position})


def remove(apps, schema_editor):
    apps.get_model("statuspage", "StatusPage").objects.filter(slug=SLUG).delete()


class Migration(migrations.Migration):
    dependencies = [("statuspage", "0001_status13_initial")]

    operations = [migrations.RunPython(create, remove)]
