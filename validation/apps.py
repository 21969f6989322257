from __future__ import annotations

from django.apps import AppConfig

from runbooks.executors import register_executor
from validation import checks
from validation.executor import ValidationExecutor


class ValidationConfig(AppConfig):
    """The check library: registers its check families and the ``validation`` step executor."""

    name = "validation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing ``checks`` registered its families (runbooks.checks.FAMILIES).
        assert checks.FAMILY_MODULES
        register_executor(ValidationExecutor())
