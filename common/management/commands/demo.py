"""``manage.py demo``: the one-command embedded mode (see bin/demo)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from common import demo, embedded_worker, serve
from common.embedded_beat import EmbeddedBeat
from incidents.execution.reaping import reap_at_start
from runbooks.selectors import queues_in_use


class Command(BaseCommand):
    help = "Migrate, seed demo users and runbooks, then serve Ripcord (demo mode only)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="host:port to serve on (default %(default)s)"
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare the database and users, then exit"
        )

    def handle(self, *args: Any, addr: str, no_serve: bool, **options: Any) -> None:
        if not settings.RIPCORD_DEMO:
            raise CommandError(
                "Demo users have published passwords: refusing to run with RIPCORD_DEMO off. "
                "Set RIPCORD_DEMO=1 only on a throwaway instance."
            )
        try:
            host, port = serve.parse_addr(addr)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        call_command("migrate", interactive=False, verbosity=max(0, options["verbosity"] - 1))
        users = demo.seed_demo_users()
        demo.load_runbooks()
        url = serve.public_url(host, port)
        self.stdout.write(demo.format_user_table(users, url + reverse("login")))
        if host not in {"127.0.0.1", "localhost", "::1"}:
            self.stderr.write(
                f"Serving on {host}: anyone who can reach it can sign in with the passwords above. "
                "Add the name you browse to ALLOWED_HOSTS, or Django answers 400."
            )
        if no_serve:
            return

        worker = None
        beat = None
        if str(settings.CELERY_BROKER_URL).startswith("memory://"):
            from config.celery import app

            queues = embedded_queues()
            # What steps of an earlier demo process (killed, not stopped) left running.
            reap_at_start()
            worker = embedded_worker.start(app, queues=queues)
            beat = EmbeddedBeat().start()
            self.stdout.write(f"In-process Celery worker consuming {', '.join(queues)}.")
        try:
            serve.serve(host, port)
        finally:
            if beat is not None:
                beat.stop()
            if worker is not None:
                self.stdout.write("Stopping the in-process worker…")
                try:
                    worker.stop()
                except RuntimeError as exc:  # a step still running; it dies with the process
                    self.stderr.write(str(exc))


def embedded_queues() -> list[str]:
    """One in-process worker serves every queue a runbook routes to, and housekeeping's."""
    return sorted(
        {*queues_in_use(), *settings.RIPCORD_WORKER_QUEUES, settings.RIPCORD_CONTROL_QUEUE}
    )
