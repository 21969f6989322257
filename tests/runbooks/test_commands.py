from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from runbooks.models import Runbook, RunbookVersion

MIG_002 = Path(settings.BASE_DIR) / "runbooks" / "library" / "mig-002" / "runbook.yaml"


def run(command: str, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(command: str, *args) -> str:
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(command, *map(str, args), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    return err.getvalue()


# No django_db mark: pytest-django refuses any query, so these prove check_runbook needs no DB.
def test_check_runbook_passes_shipped_mig_002():
    out, err = run("check_runbook", MIG_002)

    assert out == f"OK {MIG_002} (runbook mig-002, 4 phases, 21 steps)\n"
    assert err == ""


def test_check_runbook_reports_located_problem_and_exits_1(broken_runbook, write_runbook):
    good = write_runbook(folder="good")

    err = run_failing("check_runbook", good, broken_runbook.path)

    assert err.startswith(broken_runbook.location), err


def test_check_runbook_prints_ok_for_good_files_beside_broken_ones(broken_runbook, write_runbook):
    good = write_runbook(folder="good")
    out = StringIO()

    with pytest.raises(CommandError):
        call_command(
            "check_runbook", str(good), str(broken_runbook.path), stdout=out, stderr=StringIO()
        )

    assert out.getvalue() == f"OK {good} (runbook demo-rollback, 2 phases, 3 steps)\n"


def test_check_runbook_reports_missing_path(tmp_path):
    assert (
        run_failing("check_runbook", tmp_path / "nope.yaml")
        == f"{tmp_path / 'nope.yaml'}: no such file or directory\n"
    )


def test_check_runbook_still_checks_other_files_beside_a_missing_path(
    tmp_path, broken_runbook, write_runbook
):
    good = write_runbook(folder="good")
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as raised:
        call_command(
            "check_runbook",
            str(tmp_path / "nope.yaml"),
            str(good),
            str(broken_runbook.path),
            stdout=out,
            stderr=err,
        )

    assert raised.value.returncode == 1
    assert str(raised.value) == "2 runbook file(s) failed the check"
    assert out.getvalue().startswith(f"OK {good} ")
    assert err.getvalue().startswith(f"{tmp_path / 'nope.yaml'}: no such file or directory\n")
    assert f"{broken_runbook.path}:" in err.getvalue()


def test_check_runbook_runs_without_database_or_system_checks():
    # A database nobody listens on: the command must not need it.
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none", "SECRET_KEY": "x"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check_runbook", str(MIG_002)],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=40, check=False,
    )  # fmt: skip

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("OK ")


@pytest.mark.django_db
def test_load_runbooks_saves_nothing_on_a_broken_file(broken_runbook, write_runbook):
    good = write_runbook(folder="good")

    err = run_failing("load_runbooks", good, broken_runbook.path)

    assert err.startswith(broken_runbook.location), err
    assert (Runbook.objects.count(), RunbookVersion.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_load_runbooks_loads_folders_and_reports_status(write_runbook, tmp_path):
    path = write_runbook()

    assert run("load_runbooks", tmp_path) == (f"created demo-rollback v1 ({path})\n", "")
    assert run("load_runbooks", tmp_path) == (f"unchanged demo-rollback v1 ({path})\n", "")


@pytest.mark.django_db
def test_load_runbooks_defaults_to_configured_dirs(settings, write_runbook):
    path = write_runbook()
    settings.RIPCORD_RUNBOOK_DIRS = [str(path.parent)]

    out, _ = run("load_runbooks")

    assert out == f"created demo-rollback v1 ({path})\n"


@pytest.mark.django_db
def test_load_runbooks_loads_shipped_library():
    out, _ = run("load_runbooks", MIG_002.parent.parent)

    assert out == f"created mig-002 v1 ({MIG_002})\n"
    assert RunbookVersion.objects.get().files.keys() == {
        "scripts/rollback_database.sh",
        "scripts/rollback_application.sh",
        "scripts/restart_services.sh",
    }
