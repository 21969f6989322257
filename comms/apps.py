from __future__ import annotations

from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = "Communications"
    default_auto_field = "django.db.models.BigAutoField"
