from __future__ import annotations

from django.apps import AppConfig


class PostmortemConfig(AppConfig):
    name = "postmortem"
    default_auto_field = "django.db.models.BigAutoField"
