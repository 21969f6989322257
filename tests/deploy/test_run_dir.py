"""Run-time directories: none made by importing settings; the worker refuses a run dir it cannot write.

The image's bug (issue 14): settings made RIPCORD_RUN_DIR on import, the build imported them
as root, and every step of the worker (another user) failed on PermissionError.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery

from config.celery import refuse_a_run_dir_it_cannot_write
from incidents.execution import workdirs

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


def child_env(**extra: str) -> dict[str, str]:
    keep = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    return {**keep, **extra}


@pytest.mark.parametrize("production", [False, True])
def test_importing_settings_creates_no_directory(tmp_path, production):
    var_dir = tmp_path / "var"
    env = child_env(RIPCORD_VAR_DIR=str(var_dir))
    if production:
        env.update(DATABASE_URL="postgres://u@db.invalid/db", SECRET_KEY="k")
    done = subprocess.run(
        [sys.executable, "-c", "from config import settings; print(settings.RIPCORD_RUN_DIR)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(var_dir / "runs")
    assert not var_dir.exists()


def test_embedded_database_folder_is_made_at_first_connection(tmp_path):
    var_dir = tmp_path / "var"
    script = (
        "import django; django.setup()\n"
        "from django.db import connection; connection.ensure_connection()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=child_env(RIPCORD_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (var_dir / "ripcord.sqlite3").is_file()
    assert not (var_dir / "runs").exists()  # made by the first step, not by the database


def test_a_run_gets_a_fresh_workdir_in_a_run_dir_made_owner_only(tmp_path, settings):
    run_dir = tmp_path / "var" / "runs"
    settings.RIPCORD_RUN_DIR = run_dir
    first = workdirs.make_workdir(7)
    second = workdirs.make_workdir(7)
    assert first.parent == run_dir and first != second
    assert first.name.startswith("run-") and "-7-" in first.name
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700


# --- the worker's start-up check ---------------------------------------------------


@pytest.fixture
def read_only_run_dir() -> Iterator[tuple[Path, list[str]]]:
    """A run dir the process checking it may not write, and the argv prefix that checks as it.

    Root writes whatever the mode bits say, so as root the check runs as another uid (the
    situation in the image: a root-owned folder, a worker running as `ripcord`). That uid
    keeps CAP_DAC_READ_SEARCH, to read this machine's Python wherever it is installed (under
    /root, say); writing still goes by the mode bits. Not root: the folder is made read-only.
    """
    parent = Path(tempfile.mkdtemp(prefix="ripcord-run-dir-"))
    run_dir = parent / "runs"
    run_dir.mkdir()
    if os.geteuid() == 0:
        run_dir.chmod(0o755)  # as the image's build left it: root's, readable by all
        prefix = [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search",
            "--",
        ]
    else:
        run_dir.chmod(0o500)
        prefix = []
    yield run_dir, prefix
    run_dir.chmod(0o700)
    run_dir.rmdir()
    parent.rmdir()


def test_start_up_check_names_the_folder_the_user_and_the_fix(read_only_run_dir):
    run_dir, as_other_user = read_only_run_dir
    script = (
        "import sys; from pathlib import Path\n"
        "from incidents.execution.rundir import start_up_problem\n"
        "print(start_up_problem(Path(sys.argv[1])))\n"
    )
    done = subprocess.run(
        [*as_other_user, sys.executable, "-c", script, str(run_dir)],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    uid = NOBODY if as_other_user else os.geteuid()
    assert f"cannot write to the run directory {run_dir} (RIPCORD_RUN_DIR) as uid {uid}" in line
    assert "Permission denied" in line
    assert f"chown -R {uid} {run_dir}" in line


@pytest.mark.timeout(90)
def test_celery_worker_refuses_to_start_on_a_run_dir_it_cannot_write(read_only_run_dir):
    run_dir, as_other_user = read_only_run_dir
    env = child_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/ripcord_unused",
        SECRET_KEY="test-only",
        REDIS_URL="redis://127.0.0.1:6379/15",  # never reached: the worker stops before
        RIPCORD_RUN_DIR=str(run_dir),
    )
    celery = Path(sys.executable).with_name("celery")
    done = subprocess.run(
        [*as_other_user, str(celery), "-A", "config", "worker", "-Q", "default", "--pool=solo"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if "RIPCORD_RUN_DIR" in line]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"celery worker: cannot write to the run directory {run_dir}")
    assert list(run_dir.iterdir()) == []


def worker_of(*queues: str) -> SimpleNamespace:
    app = Celery("run-dir-test", broker="redis://127.0.0.1:6379/15", set_as_current=False)
    app.amqp.queues.select(list(queues))
    return SimpleNamespace(app=app)


def test_only_a_worker_that_runs_steps_needs_the_run_dir(tmp_path, settings):
    (tmp_path / "file").write_text("")
    settings.RIPCORD_RUN_DIR = tmp_path / "file" / "runs"  # under a file: not even root can
    with pytest.raises(SystemExit, match="cannot write to the run directory"):
        refuse_a_run_dir_it_cannot_write(sender=worker_of("default", "database"))
    refuse_a_run_dir_it_cannot_write(sender=worker_of("control"))  # housekeeping only


def test_a_writable_run_dir_passes_and_is_made_if_missing(tmp_path, settings):
    settings.RIPCORD_RUN_DIR = tmp_path / "runs"
    refuse_a_run_dir_it_cannot_write(sender=worker_of("default"))
    assert list((tmp_path / "runs").iterdir()) == []
