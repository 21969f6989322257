"""Importing a Markdown runbook in a real browser: upload, preview with TODOs, save, open an incident.

Headless Chromium against the real uvicorn (tests/integration/conftest.py), as
the incident commander. Nothing sleeps: Playwright's ``expect`` waits.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from runbooks.models import Runbook
from tests.integration.browser import LOAD_MS
from tests.runbooks.markdown.paths import PLAN

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]
RUNBOOK_ID = "mig-002-imported"


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test thread (shared/PITFALLS.md)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def saved_folders() -> Iterator[None]:
    """The server saves under its VAR_DIR/imported: remove what this test saved."""
    yield
    for runbook in Runbook.objects.filter(slug=RUNBOOK_ID):
        for version in runbook.versions.all():
            folder = Path(version.source_path).parent
            shutil.rmtree(folder, ignore_errors=True)
            if folder.parent.is_dir() and not any(folder.parent.iterdir()):
                folder.parent.rmdir()


def test_commander_imports_the_seed_plan_and_opens_an_incident_from_it(
    ic, open_page, saved_folders
):
    # ic first: the test database is set up before the browser (whose event loop would forbid it).

    page = open_page(ic, "/runbooks/")
    page.get_by_role("link", name="Import a runbook").click()
    expect(page).to_have_url(re.compile(r"/runbooks/import/$"))

    page.get_by_label("Markdown file").set_input_files(str(PLAN))
    page.get_by_label("Runbook id").fill(RUNBOOK_ID)
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#import-preview")
    expect(preview.get_by_role("heading", level=2)).to_contain_text(
        "Rollback Plan for Migration Issues (MIG-002)", timeout=LOAD_MS
    )
    phases = page.locator("#import-phases section.phase h4")
    expect(phases).to_have_count(4)
    expect(phases.first).to_contain_text("Immediate service preservation")
    expect(page.locator("#preview-step-run_rollback_database_sh")).to_contain_text(
        "scripts/rollback_database.sh"
    )
    todos = page.locator("#import-todos li.todo")
    expect(todos.filter(has_text="line 40")).to_contain_text("Scale down new services")
    expect(todos.filter(has_text="review the imported shell")).to_have_count(2)

    page.get_by_role("button", name="Save as runbook").click()
    expect(page).to_have_url(re.compile(rf"/runbooks/{RUNBOOK_ID}/$"), timeout=LOAD_MS)
    expect(page.locator(".messages")).to_contain_text(f"Saved {RUNBOOK_ID} v1 (created)")
    expect(page.locator("#phase-data_rollback")).to_contain_text("Restore from backup")

    page.goto(page.url.split("/runbooks/")[0] + "/")
    page.get_by_role("link", name="Open incident").click()
    expect(page.get_by_label("Runbook")).to_contain_text(
        "Rollback Plan for Migration Issues (MIG-002)"
    )
    page.get_by_label("Environment").select_option("production")
    page.get_by_label("Title").fill("Imported plan drill")
    # The imported plan's only environment is production: no drill there, and a real
    # incident needs its name typed.
    page.get_by_label("Confirm production").fill("production")
    page.get_by_role("button", name="Open incident").click()

    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"), timeout=LOAD_MS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Imported plan drill")
    incident = Incident.objects.get(title="Imported plan drill")
    assert incident.runbook_version.runbook.slug == RUNBOOK_ID
    assert incident.phases.count() == 4
    assert incident.steps.count() == 22
    # The page carried the document back and forth (as form data, CRLF line ends): the saved
    # scripts are still the plan's blocks byte for byte.
    files = incident.runbook_version.files
    block = PLAN.read_text().split("```bash\n")[1].split("\n```")[0] + "\n"
    assert files["scripts/rollback_database.sh"] == block
