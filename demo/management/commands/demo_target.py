"""Build, fingerprint and restore the MIG-002 demo target (the todo app's PostgreSQL database).

    manage.py demo_target create [--users N] [--tasks N] [--seed N]
    manage.py demo_target fingerprint
    manage.py demo_target restore
    manage.py demo_target serve [--port 8081]   # the todo application over it (app.py)
    manage.py demo_target traffic --rate R --seconds S [--url URL] [--users N]
                                                # demo users at work (traffic.py)

Where the target lives comes from TARGET_DATABASE_URL, TARGET_ADMIN_DATABASE_URL
and TARGET_BACKUP_FILE, its application's release repository and deploy folder
from TARGET_APP_REPO_DIR and TARGET_APP_DEPLOY_DIR (see demo_target/environment.py).
``create`` also makes the repository (tags v1.4.2 and v1.5.0) and deploys v1.5.0,
the release that shipped the bad migration; ``serve`` then runs the application
under its supervisor (demo_target/supervisor.py), so MIG-002's "Deploy previous
version" and "Restart services" can restart it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

import demo_target
from demo.target import fingerprint_target
from demo_target import app, pg, releases, supervisor, traffic
from demo_target.environment import (
    ReleaseSettings,
    TargetSettings,
    release_settings,
    target_settings,
)
from validation.fingerprint import diff_fingerprints

NEEDS_POSTGRES = (
    "The demo target needs PostgreSQL: set TARGET_DATABASE_URL (and TARGET_ADMIN_DATABASE_URL)"
    " to a reachable server. Embedded mode without PostgreSQL cannot roll it back."
)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"not a port: {value}")
    return value


def _bounded(low: float, high: float) -> Any:
    def parse(text: str) -> float:
        value = float(text)
        if not low < value <= high:
            raise argparse.ArgumentTypeError(f"must be above {low:g} and at most {high:g}")
        return value

    return parse


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class Command(BaseCommand):
    help = (
        "Create (with backup and the bad migration), fingerprint, restore or serve"
        " (the todo application) the demo target."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser(
            "create", help="create the pre-migration database, back it up, apply the bad migration"
        )
        create.add_argument("--users", type=_positive_int, default=1000)
        create.add_argument("--tasks", type=_positive_int, default=6000)
        create.add_argument("--seed", type=int, default=2)
        actions.add_parser("fingerprint", help="print the target's fingerprint as JSON")
        actions.add_parser("restore", help="restore the backup over the target, reset sequences")
        serve = actions.add_parser(
            "serve", help="run the demo todo application over the target (127.0.0.1 only)"
        )
        serve.add_argument("--port", type=_port, default=app.DEFAULT_PORT)
        load = actions.add_parser(
            "traffic", help="demo users log in, list, create and update tasks (bounded)"
        )
        load.add_argument(
            "--rate", type=_bounded(0, traffic.MAX_RATE), required=True, help="requests/s, at most"
        )
        load.add_argument(
            "--seconds", type=_bounded(0, traffic.MAX_SECONDS), required=True, help="then stop"
        )
        load.add_argument("--url", default=f"http://{app.HOST}:{app.DEFAULT_PORT}")
        load.add_argument(
            "--users",
            type=_positive_int,
            default=1000,
            help="the target's size (its demo accounts)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = target_settings(Path(settings.VAR_DIR))  # parses the DSN: TargetError too
            where = release_settings(Path(settings.VAR_DIR))
            if options["action"] == "create":
                self.create(
                    config, users=options["users"], tasks=options["tasks"], seed=options["seed"]
                )
                self.create_releases(where)
            elif options["action"] == "fingerprint":
                self.fingerprint(config)
            elif options["action"] == "traffic":
                self.traffic(options)
            elif options["action"] == "serve":
                self.serve(config, where, port=options["port"])
            else:
                self.restore(config)
        except pg.TargetUnavailable as exc:
            raise CommandError(f"{exc}\n{NEEDS_POSTGRES}") from exc
        except (pg.TargetError, releases.ReleaseError) as exc:
            raise CommandError(str(exc)) from exc

    def create(self, config: TargetSettings, *, users: int, tasks: int, seed: int) -> None:
        started = time.perf_counter()
        demo_target.create_target(
            config.admin_dsn, config.dbname, users=users, tasks=tasks, seed=seed
        )
        self.say(f"Created {config.dbname}: {users} users, {tasks} tasks, seed {seed}", started)
        before = fingerprint_target(config.dsn)

        started = time.perf_counter()
        demo_target.take_backup(config.dsn, config.backup_file)
        demo_target.verify_backup(config.backup_file)
        config.snapshot_file.write_text(json.dumps(before, indent=2, sort_keys=True) + "\n")
        self.say(f"Backup written to {config.backup_file}", started)

        started = time.perf_counter()
        demo_target.apply_bad_migration(config.dsn)
        self.say("Applied the bad MIG-002 migration (UUID ids, damaged rows)", started)
        after = fingerprint_target(config.dsn)

        self.stdout.write("Fingerprint before the migration:")
        self.stdout.write(json.dumps(before, indent=2, sort_keys=True))
        self.stdout.write("Fingerprint after the migration:")
        self.stdout.write(json.dumps(after, indent=2, sort_keys=True))
        self.stdout.write("Changed by the migration:")
        for change in diff_fingerprints(before, after):
            self.stdout.write(f"  {change}")

    def create_releases(self, where: ReleaseSettings) -> None:
        started = time.perf_counter()
        commits = releases.create_repository(where.repo_dir)
        releases.deploy(where.repo_dir, where.deploy_dir, releases.BAD_TAG)
        tags = ", ".join(f"{tag} ({commit[:10]})" for tag, commit in commits.items())
        self.say(f"Todo app repository at {where.repo_dir}: {tags}", started)
        self.stdout.write(
            f"Deployed {releases.BAD_TAG} (the release with the bad migration) in"
            f" {where.deploy_dir}; restart `demo_target serve` or bin/demo to run it."
        )

    def fingerprint(self, config: TargetSettings) -> None:
        report = {
            "fingerprint": fingerprint_target(config.dsn),
            "sequences": demo_target.sequence_state(config.dsn),
            "matches_snapshot": self.matches_snapshot(config),
        }
        self.stdout.write(json.dumps(report, indent=2, sort_keys=True))

    def restore(self, config: TargetSettings) -> None:
        pg.connect(config.dsn).close()  # an unreachable server fails here, before pg_restore
        started = time.perf_counter()
        demo_target.restore_backup(config.dsn, config.backup_file)
        self.say(f"Restored {config.backup_file} into {config.dbname}", started)
        started = time.perf_counter()
        next_ids = demo_target.reset_sequences(config.dsn)
        self.say(f"Reset sequences, next ids: {json.dumps(next_ids, sort_keys=True)}", started)
        matches = self.matches_snapshot(config)
        if matches is None:
            self.stdout.write(f"No snapshot at {config.snapshot_file} to compare with.")
        elif matches:
            self.stdout.write(self.style.SUCCESS("The target matches the pre-migration snapshot."))
        else:
            self.stdout.write(self.style.WARNING("The target differs from the snapshot:"))
            snapshot = json.loads(config.snapshot_file.read_text())
            for change in diff_fingerprints(snapshot, fingerprint_target(config.dsn)):
                self.stdout.write(f"  {change}")

    def serve(self, config: TargetSettings, where: ReleaseSettings, *, port: int) -> None:
        # The app starts without its database too (its /healthz says why); say it now.
        if problem := app.target_problem(config.dsn):
            self.stderr.write(f"{problem}\n{NEEDS_POSTGRES}")
        if releases.current_release(where.deploy_dir) is not None:
            self.serve_supervised(config, where, port=port)
            return
        self.stderr.write(
            f"No release deployed in {where.deploy_dir} (`demo_target create` deploys one):"
            " serving without a supervisor, so MIG-002's application steps cannot restart it."
        )
        try:
            server = app.DemoAppServer(config.dsn, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {app.HOST}:{port}: {exc.strerror}") from exc
        self.stdout.write(
            f"Demo todo application for {config.dbname} on {server.url} (Ctrl-C stops it)."
        )
        with server, contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()

    def serve_supervised(
        self, config: TargetSettings, where: ReleaseSettings, *, port: int
    ) -> None:
        """The supervisor in the foreground: the app runs as its child, from ``current``."""
        with socket.socket() as probe:  # a taken port would make the child fail, again and again
            try:
                probe.bind((app.HOST, port))
            except OSError as exc:
                raise CommandError(f"cannot listen on {app.HOST}:{port}: {exc.strerror}") from exc
            port = probe.getsockname()[1]
        os.environ["TARGET_DATABASE_URL"] = config.dsn  # what the supervised app serves
        release = releases.current_release(where.deploy_dir)
        self.stdout.write(
            f"Demo todo application for {config.dbname}, release"
            f" {release.name if release else '?'} supervised from {where.deploy_dir}"
            f" (SIGHUP to the pid in {releases.PID_FILE} restarts it),"
            f" on http://{app.HOST}:{port} (Ctrl-C stops it)."
        )
        supervisor.Supervisor(where.deploy_dir, port).run()

    def traffic(self, options: dict[str, Any]) -> None:
        """The generator's loop is demo_target/traffic.py; this prints its summary."""
        url = options["url"].rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"--url must be an http(s) URL, got {url!r}")
        accounts = demo_target.demo_credentials(options["users"])
        if not accounts:
            raise CommandError("no demo accounts: --users must be at least 100")
        self.stdout.write(
            f"Traffic to {url}: {len(accounts)} demo users, at most {options['rate']:g}"
            f" requests/s for {options['seconds']:g} s"
        )
        stop = threading.Event()
        try:
            summary = traffic.run(
                url, accounts, rate=options["rate"], seconds=options["seconds"], stop=stop
            )
        except KeyboardInterrupt:
            stop.set()
            raise CommandError("interrupted") from None
        for line in summary.lines():
            self.stdout.write(line)

    def matches_snapshot(self, config: TargetSettings) -> bool | None:
        """Whether the target's fingerprint equals the one taken with the backup (None: none)."""
        if not config.snapshot_file.is_file():
            return None
        snapshot = json.loads(config.snapshot_file.read_text())
        return bool(snapshot == fingerprint_target(config.dsn))

    def say(self, message: str, started: float) -> None:
        self.stdout.write(f"{message} ({time.perf_counter() - started:.2f} s)")
