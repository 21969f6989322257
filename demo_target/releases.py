"""The todo application's releases: a git repository with tags, and deploys of a tag.

MIG-002's "Deploy previous version" checks out the previous release tag and
restarts the application on it. For that to really happen on the demo target,
the target has what a deployment has:

* a git repository of the todo application (``create_repository``) with one
  tagged commit per release: ``v1.4.2`` (the last good one) and ``v1.5.0`` (the
  release that shipped MIG-002's bad migration);
* a deploy folder: ``releases/<tag>/`` holds each tag's tree exported with
  ``git archive`` (plus ``REVISION``, the commit), and ``current`` is a symlink
  to the release that runs, switched atomically (a new link renamed over the
  old one: a reader sees the old release or the new one, never none);
* the application process, run by ``demo_target.supervisor`` from ``current``,
  reports the ``VERSION`` of the release it was started from (``GET /version``).

The release trees carry VERSION, the changelog and the migrations each release
shipped; the Python code that serves them is this package's ``app.py``, the same
for both (see README, "The demo target's releases"). ``deploy`` here is what
``scripts/rollback_application.sh`` does in shell, for ``demo_target create``
(which deploys v1.5.0, the broken release) and for tests.

Git runs as plain ``git`` with argv lists, with a fixed identity and dates (the
commits are the same on every machine) and without the user's or the system's
configuration.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

GOOD_TAG = "v1.4.2"
BAD_TAG = "v1.5.0"
TAG_PATTERN = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+$")
GIT_TIMEOUT_SECONDS = 60
CURRENT = "current"
RELEASES = "releases"
PID_FILE = "supervisor.pid"

_INITIAL_SQL = """\
-- 0001_initial: users, profiles, permissions, sessions, tags, tasks, task_tags,
-- recurrences and feature_flags, every id an integer from its sequence
-- (the schema demo_target/schema.py creates).
"""
_MIG002_SQL = """\
-- 0002_mig002_frontend_backend_consistency: integer ids become UUIDs, the v1 API
-- and uuid_ids feature flags are switched on (demo_target/generate.py applies it,
-- with the damage that made MIG-002 roll back).
"""


@dataclass(frozen=True)
class Release:
    tag: str
    date: str  # the commit's author and committer date
    message: str
    files: Mapping[str, str]


def _changelog(*entries: str) -> str:
    return "# Changelog\n\n" + "\n".join(entries)


_V142_NOTES = "## v1.4.2\n\n- Integer ids; recurring tasks keep their next date.\n"
_V150_NOTES = (
    "## v1.5.0\n\n- MIG-002: frontend-backend consistency (UUID ids, the v1 API behind"
    " the `api_v1` and `uuid_ids` flags).\n"
)

RELEASE_HISTORY: tuple[Release, ...] = (
    Release(
        GOOD_TAG,
        "2026-10-01T09:00:00+00:00",
        "Release v1.4.2",
        {
            "VERSION": f"{GOOD_TAG}\n",
            "CHANGELOG.md": _changelog(_V142_NOTES),
            "migrations/0001_initial.sql": _INITIAL_SQL,
        },
    ),
    Release(
        BAD_TAG,
        "2026-11-02T09:00:00+00:00",
        "Release v1.5.0: MIG-002 frontend-backend consistency",
        {
            "VERSION": f"{BAD_TAG}\n",
            "CHANGELOG.md": _changelog(_V150_NOTES, _V142_NOTES),
            "migrations/0002_mig002_uuid_ids.sql": _MIG002_SQL,
        },
    ),
)


class ReleaseError(RuntimeError):
    """A repository could not be made, a tag is unknown or malformed, a deploy failed."""


def _git_env(date: str | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Todo App Releases",
        "GIT_AUTHOR_EMAIL": "releases@todo.example",
        "GIT_COMMITTER_NAME": "Todo App Releases",
        "GIT_COMMITTER_EMAIL": "releases@todo.example",
    }
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return env


def git(repo: Path, *args: str, date: str | None = None) -> str:
    """Run ``git -C repo args...`` (argv, never a shell); its stdout, or ReleaseError."""
    argv = ["git", "-C", str(repo), *args]
    try:
        done = subprocess.run(
            argv,
            env=_git_env(date),
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ReleaseError("git is not installed (Debian: apt-get install git)") from exc
    if done.returncode != 0:
        raise ReleaseError(f"git {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def check_tag(tag: str) -> str:
    if not TAG_PATTERN.fullmatch(tag):
        raise ReleaseError(f"not a release tag (vMAJOR.MINOR.PATCH): {tag!r}")
    return tag


def create_repository(repo: Path) -> dict[str, str]:
    """(Re)create the todo application's repository at ``repo``; return tag → commit.

    One commit per release on ``main``, each tagged (annotated). An existing
    folder is replaced: the demo target is rebuilt from scratch each time.
    """
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    commits: dict[str, str] = {}
    for release in RELEASE_HISTORY:
        for relative, text in release.files.items():
            path = repo / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(repo, "add", "--all")
        git(repo, "commit", "--quiet", "--message", release.message, date=release.date)
        git(repo, "tag", "--annotate", release.tag, "--message", release.message, date=release.date)
        commits[release.tag] = git(repo, "rev-parse", "HEAD").strip()
    return commits


def tags(repo: Path) -> list[str]:
    return git(repo, "tag", "--list", "v*", "--sort=version:refname").split()


def deploy(repo: Path, deploy_dir: Path, tag: str) -> Path:
    """Export ``tag`` into ``releases/<tag>`` (once) and point ``current`` at it atomically.

    The application keeps running the release it started from until it is
    restarted (``supervisor.restart``); the script does both.
    """
    check_tag(tag)
    commit = git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}").strip()
    releases = deploy_dir / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    target = releases / tag
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=f".{tag}.", dir=releases))
        archive = staging / "release.tar"
        git(repo, "archive", "--format=tar", f"--output={archive}", commit)
        with tarfile.open(archive) as tar:
            tar.extractall(staging / "tree", filter="data")
        archive.unlink()
        (staging / "tree" / "REVISION").write_text(commit + "\n")
        (staging / "tree").rename(target)
        staging.rmdir()
    link = deploy_dir / f".{CURRENT}.{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path(RELEASES) / tag)
    link.replace(deploy_dir / CURRENT)  # rename(2): atomic
    return target


def current_release(deploy_dir: Path) -> Path | None:
    """The folder ``current`` points at, resolved (None when nothing is deployed)."""
    link = deploy_dir / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def release_version(release_dir: Path) -> dict[str, str | None]:
    """What a release folder says it is: its VERSION and REVISION (None when missing)."""

    def read(name: str) -> str | None:
        path = release_dir / name
        return path.read_text().strip() if path.is_file() else None

    return {"version": read("VERSION"), "revision": read("REVISION")}
