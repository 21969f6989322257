"""Where the demo target lives, from the environment (shared by the command and the runbook).

* ``TARGET_DATABASE_URL``: the todo database the rollback restores
  (default ``postgres://postgres@127.0.0.1:5432/todo_demo``);
* ``TARGET_ADMIN_DATABASE_URL``: a database of the same server used to drop and
  create the target (default: the target's server, database ``postgres``);
* ``TARGET_BACKUP_FILE``: the pre-migration ``pg_dump -Fc`` archive
  (default ``<var dir>/backups/pre_migration.backup``);
* ``TARGET_APP_REPO_DIR``: the todo application's git repository with its
  release tags (default ``<var dir>/demo/todo-app``, MIG-002's ``APP_REPO_DIR``);
* ``TARGET_APP_DEPLOY_DIR``: its releases, the ``current`` symlink and the
  supervisor's pid file (default ``<var dir>/demo/todo-app-deploy``, MIG-002's
  ``APP_DEPLOY_DIR``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from demo_target import pg

DEFAULT_TARGET_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/todo_demo"


@dataclass(frozen=True)
class TargetSettings:
    dsn: str
    admin_dsn: str
    backup_file: Path

    @property
    def dbname(self) -> str:
        return pg.dbname_of(self.dsn)

    @property
    def snapshot_file(self) -> Path:
        """The fingerprint taken when the backup was, beside it: what a restore must reproduce."""
        return self.backup_file.with_suffix(".fingerprint.json")


def target_settings(var_dir: Path, environ: Mapping[str, str] | None = None) -> TargetSettings:
    env = os.environ if environ is None else environ
    dsn = env.get("TARGET_DATABASE_URL") or DEFAULT_TARGET_DATABASE_URL
    admin_dsn = env.get("TARGET_ADMIN_DATABASE_URL") or pg.with_dbname(dsn, "postgres")
    backup = env.get("TARGET_BACKUP_FILE") or str(var_dir / "backups" / "pre_migration.backup")
    return TargetSettings(dsn=dsn, admin_dsn=admin_dsn, backup_file=Path(backup))


@dataclass(frozen=True)
class ReleaseSettings:
    """Where the todo application's repository and its deploys live (releases.py)."""

    repo_dir: Path
    deploy_dir: Path


def release_settings(var_dir: Path, environ: Mapping[str, str] | None = None) -> ReleaseSettings:
    env = os.environ if environ is None else environ
    repo = env.get("TARGET_APP_REPO_DIR") or str(var_dir / "demo" / "todo-app")
    deploy = env.get("TARGET_APP_DEPLOY_DIR") or str(var_dir / "demo" / "todo-app-deploy")
    return ReleaseSettings(repo_dir=Path(repo), deploy_dir=Path(deploy))
