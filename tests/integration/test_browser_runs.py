"""A scripted step in real browsers: run, approve, watch the output stream in, end green.

The engineer (``backend``) runs a step that the incident commander (``ic``)
must approve; its script prints twenty lines a tenth of a second apart, then
"all done". The stack is the real one: uvicorn (config.asgi) with the Redis
channel layer, PostgreSQL, and a Celery worker process of this test's own
that alone listens on this run's queue, so no other worker takes the task.
The product manager (``pm``, read-only) watches the same page: he sees the
run's state change, and never one line of its output, not even on the wire.
Nothing here sleeps: Playwright's ``expect`` waits, with an explicit budget
wherever something is on its way.
"""

from __future__ import annotations

import io
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from incidents import broadcast, services
from incidents.models import Incident, Step, StepRun
from runbooks.models import Runbook
from tests.integration.browser import ROUND_TRIP_MS, record_frames, report
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import RUN_ID, Process, start_worker

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = f"browser-runs-{RUN_ID}"  # only this module's worker listens here
RUNBOOK = f"it-browser-runs-{RUN_ID}"
STEP = "Print the rollback report"
OUTPUT = [f"line {i}" for i in range(1, 21)] + ["all done"]
SCRIPT = """\
    #!/usr/bin/env bash
    set -euo pipefail
    for i in $(seq 1 20); do
      echo "line $i"
      sleep 0.1
    done
    echo "all done"
    """
RUN_MS = 20_000  # approval -> worker picks the task up -> two seconds of output -> finished


# --- set-up ----------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in the test thread.

    Django refuses ORM calls from a thread with a running loop unless told
    (shared/PITFALLS.md). Module scope: the transactional flush after each test
    runs after function fixtures are undone, and needs it too.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's own set-up writes publish nothing from this process.

    This process has the in-memory channel layer, which no browser hears, and
    ``async_to_sync`` cannot run in the Playwright thread anyway. Everything
    under test is written by the server and the worker, whose pushes go
    through Redis.
    """
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)


@pytest.fixture(scope="module")
def run_worker(django_db_setup, django_db_blocker) -> Iterator[Process]:
    """A Celery worker process on this module's queue alone."""
    with django_db_blocker.unblock():
        worker = start_worker(ARTIFACTS, queues=QUEUE)
    yield worker
    worker.stop()


