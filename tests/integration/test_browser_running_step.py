"""A running step as people watch it in a real browser: the log follows, the time ticks.

A three-phase drill whose second phase holds a shell step printing 400 lines, one
every 50 ms. The engineer runs it while the first phase is still the current one
(as MIG-002's restore may run before anyone advanced the plan). While it runs, the
engineer's page shows the step's phase "In progress" (not "Not started"), the run's
elapsed time ticking, and the log box following the newest line; scrolling up in
the box pauses it (new lines arrive, the reader keeps their place) and the "follow"
button resumes it. The finished run reads "Succeeded · exit 0 · N.N s". The full log
opens in the browser view, finds a line, and jumps to it by its anchor. When the IC
ends the phase, the engineer's open page folds its steps away without a reload.
Real stack: uvicorn, Redis channel layer, PostgreSQL, a Celery worker of this module's own.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import yaml
from django.core.management import call_command
from playwright.sync_api import Page, expect

from incidents import broadcast, services
from incidents.models import Incident, Phase, Step
from runbooks.models import Runbook
from tests.integration.browser import ROUND_TRIP_MS, step_card
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import RUN_ID, Process, start_worker

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = f"browser-running-{RUN_ID}"
RUNBOOK = f"it-browser-running-{RUN_ID}"
STEP = "Print the restore log"
LINES = 400
SCRIPT = f"""\
    #!/usr/bin/env bash
    set -euo pipefail
    for i in $(seq 1 {LINES}); do
      echo "restore line $i: copying rows of table users"
      sleep 0.05
    done
    """
RUN_MS = 40_000  # worker start + 20 s of output + finish, on a loaded machine
TICK_MS = 3000

AT_BOTTOM = """(box) => box.scrollHeight - box.scrollTop - box.clientHeight <= 8"""


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set-up writes here publish nothing; the server and the worker push through Redis."""
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)


@pytest.fixture(scope="module")
def run_worker(django_db_setup, django_db_blocker) -> Iterator[Process]:
    with django_db_blocker.unblock():
        worker = start_worker(ARTIFACTS, queues=QUEUE)
    yield worker
    worker.stop()


