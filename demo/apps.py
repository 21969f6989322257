from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The embedded mode's composition root: demo users, the in-process worker and beat,
    the ``demo`` and ``demo_target`` commands. Nothing below it imports it."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
