from __future__ import annotations

from django.apps import AppConfig

from common.metrics import register_scrape_collector


class IncidentsConfig(AppConfig):
    name = "incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Expose the run metrics read from the database on the web's /metrics."""
        # Imported here, as Django wants: it reads the models, which are loaded only now.
        from incidents.metrics import StepRunCollector

        register_scrape_collector(StepRunCollector())
