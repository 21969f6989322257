"""The run directory (RIPCORD_RUN_DIR): each scripted step gets a fresh working directory in it.

Created when a step first needs it, never when settings are imported: the image's build
step (collectstatic, as root) imports the settings, and a directory made then belongs to
root, so that every step of a worker running as another user fails on PermissionError.
The worker checks at start-up (config/celery.py) that it can write here, so that a wrong
owner is one clear line in its log instead of a failure on every step.

Standard library only, so that config/celery.py can import it while the settings load.
"""

from __future__ import annotations

import os
import pwd
import tempfile
from pathlib import Path

MODE = 0o700  # steps' scratch files may hold what their scripts read from secrets


def ensure(run_dir: Path) -> Path:
    """``run_dir``, created (owner-only) if it is missing."""
    run_dir.mkdir(mode=MODE, parents=True, exist_ok=True)
    return run_dir


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "no name"


def unwritable(run_dir: Path) -> str | None:
    """Why this process cannot make a working directory under ``run_dir``; None if it can.

    Tried for real (make one, remove it) rather than judged from mode bits, which a
    read-only mount, an ACL or root's privileges would all make misleading.
    """
    try:
        probe = tempfile.mkdtemp(prefix=".start-up-check-", dir=ensure(run_dir))
        os.rmdir(probe)
    except OSError as exc:
        return f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    return None


def start_up_problem(run_dir: Path) -> str | None:
    """One line for the worker's log when steps could not run here, else None."""
    reason = unwritable(run_dir)
    if reason is None:
        return None
    uid = os.geteuid()
    return (
        f"celery worker: cannot write to the run directory {run_dir} (RIPCORD_RUN_DIR) as uid "
        f"{uid} ({_user_name(uid)}): {reason}; every scripted step would fail. Make it "
        f"writable by that user (e.g. chown -R {uid} {run_dir}) or point RIPCORD_RUN_DIR "
        "at a directory it owns."
    )
