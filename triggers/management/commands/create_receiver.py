"""``manage.py create_receiver``: a receiver's URL on line 1, its token (or signing secret) on line 2."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.capabilities import COMMANDERS
from incidents.services import ServiceError
from runbooks.models import Runbook
from triggers import services
from triggers.models import Receiver


class Command(BaseCommand):
    help = (
        "Create an alert receiver. Prints its URL on the first line and its bearer token "
        "(PagerDuty: its signing secret) on the second."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=Receiver.Kind.values)
        parser.add_argument("--runbook", required=True, help="runbook id (slug)")
        parser.add_argument("--environment", required=True, help="environment id")
        parser.add_argument("--secret", help="PagerDuty: the subscription's signing secret")
        parser.add_argument("--name", default="", help="who sends here")
        parser.add_argument(
            "--base-url",
            default=getattr(settings, "RIPCORD_BASE_URL", "") or "http://127.0.0.1:8000",
            help="where Ripcord is reached (default http://127.0.0.1:8000)",
        )
        parser.add_argument("--as-user", help="the commander recorded as creator (default: first)")

    def handle(self, *args: Any, **options: Any) -> None:
        runbook = Runbook.objects.filter(slug=options["runbook"]).first()
        if runbook is None:
            raise CommandError(f"no runbook {options['runbook']!r} (load_runbooks first)")
        users = User.objects.filter(is_active=True)
        if options["as_user"]:
            creator = users.filter(username=options["as_user"]).first()
        else:
            creator = (
                users.filter(groups__name=COMMANDERS).order_by("pk").first()
                or users.filter(is_superuser=True).order_by("pk").first()
            )
        if creator is None:
            raise CommandError(
                "no commander to record as creator (createuser NAME --group commanders)"
            )
        try:
            receiver, credential = services.create_receiver(
                kind=options["kind"],
                runbook=runbook,
                environment=options["environment"],
                created_by=creator,
                secret=options["secret"],
                name=options["name"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        base = options["base_url"].rstrip("/")
        self.stdout.write(f"{base}/hooks/{receiver.hook_id}/")
        self.stdout.write(credential)