def write_gated_runbook(folder: Path) -> Path:
    """A one-step runbook: the backend engineer's script, gated by the incident commander."""
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "scripts" / "report.sh").write_text(textwrap.dedent(SCRIPT))
    spec = {
        "id": RUNBOOK,
        "title": "Browser test: a gated scripted step",
        "roles": [{"id": "backend_engineer", "title": "Backend engineer"}],
        "environments": [{"id": "lab", "title": "Lab", "variables": {}, "secrets": {}}],
        "phases": [
            {
                "id": "only",
                "title": "Only",
                "starts_at_minutes": 0,
                "ends_at_minutes": 30,
                "steps": [
                    {
                        "id": "report",
                        "title": STEP,
                        "owner": "backend_engineer",
                        "kind": "shell",
                        "command": {"script": "scripts/report.sh"},
                        "approval": "incident_commander",
                        "queue": QUEUE,
                        "timeout_seconds": 60,
                    }
                ],
            }
        ],
    }
    path = folder / "runbook.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def gated_incident(tmp_path, ic, backend) -> Incident:
    """A drill of that runbook: ic commands (and so approves), backend owns the step."""
    write_gated_runbook(tmp_path / "gated")
    call_command("load_runbooks", str(tmp_path / "gated"), stdout=io.StringIO())
    version = Runbook.objects.get(slug=RUNBOOK).current_version
    assert version is not None
    incident = services.open_incident(
        version=version,
        environment="lab",
        title="Gated run drill",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    return incident


# --- page probes -------------------------------------------------------------------

# Records, in the page, every distinct text the step's log tail shows, in order.
# live.js replaces the <pre> on each push, so the observer watches the whole body.
TAIL_PROBE = """(selector) => {
  window.__tails = [];
  const check = () => {
    const text = document.querySelector(selector)?.textContent ?? "";
    if (text && text !== window.__tails[window.__tails.length - 1]) window.__tails.push(text);
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""

# Records whether the page ever showed output, however briefly.
OUTPUT_PROBE = """(needle) => {
  window.__sawOutput = false;
  new MutationObserver(() => {
    if (document.documentElement.outerHTML.includes(needle)) window.__sawOutput = true;
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def in_card(page: Page, step: Step, test_id: str) -> Locator:
    return page.locator(f"#step-{step.pk}").get_by_test_id(test_id)


# --- the test ------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_gated_run_streams_to_responders_and_only_its_state_to_the_pm(
    run_worker, gated_incident, incident_page, ic, backend, viewer, capsys
):
    """Run → the IC approves → output streams to both responders → green everywhere.

    The engineer clicks Run; within a few seconds, without a reload, the IC's
    page offers Approve, while the engineer's does not (nobody approves their
    own request). The IC approves; the engineer's and the IC's pages show the
    output arriving while it is printed (a tail that has "line 10" but not yet "all
    done" was on screen) and finally "all done". The step ends done with the run
    "Succeeded" on every page. The PM's page follows the states but never holds
    an output line, and no output reaches his socket. The full log downloads
    for the engineer, exactly as printed; the PM is refused it (403).
    """
    incident = gated_incident
    step = Step.objects.get(incident=incident)
    card = f"#step-{step.pk}"
    pm_frames: list[str] = []
    ic_page = incident_page(ic, incident)
    eng_page = incident_page(backend, incident)
    pm_page = incident_page(viewer, incident, before_load=record_frames(pm_frames))
    pages = {"engineer": eng_page, "IC": ic_page, "PM": pm_page}
    for page in pages.values():
        expect(page.locator(card)).to_have_attribute("data-state", "pending")
        page.evaluate("window.__sameDocument = true")  # a reload would wipe this marker
    for page in (eng_page, ic_page):
        page.evaluate(TAIL_PROBE, f"{card} pre.run-tail")
    for page in (eng_page, pm_page):  # the engineer's shows the probe can see output
        page.evaluate(OUTPUT_PROBE, "line 1")
    expect(in_card(pm_page, step, "run-button")).to_have_count(0)

    # The engineer asks; the gate holds the run.
    in_card(eng_page, step, "run-button").click()
    clicked = time.monotonic()
    expect(in_card(ic_page, step, "approve")).to_be_visible(timeout=ROUND_TRIP_MS)
    approve_shown_s = time.monotonic() - clicked
    run = StepRun.objects.get(step=step)
    assert run.status == StepRun.Status.AWAITING_APPROVAL
    for page in pages.values():
        expect(in_card(page, step, "run-status")).to_have_text(
            "Awaiting approval", timeout=ROUND_TRIP_MS
        )
        expect(page.locator(card)).to_contain_text(
            "needs approval from Incident commander (asked by backend)"
        )
    # The button is in the engineer's fragment, hidden on his page: he holds no
    # incident commander role, and nobody approves a run they asked for
    # (_me_style.html; the server refuses it too). The PM's fragment has no controls.
    expect(in_card(eng_page, step, "approve")).to_have_count(1)
    expect(in_card(eng_page, step, "approve")).to_be_hidden()
    expect(in_card(pm_page, step, "approve")).to_have_count(0)

    # The IC opens the gate; the worker runs the script.
    in_card(ic_page, step, "approve").click()
    for page in (eng_page, ic_page):
        tail = page.locator(f"#run-tail-{run.pk}")
        expect(tail).to_contain_text("all done", timeout=RUN_MS)
        assert tail.text_content() == "\n".join(OUTPUT[-20:])  # the last twenty lines
    for who, page in pages.items():
        expect(page.locator(card)).to_have_attribute("data-state", "done", timeout=ROUND_TRIP_MS)
        expect(in_card(page, step, "run-status")).to_have_text("Succeeded", timeout=ROUND_TRIP_MS)
        expect(in_card(page, step, "step-outcome")).to_contain_text("Done by backend")
        assert page.evaluate("window.__sameDocument") is True, f"{who}'s page was reloaded"
    finished_s = time.monotonic() - clicked

    # Each responder's page saw the output grow: a tail mid-way was on screen.
    streamed = {}
    for who, page in (("engineer", eng_page), ("IC", ic_page)):
        tails: list[str] = page.evaluate("window.__tails")
        midway = [t for t in tails if "line 10" in t and "all done" not in t]
        assert midway, f"{who}'s page never showed the output mid-way: {tails}"
        streamed[who] = len(tails)
    report(
        capsys,
        f"Approve shown to the IC {approve_shown_s * 1000:.0f} ms after Run;"
        f" run to green on every page {finished_s:.1f} s; distinct tails shown:"
        f" engineer {streamed['engineer']}, IC {streamed['IC']}",
    )

    # The PM followed the states, never the output: not on screen, not on the wire.
    expect(pm_page.locator("pre.run-tail")).to_have_count(0)
    expect(pm_page.locator("a.log-link")).to_have_count(0)
    assert "line 1" not in pm_page.content()
    assert eng_page.evaluate("window.__sawOutput") is True
    assert pm_page.evaluate("window.__sawOutput") is False
    # Pushed fragments, not the live-state frames (JSON) every socket gets.
    assert [f for f in pm_frames if not f.startswith("{")], "the PM's socket got no push"
    assert not [f for f in pm_frames if "line 1" in f or "run-tail" in f]

    # The full log: every line, as printed, for the engineer; refused to the PM.
    link = eng_page.locator(f"{card} a.log-link")
    expect(link).to_have_text(f"Full log ({len(OUTPUT)} lines)")
    href = link.get_attribute("href")
    assert href == reverse("incidents:run_log", args=[incident.pk, run.pk])
    base = eng_page.url.split("/incidents/")[0]
    log = eng_page.request.get(base + href)
    assert log.status == 200
    assert log.text() == "".join(f"{line}\n" for line in OUTPUT)
    assert pm_page.request.get(base + href).status == 403