def write_runbook(folder: Path) -> None:
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "scripts" / "restore.sh").write_text(textwrap.dedent(SCRIPT))

    def manual(key: str, title: str) -> dict[str, str]:
        return {"id": key, "title": title, "owner": "backend_engineer"}

    spec = {
        "id": RUNBOOK,
        "title": "Browser test: a running step",
        "roles": [{"id": "backend_engineer", "title": "Backend engineer"}],
        "environments": [{"id": "lab", "title": "Lab", "variables": {}, "secrets": {}}],
        "phases": [
            {
                "id": "prepare",
                "title": "Prepare",
                "starts_at_minutes": 0,
                "ends_at_minutes": 15,
                "steps": [manual("announce", "Announce the rollback")],
            },
            {
                "id": "restore",
                "title": "Restore",
                "starts_at_minutes": 15,
                "ends_at_minutes": 60,
                "steps": [
                    {
                        "id": "restore",
                        "title": STEP,
                        "owner": "backend_engineer",
                        "kind": "shell",
                        "command": {"script": "scripts/restore.sh"},
                        "queue": QUEUE,
                        "timeout_seconds": 120,
                    }
                ],
            },
            {
                "id": "check",
                "title": "Check",
                "starts_at_minutes": 60,
                "ends_at_minutes": 90,
                "steps": [manual("look", "Look at the application")],
            },
        ],
    }
    (folder / "runbook.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


@pytest.fixture
def drill(tmp_path, ic, backend) -> Incident:
    write_runbook(tmp_path / "running")
    call_command("load_runbooks", str(tmp_path / "running"), stdout=io.StringIO())
    version = Runbook.objects.get(slug=RUNBOOK).current_version
    assert version is not None
    incident = services.open_incident(
        version=version,
        environment="lab",
        title="Running step drill",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    return incident


def tail_text(page: Page, selector: str) -> str:
    return str(page.eval_on_selector(selector, "(box) => box.textContent"))


def wait_new_lines(page: Page, selector: str, seen: str) -> str:
    """Until the box shows other lines than ``seen`` (a push arrived); what it shows then."""
    page.wait_for_function(
        "([sel, seen]) => { const b = document.querySelector(sel); return b && b.textContent !== seen; }",
        arg=[selector, seen],
        timeout=ROUND_TRIP_MS,
    )
    return tail_text(page, selector)


def advance(page: Page, phase: Phase) -> None:
    head = page.locator(f"#phase-head-{phase.pk}")
    head.locator("summary", has_text="Advance").click()
    head.get_by_label("Reason").fill("Browser test: on to the next phase")
    head.get_by_role("button", name="End this phase, start the next").click()


@pytest.mark.timeout(240)
def test_running_step_follows_ticks_reads_clearly_and_its_phase_folds(
    run_worker, drill, incident_page, ic, backend
):
    incident = drill
    step = Step.objects.get(incident=incident, key="restore")
    prepare, restore = Phase.objects.filter(incident=incident).order_by("position")[:2]
    eng = incident_page(backend, incident, viewport={"width": 390, "height": 844})
    ic_page = incident_page(ic, incident)
    eng.evaluate("window.__sameDocument = true")
    card = eng.locator(f"#step-{step.pk}")
    in_progress = eng.locator(f"#phase-{restore.pk} [data-testid=phase-in-progress]")
    expect(in_progress).to_be_hidden()  # nothing runs in it yet, and it has not started

    card.get_by_test_id("run-button").click()
    expect(card.get_by_test_id("run-status")).to_have_text("Running", timeout=RUN_MS)

    # Its phase is in progress while the step runs, though the plan has not reached it.
    expect(in_progress).to_be_visible()
    expect(eng.locator(f"#phase-clock-{restore.pk} .clock-state")).to_be_hidden()

    # The elapsed time ticks in the browser, between pushes.
    elapsed = card.get_by_test_id("run-elapsed")
    shown = elapsed.text_content() or ""
    expect(elapsed).to_have_text(re.compile(r"^\d+ s$"))
    expect(elapsed).not_to_have_text(shown, timeout=TICK_MS)

    # The log box follows the newest line, push after push.
    box = f"#step-{step.pk} pre.run-tail"
    eng.wait_for_function(
        "(sel) => { const b = document.querySelector(sel); return b && b.scrollHeight > b.clientHeight + 20; }",
        arg=box,
        timeout=RUN_MS,
    )
    seen = tail_text(eng, box)
    for _ in range(3):
        seen = wait_new_lines(eng, box, seen)
        assert eng.eval_on_selector(box, AT_BOTTOM), "the log box did not follow the new lines"

    # Scrolled up, the box pauses: new lines arrive, the reader keeps their place.
    eng.eval_on_selector(box, "(b) => { b.scrollTop = 0; }")
    pause = card.get_by_role("button", name="Paused · follow new lines")
    expect(pause).to_be_visible()
    seen = wait_new_lines(eng, box, tail_text(eng, box))
    seen = wait_new_lines(eng, box, seen)
    assert eng.eval_on_selector(box, "(b) => b.scrollTop") == 0, "a paused box jumped"
    assert not eng.eval_on_selector(box, AT_BOTTOM)

    # "Follow" goes to the newest line and follows again.
    pause.click()
    expect(pause).to_have_count(0)
    seen = wait_new_lines(eng, box, seen)
    assert eng.eval_on_selector(box, AT_BOTTOM)

    # The finished run reads clearly, on every page.
    for page in (eng, ic_page):
        expect(page.locator(f"#step-{step.pk}").get_by_test_id("run-status")).to_have_text(
            "Succeeded", timeout=RUN_MS
        )
        expect(page.locator(f"#step-{step.pk}").get_by_test_id("run-line")).to_have_text(
            re.compile(r"^Succeeded · exit 0 · \d+\.\d s$")
        )
    expect(in_progress).to_be_hidden()  # nothing runs in it now, and it has not started

    # The full log in the browser: opens on its first lines, finds one, jumps to it.
    href = card.get_by_test_id("log-view-link").get_attribute("href")
    log = eng.context.new_page()
    log.goto(urljoin(eng.url, str(href)))
    expect(log.get_by_test_id("log-range")).to_have_text(f"Lines 1\N{EN DASH}{LINES} of {LINES}")
    expect(log.locator("#L1")).to_contain_text("restore line 1: copying rows")
    log.get_by_test_id("log-search").fill("line 377:")
    log.get_by_role("button", name="Find").click()
    hit = log.get_by_test_id("log-hit")
    expect(hit).to_have_text(["377"])
    hit.click()
    expect(log).to_have_url(re.compile(r"#L377$"))
    target = log.locator("#L377")
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("restore line 377: copying rows of table users")
    assert log.evaluate("document.documentElement.scrollWidth") <= 390
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    log.screenshot(path=ARTIFACTS / "screens" / "log-view-390.png")
    log.close()

    # The IC moves the plan on twice; the engineer's open page folds the ended phase away.
    advance(ic_page, prepare)
    expect(ic_page.locator(f"#phase-clock-{restore.pk}")).not_to_have_attribute(
        "data-state", "not_started", timeout=ROUND_TRIP_MS
    )
    advance(ic_page, restore)
    section = eng.locator(f"#phase-{restore.pk}")
    expect(section).to_have_class(re.compile(r"\bcompact\b"), timeout=ROUND_TRIP_MS)
    expect(section.locator("summary")).to_have_text("Phase ended · show its 1 step")
    expect(step_card(eng, STEP)).to_be_hidden()
    section.locator("summary").click()
    expect(step_card(eng, STEP)).to_be_visible()
    assert eng.evaluate("window.__sameDocument") is True  # no reload
