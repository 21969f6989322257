"""``manage.py demo``: the one-command embedded mode (see bin/demo)."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from config import secret_key
from config.celery import app as celery_app
from demo import embedded_worker, seed, serve
from demo.embedded_beat import EmbeddedBeat
from demo_target import app, pg, releases, supervisor
from demo_target.environment import release_settings, target_settings
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
        parser.add_argument(
            "--app-port",
            type=int,
            default=app.DEFAULT_PORT,
            help="port of the demo todo application on 127.0.0.1 (default %(default)s,"
            " MIG-002's APP_URL)",
        )

    def handle(self, *args: Any, addr: str, no_serve: bool, app_port: int, **options: Any) -> None:
        if not settings.RIPCORD_DEMO:
            raise CommandError(
                "Demo users have published passwords: refusing to run with RIPCORD_DEMO off. "
                "Set RIPCORD_DEMO=1 only on a throwaway instance."
            )
        try:
            host, port = serve.parse_addr(addr)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        self.keep_secret_key()
        call_command("migrate", interactive=False, verbosity=max(0, options["verbosity"] - 1))
        users = seed.seed_demo_users()
        seed.load_runbooks()
        url = serve.public_url(host, port)
        self.stdout.write(seed.format_user_table(users, url + reverse("login")))
        if host not in {"127.0.0.1", "localhost", "::1"}:
            self.stderr.write(
                f"Serving on {host}: anyone who can reach it can sign in with the passwords above. "
                "Add the name you browse to ALLOWED_HOSTS, or Django answers 400."
            )
        if no_serve:
            return

        demo_app = self.start_demo_app(app_port)
        worker = None
        beat = None
        if str(settings.CELERY_BROKER_URL).startswith("memory://"):
            queues = embedded_queues()
            # What steps of an earlier demo process (killed, not stopped) left running.
            reap_at_start()
            worker = embedded_worker.start(celery_app, queues=queues)
            beat = EmbeddedBeat().start()
            self.stdout.write(f"In-process Celery worker consuming {', '.join(queues)}.")
        try:
            serve.serve(host, port)
        finally:
            if demo_app is not None:
                demo_app.stop()
            if beat is not None:
                beat.stop()
            if worker is not None:
                self.stdout.write("Stopping the in-process worker…")
                try:
                    worker.stop()
                except RuntimeError as exc:  # a step still running; it dies with the process
                    self.stderr.write(str(exc))

    def keep_secret_key(self) -> None:
        """Sign sessions with the key kept under VAR_DIR (made on the first run), so a
        restart signs nobody out. Settings read that file at start; on the very first run
        it did not exist yet, so the key is put in place here, before anything is signed."""
        if os.environ.get("SECRET_KEY"):
            return  # the operator's own key
        settings.SECRET_KEY = secret_key.ensure(Path(settings.VAR_DIR))

    def start_demo_app(self, port: int) -> app.RunningApp | supervisor.SupervisedProcess | None:
        """The demo todo application (APP_URL of MIG-002's demo environment).

        Only when the demo target database exists: embedded mode needs no PostgreSQL,
        so without one this says how to make the target and goes on. With a release
        deployed (``demo_target create``) it runs under its supervisor, a process of
        its own that MIG-002's application steps restart; otherwise on a thread.
        """
        try:
            config = target_settings(Path(settings.VAR_DIR))
        except pg.TargetError as exc:  # an unparsable TARGET_DATABASE_URL
            self.stderr.write(f"Demo todo application not started: {exc}")
            return None
        if problem := app.target_problem(config.dsn):
            self.stdout.write(
                f"No demo target database to serve ({problem}).\n"
                "To roll MIG-002 back for real, create it on a PostgreSQL server with"
                " `manage.py demo_target create` (see README), then restart bin/demo."
            )
            return None
        where = release_settings(Path(settings.VAR_DIR))
        try:
            running: app.RunningApp | supervisor.SupervisedProcess
            if releases.current_release(where.deploy_dir) is not None:
                log_file = Path(settings.VAR_DIR) / "demo" / "todo-app-supervisor.log"
                running = supervisor.start(
                    where.deploy_dir, port, dsn=config.dsn, log_file=log_file
                )
                self.stdout.write(
                    f"Demo todo application supervised from {where.deploy_dir} (log: {log_file})."
                )
            else:
                running = app.start(config.dsn, port)
        except OSError as exc:
            self.stderr.write(
                f"Demo todo application not started: cannot listen on"
                f" {app.HOST}:{port} ({exc.strerror})."
            )
            return None
        self.stdout.write(f"Demo todo application for {config.dbname} on {running.url}.")
        if port != app.DEFAULT_PORT:
            self.stdout.write(
                f"MIG-002's demo environment expects it on port {app.DEFAULT_PORT}: set"
                f" RIPCORD_ENV_DEMO_APP_URL={running.url} where the worker runs."
            )
        return running


def embedded_queues() -> list[str]:
    """One in-process worker serves every queue a runbook routes to, and housekeeping's."""
    return sorted(
        {*queues_in_use(), *settings.RIPCORD_WORKER_QUEUES, settings.RIPCORD_CONTROL_QUEUE}
    )
