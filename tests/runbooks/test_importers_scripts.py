from __future__ import annotations

import pytest

from runbooks.importers.files import read_runbook_file
from runbooks.importers.problems import RunbookError
from tests.runbooks.samples import RESTORE_SCRIPT, VALID_RUNBOOK


def script_problems(write_runbook, script_path: str, scripts=None) -> list[str]:
    text = VALID_RUNBOOK.replace("scripts/restore.sh", script_path)
    path = write_runbook(text, scripts=scripts)
    with pytest.raises(RunbookError) as caught:
        read_runbook_file(path)
    assert {p.field for p in caught.value.problems} == {"phases[0].steps[1].command.script"}
    return [p.message for p in caught.value.problems]


def test_read_runbook_file_ships_referenced_script(write_runbook):
    runbook = read_runbook_file(write_runbook(VALID_RUNBOOK.replace("scripts/", "./scripts/")))

    assert runbook.files == {"scripts/restore.sh": RESTORE_SCRIPT}


@pytest.mark.parametrize(
    "script_path", ["../restore.sh", "scripts/../../restore.sh", "/etc/passwd"]
)
def test_read_runbook_file_refuses_script_outside_folder(write_runbook, script_path):
    assert script_problems(write_runbook, script_path) == [
        f"script path {script_path!r} must stay inside the runbook's folder"
    ]


def test_read_runbook_file_refuses_symlink_leading_outside(write_runbook, tmp_path):
    (tmp_path / "elsewhere.sh").write_text("echo outside\n")
    path = write_runbook()
    (path.parent / "scripts" / "link.sh").symlink_to(tmp_path / "elsewhere.sh")

    with pytest.raises(RunbookError) as caught:
        read_runbook_file(path.with_name("other.yaml"))  # a missing file first: located too
    assert (
        str(caught.value)
        == f"{path.with_name('other.yaml')}: cannot read: No such file or directory"
    )

    path.write_text(VALID_RUNBOOK.replace("scripts/restore.sh", "scripts/link.sh"))
    with pytest.raises(RunbookError) as caught:
        read_runbook_file(path)
    assert [p.message for p in caught.value.problems] == [
        "script path 'scripts/link.sh' leads outside the runbook's folder"
    ]


def test_read_runbook_file_refuses_missing_script(write_runbook, line_of):
    text = VALID_RUNBOOK.replace("scripts/restore.sh", "scripts/gone.sh")
    path = write_runbook(text)

    with pytest.raises(RunbookError) as caught:
        read_runbook_file(path)

    line = line_of(text, "scripts/gone.sh")
    assert str(caught.value) == (
        f"{path}:{line}: phases[0].steps[1].command.script: "
        "script file 'scripts/gone.sh' not found beside the runbook"
    )


def test_read_runbook_file_hash_covers_scripts(write_runbook):
    first = read_runbook_file(write_runbook())
    second = read_runbook_file(write_runbook(scripts={"scripts/restore.sh": "echo changed\n"}))

    assert first.content_sha256 != second.content_sha256
