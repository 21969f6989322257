from __future__ import annotations

from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    default_auto_field = "django.db.models.BigAutoField"
