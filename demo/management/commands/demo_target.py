"""Build, fingerprint and restore the MIG-002 demo target (the todo app's PostgreSQL database).

    manage.py demo_target create [--users N] [--tasks N] [--seed N]
    manage.py demo_target fingerprint
    manage.py demo_target restore
    manage.py demo_target serve [--port 8081]   # the todo application over it (app.py)

Where the target lives comes from TARGET_DATABASE_URL, TARGET_ADMIN_DATABASE_URL
and TARGET_BACKUP_FILE (see demo_target/environment.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

import demo_target
from demo.target import fingerprint_target
from demo_target import app, pg
from demo_target.environment import TargetSettings, target_settings
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

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = target_settings(Path(settings.VAR_DIR))  # parses the DSN: TargetError too
            if options["action"] == "create":
                self.create(
                    config, users=options["users"], tasks=options["tasks"], seed=options["seed"]
                )
            elif options["action"] == "fingerprint":
                self.fingerprint(config)
            elif options["action"] == "serve":
                self.serve(config, port=options["port"])
            else:
                self.restore(config)
        except pg.TargetUnavailable as exc:
            raise CommandError(f"{exc}\n{NEEDS_POSTGRES}") from exc
        except pg.TargetError as exc:
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

    def serve(self, config: TargetSettings, *, port: int) -> None:
        # The app starts without its database too (its /healthz says why); say it now.
        if problem := app.target_problem(config.dsn):
            self.stderr.write(f"{problem}\n{NEEDS_POSTGRES}")
        try:
            server = app.DemoAppServer(config.dsn, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {app.HOST}:{port}: {exc.strerror}") from exc
        self.stdout.write(
            f"Demo todo application for {config.dbname} on {server.url} (Ctrl-C stops it)."
        )
        with server, contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()

    def matches_snapshot(self, config: TargetSettings) -> bool | None:
        """Whether the target's fingerprint equals the one taken with the backup (None: none)."""
        if not config.snapshot_file.is_file():
            return None
        snapshot = json.loads(config.snapshot_file.read_text())
        return bool(snapshot == fingerprint_target(config.dsn))

    def say(self, message: str, started: float) -> None:
        self.stdout.write(f"{message} ({time.perf_counter() - started:.2f} s)")
