from __future__ import annotations

import pytest

from runbooks.importers.problems import RunbookError
from runbooks.models import Runbook, RunbookVersion
from runbooks.selectors import latest_versions
from runbooks.services import discover_runbook_files, load_runbook_files
from tests.runbooks.samples import VALID_RUNBOOK

pytestmark = pytest.mark.django_db


def statuses(results) -> list[str]:
    return [f"{r.status} {r.runbook_id} v{r.version}" for r in results]


def test_load_runbook_files_creates_first_version(write_runbook):
    path = write_runbook()

    assert statuses(load_runbook_files([path])) == ["created demo-rollback v1"]

    version = RunbookVersion.objects.get()
    assert version.runbook.title == "Demo rollback"
    assert version.source == VALID_RUNBOOK
    assert version.source_path == str(path)
    assert version.files == {
        "scripts/restore.sh": path.parent.joinpath("scripts/restore.sh").read_text()
    }
    assert version.parsed().all_steps()[1].approval == "incident_commander"


def test_load_runbook_files_is_idempotent(write_runbook):
    path = write_runbook()
    load_runbook_files([path])

    assert statuses(load_runbook_files([path])) == ["unchanged demo-rollback v1"]
    assert RunbookVersion.objects.count() == 1


def test_load_runbook_files_keeps_old_version_byte_identical(write_runbook):
    path = write_runbook()
    load_runbook_files([path])
    before = RunbookVersion.objects.values().get()

    path.write_text(VALID_RUNBOOK.replace("title: Check", "title: Check users"))
    assert statuses(load_runbook_files([path])) == ["created demo-rollback v2"]

    assert RunbookVersion.objects.filter(number=1).values().get() == before
    assert [v.number for v in latest_versions()] == [2]


def test_load_runbook_files_versions_a_changed_script(write_runbook):
    load_runbook_files([write_runbook()])

    path = write_runbook(scripts={"scripts/restore.sh": "#!/bin/sh\necho v2\n"})

    assert statuses(load_runbook_files([path])) == ["created demo-rollback v2"]
    assert RunbookVersion.objects.get(number=2).files == {
        "scripts/restore.sh": "#!/bin/sh\necho v2\n"
    }


def test_load_runbook_files_reinstates_reverted_content(write_runbook):
    path = write_runbook()
    load_runbook_files([path])
    path.write_text(VALID_RUNBOOK.replace("title: Check", "title: Check users"))
    load_runbook_files([path])

    path.write_text(VALID_RUNBOOK)

    assert statuses(load_runbook_files([path])) == ["reinstated demo-rollback v1"]
    assert [v.number for v in latest_versions()] == [1]
    assert RunbookVersion.objects.count() == 2


def test_load_runbook_files_saves_nothing_when_one_file_fails(write_runbook, broken_runbook):
    good = write_runbook(VALID_RUNBOOK.replace("id: demo-rollback", "id: other"), folder="good")

    with pytest.raises(RunbookError) as caught:
        load_runbook_files([good, broken_runbook.path])

    assert str(caught.value).startswith(broken_runbook.location)
    assert (Runbook.objects.count(), RunbookVersion.objects.count()) == (0, 0)


def test_load_runbook_files_refuses_two_files_with_one_id(write_runbook, line_of):
    first = write_runbook(folder="a")
    second = write_runbook(folder="b")

    with pytest.raises(RunbookError) as caught:
        load_runbook_files([first, second])

    line = line_of(VALID_RUNBOOK, "id: demo-rollback")
    assert (
        str(caught.value)
        == f"{second}:{line}: id: runbook id 'demo-rollback' is also used by {first}"
    )
    assert Runbook.objects.count() == 0


def test_load_runbook_files_reads_a_file_named_twice_once(write_runbook):
    path = write_runbook()

    assert statuses(
        load_runbook_files([path, path.parent / ".." / path.parent.name / path.name])
    ) == ["created demo-rollback v1"]


def test_discover_runbook_files_finds_yaml_recursively_sorted(tmp_path):
    for name in [
        "b/runbook.yml",
        "a/runbook.yaml",
        "a/scripts/x.sh",
        "c/notes.md",
        "a/deep/z.yaml",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")

    found = discover_runbook_files(tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/deep/z.yaml",
        "a/runbook.yaml",
        "b/runbook.yml",
    ]
