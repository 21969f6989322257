"""Runbook files that are not what they seem: links out of their folder, pipes, huge files.

Each is refused by ``check_runbook`` and ``load_runbooks`` alike with a located
message, and nothing of a file outside the runbook's folder is ever printed.
"""

from __future__ import annotations

import os

import pytest

from runbooks.importers.files import read_runbook_file
from runbooks.importers.problems import RunbookError
from runbooks.models import Runbook
from tests.runbooks.samples import VALID_RUNBOOK
from tests.runbooks.test_commands import run_failing

MAX_FILE_BYTES, MAX_SCRIPT_BYTES = 2 * 1024 * 1024, 1024 * 1024
SECRET_LINE = "DATABASE_PASSWORD: hunter2-do-not-print"


def problems(path) -> list[str]:
    with pytest.raises(RunbookError) as caught:
        read_runbook_file(path)
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture
def outside(tmp_path):
    """A file outside any runbook folder whose lines must never be printed."""
    target = tmp_path / "outside" / "secrets.yaml"
    target.parent.mkdir()
    target.write_text(f"{SECRET_LINE}\nid: x\n")
    return target


def test_runbook_file_linking_outside_its_folder_is_refused_by_check_runbook(tmp_path, outside):
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "runbook.yaml").symlink_to(outside)

    err = run_failing("check_runbook", folder)

    assert err == (
        f"{folder / 'runbook.yaml'}: is a symbolic link to a file outside the runbook's "
        "folder; Ripcord reads only files inside it\n"
    )
    assert "hunter2" not in err and str(outside) not in err


@pytest.mark.django_db
def test_runbook_file_linking_outside_its_folder_is_refused_by_load_runbooks(tmp_path, outside):
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "runbook.yaml").symlink_to(outside)

    err = run_failing("load_runbooks", folder / "runbook.yaml")

    assert err.startswith(f"{folder / 'runbook.yaml'}: is a symbolic link to a file outside")
    assert "hunter2" not in err
    assert Runbook.objects.count() == 0


def test_runbook_file_linking_inside_its_folder_is_read(write_runbook):
    path = write_runbook(name="real.yaml")
    (path.parent / "runbook.yaml").symlink_to("real.yaml")

    assert read_runbook_file(path.parent / "runbook.yaml").spec.id == "demo-rollback"


@pytest.mark.timeout(20)
def test_runbook_path_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "runbook.yaml")  # reading a pipe nobody writes would hang forever

    assert problems(tmp_path / "runbook.yaml") == [
        f"{tmp_path / 'runbook.yaml'}: is not a regular file"
    ]


def test_runbook_file_over_the_size_limit_is_refused(write_runbook):
    padding = "# " + "x" * 1000 + "\n"
    text = VALID_RUNBOOK + padding * (MAX_FILE_BYTES // len(padding) + 1)
    path = write_runbook(text)

    assert problems(path) == [f"{path}: the file is over 2 MiB, the most a runbook file may be"]


def test_script_over_the_size_limit_is_refused_at_its_step(write_runbook, line_of):
    big = "#!/bin/bash\n" + "# padding\n" * (MAX_SCRIPT_BYTES // 10)
    path = write_runbook(scripts={"scripts/restore.sh": big})

    assert problems(path) == [
        f"{path}:{line_of(VALID_RUNBOOK, 'scripts/restore.sh')}: "
        "phases[0].steps[1].command.script: "
        "script 'scripts/restore.sh' is over 1 MiB, the most a script may be"
    ]


def test_script_with_a_nul_byte_is_refused_at_its_step(write_runbook, line_of):
    path = write_runbook(scripts={"scripts/restore.sh": "echo a\necho b\x00c\n"})

    assert problems(path) == [
        f"{path}:{line_of(VALID_RUNBOOK, 'scripts/restore.sh')}: "
        "phases[0].steps[1].command.script: "
        "script 'scripts/restore.sh' has a NUL byte on its line 2; a script is text"
    ]


@pytest.mark.django_db
def test_script_linking_outside_prints_nothing_of_its_target(write_runbook, tmp_path):
    (tmp_path / "elsewhere.sh").write_text(f"echo {SECRET_LINE}\n")
    path = write_runbook(VALID_RUNBOOK.replace("scripts/restore.sh", "scripts/link.sh"))
    (path.parent / "scripts" / "link.sh").symlink_to(tmp_path / "elsewhere.sh")

    err = run_failing("load_runbooks", path)

    assert "leads outside the runbook's folder" in err and "hunter2" not in err
