from __future__ import annotations

import pytest

from runbooks.selectors import latest_version, latest_versions, versions_of
from runbooks.services import load_runbook_files
from tests.runbooks.samples import VALID_RUNBOOK

pytestmark = pytest.mark.django_db


def test_latest_versions_lists_current_version_per_runbook(write_runbook):
    first = write_runbook(folder="a")
    other = write_runbook(VALID_RUNBOOK.replace("id: demo-rollback", "id: another"), folder="b")
    load_runbook_files([first, other])
    first.write_text(VALID_RUNBOOK.replace("title: Demo rollback", "title: Demo rollback, v2"))
    load_runbook_files([first])

    assert [(v.runbook.slug, v.number) for v in latest_versions()] == [
        ("another", 1),
        ("demo-rollback", 2),
    ]
    current = latest_version("demo-rollback")
    assert current is not None
    assert current.runbook.title == "Demo rollback, v2"
    assert latest_version("missing") is None
    assert [v.number for v in versions_of("demo-rollback")] == [2, 1]
