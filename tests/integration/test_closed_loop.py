"""The closed loop of issue 9 on real processes, each leg timed.

The demo target (created, backed up, served by its supervisor with /metrics) takes
demo users' traffic; a real Prometheus scrapes it every second with the rules
``manage.py export_alert_rules`` writes; a real Alertmanager (no gossip) routes what
fires to a receiver made by ``manage.py create_receiver``; uvicorn, a step worker
and the control worker (beat) run Ripcord. Then: the bad migration → Prometheus
sees the errors → its alert fires → Alertmanager posts → the IC's open page shows
the proposal without a reload → the IC opens MIG-002 from it → the scripted steps
restore the target → the error share falls back under the plan's 10 %. The test
prints each leg's time and the shares it measured (error share, p95) broken and
restored.

The runbook is a test copy of MIG-002 (loaded, and its rules exported) with short windows: 20 s
instead of 5 or 10 minutes, the performance baseline 60 s ending 20 s ago instead
of 30 minutes ending 10 minutes ago, and no ``for`` (``for_minutes: 0``), because a
test cannot wait minutes per leg, but for the performance trigger's one minute (a 20 s
p95 jitters on a busy machine; the loop runs on the error share). The thresholds and sample floors are the plan's,
unchanged. The copy also drops ``no_data: fire``: its absent() alert would fire in
the second between Prometheus's start and its first scrape, before any damage.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from demo.target import fingerprint_target
from demo_target import (
    apply_bad_migration,
    create_target,
    demo_credentials,
    drop_target,
    take_backup,
    traffic,
)
from incidents.models import Incident
from tests.integration import test_mig002_app_steps as app_steps
from tests.integration.alertmanager import Alertmanager, alertmanager_binary, start_alertmanager
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import (
    BROKER_URL,
    ROOT,
    free_port,
    sending_to,
    start_beat,
    start_server,
    start_worker,
    wait_for,
)
from tests.integration.prometheus import Prometheus, prometheus_binary, start_prometheus
from tests.integration.runs import assign, step_id
from tests.integration.test_drill_mig002 import CAST, wait_gate_holds
from tests.integration.test_mig002_app_steps import (
    ADMIN_DSN,
    BACKUP,
    PREFIX,
    TARGET_DB,
    TARGET_DSN,
    read_only,
    run_step,
    tick,
)
from triggers.models import Alert, Proposal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# That module's fixtures (the supervised app, the cast's API); the stack is this module's.
demo_app = app_steps.demo_app
api = app_steps.api

USERS, TASKS = 300, 1800  # demo accounts 100, 200 (its hash is one the migration cuts), 300
RATE = 20  # requests/s of traffic, at most
WINDOW = "20s"
HEALTHY_SECONDS = 40  # healthy traffic before the damage
REQUESTS = f'sum(increase(http_requests_total{{job="todo-api"}}[{WINDOW}]))'


def error_share(window: str = WINDOW) -> str:
    """The api_errors rule's query over ``window``."""
    return (
        f'(sum(rate(http_requests_total{{job="todo-api",status=~"5.."}}[{window}])) or vector(0))'
        f' / sum(rate(http_requests_total{{job="todo-api"}}[{window}]))'
    )


def p95(window: str = WINDOW) -> str:
    return (
        "histogram_quantile(0.95, sum by (le)"
        f' (rate(http_request_duration_seconds_bucket{{job="todo-api"}}[{window}])))'
    )


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs a loop in the test thread (shared/PITFALLS.md)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def healthy_target() -> Iterator[None]:
    """The todo database before the migration and its backup; the test breaks it."""
    if prometheus_binary() is None or alertmanager_binary() is None:
        pytest.skip("prometheus / prometheus-alertmanager are not installed (bin/setup --dev)")
    create_target(ADMIN_DSN, TARGET_DB, users=USERS, tasks=TASKS, seed=5)
    take_backup(TARGET_DSN, BACKUP)
    BACKUP.with_suffix(".fingerprint.json").write_text(
        json.dumps(fingerprint_target(TARGET_DSN), sort_keys=True)
    )
    yield
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:  # a failed test may leave it so
        conn.execute(f'ALTER DATABASE "{TARGET_DB}" RESET default_transaction_read_only')
    drop_target(ADMIN_DSN, TARGET_DB)


@pytest.fixture(scope="module")
def prometheus_port() -> int:
    """Where this module's Prometheus will listen: uvicorn is told before it starts."""
    return free_port()


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, demo_app, prometheus_port) -> Iterator[str]:
    """uvicorn (which measures against this module's Prometheus when the IC asks) and the
    step worker (default and database queues), as test_mig002_app_steps runs them."""
    overrides = {
        "RIPCORD_BROKER_PREFIX": PREFIX,
        "RIPCORD_ENV_DEMO_PGDATABASE": TARGET_DB,
        "RIPCORD_ENV_DEMO_TARGET_DATABASE_URL": TARGET_DSN,
        "RIPCORD_ENV_DEMO_TARGET_ADMIN_URL": TARGET_DSN
        + "?options=-c%20default_transaction_read_only%3Doff",
        "RIPCORD_ENV_DEMO_BACKUP_FILE": str(BACKUP),
        "RIPCORD_ENV_DEMO_APP_URL": demo_app.url,
        "RIPCORD_ENV_DEMO_APP_REPO_DIR": str(demo_app.repo_dir),
        "RIPCORD_ENV_DEMO_APP_DEPLOY_DIR": str(demo_app.deploy_dir),
    }
    prometheus_url = f"http://127.0.0.1:{prometheus_port}"
    with django_db_blocker.unblock():
        server = start_server(
            ARTIFACTS, RIPCORD_BROKER_PREFIX=PREFIX, PROMETHEUS_URL=prometheus_url
        )
        worker = start_worker(ARTIFACTS, queues="default,database", **overrides)
    try:
        with sending_to(BROKER_URL, PREFIX):
            yield server.url
    finally:
        worker.stop()
        server.stop()


@pytest.fixture
def control_worker(stack, prometheus_port) -> Iterator[None]:
    """The control queue's worker with beat, on the stack's broker prefix.

    Its rounds of Ripcord's own rule evaluation and of the criteria's measuring come once
    an hour here (RIPCORD_TRIGGER_INTERVAL), so in this test the proposal comes from
    Alertmanager and the measurements from the IC's "Measure now"; the beat doing each is
    tested on its own (test_evaluation_beat.py, criteria9's tests)."""
    beat = start_beat(
        ARTIFACTS,
        RIPCORD_BROKER_PREFIX=PREFIX,
        PROMETHEUS_URL=f"http://127.0.0.1:{prometheus_port}",
        RIPCORD_TRIGGER_INTERVAL="3600",
    )
    yield
    beat.stop()


def short_window_copy(tmp_path: Path) -> Path:
    """A copy of MIG-002 with the short windows the module docstring describes; its file."""
    folder = tmp_path / "mig-002"
    shutil.copytree(ROOT / "runbooks" / "library" / "mig-002", folder)
    spec = folder / "runbook.yaml"
    text = spec.read_text()
    text = text.replace("[30m] offset 10m", f"[60s] offset {WINDOW}")
    # The performance trigger's samples are counted in its baseline window here, not in the
    # current one: the baseline ([60s] offset 20s) starts out holding the traffic's first
    # seconds only, and a p95 from a few dozen requests once fired the trigger on healthy
    # traffic (the current window had its 200 samples; the baseline had ~40).
    count = 'sum(increase(http_request_duration_seconds_count{job="todo-api"}'
    assert f"{count}[10m]))" in text
    text = text.replace(f"{count}[10m]))", f"{count}[60s] offset {WINDOW}))")
    text = re.sub(r"\[(5|10)m\]", f"[{WINDOW}]", text)
    text = re.sub(r"(\n +)for_minutes: \d+", r"\1for_minutes: 0", text)
    # But the performance trigger holds one minute: a 20 s p95 on a busy CI machine (the
    # browser, the load, Prometheus) can jitter past 1.5x its baseline for a scrape or two,
    # and once proposed a rollback on healthy traffic here. The loop runs on api_errors.
    held = "threshold: 1.5\n      for_minutes: 0\n      min_samples: 200"
    assert text.count(held) == 1
    text = text.replace(held, held.replace("for_minutes: 0", "for_minutes: 1"))
    # The success criteria's metric checks (criteria9): the same windows, no hold. The p95
    # baseline is the 30 s that ended 15 s before the incident opened (the library's margin,
    # "+30m", shortened like the windows): ending at the opening, it would hold the ~9 s of
    # the broken target before it, enough to be its top 5 % and make the baseline the broken
    # p95 itself.
    bucket = 'http_request_duration_seconds_bucket{job="todo-api"}'
    library = f"rate({bucket}[30m] offset $incident_offset+30m)"
    assert library in text
    text = text.replace(library, f"rate({bucket}[30s] offset $incident_offset+15s)")
    text = re.sub(r"(\n +)hold_minutes: \d+", r"\1hold_minutes: 0", text)
    text = text.replace("no_data: fire", "no_data: inconclusive")
    spec.write_text(text)
    return spec


def exported_rules(spec: Path, tmp_path: Path) -> Path:
    """``manage.py export_alert_rules`` of the copy: the file Prometheus loads."""
    rules = tmp_path / "mig-002.rules.yml"
    call_command("export_alert_rules", str(spec), "--output", str(rules))
    group = yaml.safe_load(rules.read_text())["groups"][0]["rules"]
    [api_errors] = [r for r in group if r["alert"] == "api_errors"]
    assert "> 0.1\nand on() (sum(increase(http_requests_total" in api_errors["expr"]  # 10 %
    assert f"[{WINDOW}]" in api_errors["expr"] and "for" not in api_errors
    return rules


class Load:
    """The demo users' traffic (demo_target.traffic) on a thread, at RATE at most."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.thread: threading.Thread | None = None
        self.halt = threading.Event()

    def start(self, *, writes: bool) -> None:
        self.stop()
        self.halt = threading.Event()
        self.thread = threading.Thread(
            target=traffic.run,
            args=(self.url, demo_credentials(USERS)),
            kwargs={"rate": RATE, "seconds": 470, "stop": self.halt, "writes": writes},
            daemon=True,
        )
        self.thread.start()

    def is_alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        self.halt.set()
        if self.thread is not None:
            self.thread.join(timeout=15)


def receiver_for(base_url: str) -> tuple[str, str]:
    out = io.StringIO()
    call_command(
        "create_receiver",
        "--kind=alertmanager",
        "--runbook=mig-002",
        "--environment=demo",
        f"--base-url={base_url}",
        stdout=out,
    )
    url, token = out.getvalue().splitlines()[:2]
    return url, token


def value(prometheus: Prometheus, expr: str) -> float | None:
    try:
        result = prometheus.query(expr)
    except (OSError, ValueError):
        return None
    if not result:
        return None
    number = float(result[0]["value"][1])  # type: ignore[index]
    return None if number != number else number  # NaN: no requests in the window


def open_page_as(browser: Browser, session_cookie, base_url: str, username: str) -> Page:
    user = get_user_model().objects.get(username=username)
    context = browser.new_context()
    context.set_default_timeout(10_000)
    context.add_cookies([session_cookie(user, base_url)])
    page = context.new_page()
    page.goto(base_url + "/")
    return page


@pytest.mark.browser
@pytest.mark.timeout(480)
def test_closed_loop_alert_to_proposal_to_rollback_to_recovery(
    healthy_target,
    demo_app,
    stack,
    api,
    control_worker,
    prometheus_port,
    browser,
    session_cookie,
    tmp_path,
    capsys,
):
    spec = short_window_copy(tmp_path)
    call_command("load_runbooks", str(spec.parent), verbosity=0)
    api("ic")  # the cast exists: create_receiver records the first commander
    hook_url, token = receiver_for(stack)
    manager: Alertmanager = start_alertmanager(tmp_path / "alertmanager", hook_url, token)
    port = int(demo_app.url.rsplit(":", 1)[1])
    prometheus = start_prometheus(
        tmp_path / "prometheus",
        port,
        rule_files=(exported_rules(spec, tmp_path),),
        alertmanager_url=manager.url,
        port=prometheus_port,
    )
    load = Load(demo_app.url)
    legs: list[tuple[str, float]] = []
    shares: dict[str, tuple[float | None, float | None]] = {}
    evidence: dict[str, str] = {}
    try:
        load.start(writes=True)
        load_started = time.monotonic()
        # Healthy: a full window of traffic and no error, so nothing fires before the damage,
        # and long enough for the p95 baseline (30 s ending 15 s before the incident opens).
        wait_for(
            lambda: (
                time.monotonic() - load_started > HEALTHY_SECONDS
                and (value(prometheus, REQUESTS) or 0) >= 200
            ),
            timeout=HEALTHY_SECONDS + 60,
            what="a window of healthy traffic in Prometheus",
            interval=0.5,
        )
        shares["healthy"] = (value(prometheus, error_share()), value(prometheus, p95()))
        assert shares["healthy"][0] == 0, shares
        page = open_page_as(browser, session_cookie, stack, "ic")
        expect(page.locator("body")).to_have_attribute("data-notify", "open", timeout=10_000)
        early = [(p.pk, [a.alertname for a in p.alerts.all()]) for p in Proposal.objects.all()]
        assert not early, f"proposed on healthy traffic: {early} {shares}"
        expect(page.locator(".proposal-banner")).to_have_count(0)

        started = time.monotonic()

        def leg(name: str) -> None:
            legs.append((name, time.monotonic() - started))

        apply_bad_migration(TARGET_DSN)
        leg("bad migration applied")
        broken_since = time.monotonic()
        wait_for(
            lambda: (value(prometheus, error_share()) or 0) > 0.10,
            timeout=60,
            what="Prometheus to see >10 % of requests failing",
            interval=0.25,
        )
        leg("Prometheus sees >10 % errors")
        wait_for(
            lambda: prometheus.has('ALERTS{alertname="api_errors",alertstate="firing"}'),
            timeout=60,
            what="the api_errors alert to fire",
            interval=0.25,
        )
        leg("api_errors alert firing")
        wait_for(
            lambda: Alert.objects.filter(alertname="api_errors", status="firing").exists(),
            timeout=60,
            what="Alertmanager's post to reach the receiver",
            interval=0.1,
        )
        leg("Alertmanager posted (alert recorded)")
        banner = page.locator(".proposal-banner")
        expect(banner).to_contain_text("Rollback proposed:", timeout=10_000)
        expect(banner).to_contain_text("api_errors")
        leg("banner on the IC's open page")
        proposal = Proposal.objects.get()
        assert proposal.runbook.slug == "mig-002" and proposal.environment == "demo"

        banner.get_by_role("button", name="Open the incident").click()
        expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
        iid = int(page.url.rstrip("/").rsplit("/", 1)[1])
        leg("IC opened MIG-002 from the banner")
        opened = Incident.objects.get(pk=iid)
        assert opened.runbook_version.runbook.slug == "mig-002" and not opened.is_drill
        # The broken target alone: the window since the migration, before any step ran.
        since = f"{int(time.monotonic() - broken_since)}s"
        shares["broken"] = (value(prometheus, error_share(since)), value(prometheus, p95(since)))

        # From the rollback on, the users read (log in, list) but write nothing: MIG-002's
        # "API and data consistency" compares the tasks with the backup row for row, so a
        # task created after the restore would fail it (the check cannot tell a user's new
        # task from damage). The failing share and p95 were measured above, with writes.
        load.start(writes=False)
        incident = api("ic").get(f"/incidents/{iid}").json()
        for role, who in CAST:
            assign(api, incident, role, who)
        rollback_steps(api, incident)
        leg("scripted steps restored the target")

        wait_for(
            lambda: (share := value(prometheus, error_share())) is not None and share < 0.10,
            timeout=90,
            what="the error share to fall under 10 %",
            interval=0.5,
        )
        leg("metrics recovered (<10 % errors)")

        # Phase 4: the validations pass, and the criteria's metric checks are measured.
        finish_the_plan(api, incident)
        leg("last phase reached, validations passed")
        # The validations have passed: the users write again, so the p95 measured from here
        # is over the same mix of requests (logins, lists, creates, updates) as the baseline.
        load.start(writes=True)
        for key in ("core_functionality_works", "performance_baseline"):
            evidence[key] = measure_until_met(page, api, iid, key)
            leg(f"{key} met from measurement")
        resolved = api("ic").post(f"/incidents/{iid}/resolve", {"reason": ""})
        assert resolved.status_code == 200, resolved.body
        assert resolved.json()["status"] == "resolved"
        leg("resolved without an override")
        # A full window after the restart: what the restored target serves, not the restart.
        wait_for(
            lambda: value(prometheus, error_share()) == 0,
            timeout=60,
            what="a window without errors",
            interval=0.5,
        )
        shares["restored"] = (value(prometheus, error_share()), value(prometheus, p95()))
        assert load.is_alive(), "the traffic generator stopped"
        page.context.close()
    finally:
        load.stop()
        prometheus.stop()
        manager.stop()
        report_legs(capsys, legs, shares, evidence)  # a failed run's legs are news too

    broken_share, broken_p95 = shares["broken"]
    restored_share, restored_p95 = shares["restored"]
    assert broken_share is not None and broken_share > 0.10
    assert restored_share == 0
    # p95 is reported, not compared: on a shared CI machine a window's p95 moves with the
    # machine's load (tests/demo_target/test_traffic.py compares it on a quiet target).
    assert broken_p95 and restored_p95


def rollback_steps(api, incident: dict[str, Any]) -> None:
    """MIG-002's phases 1 to 3 as the drill runs them: the restore and the application's."""
    iid = incident["id"]
    tick(api, incident, "disable_new_endpoints", "backend")
    tick(api, incident, "activate_maintenance_mode", "frontend")
    tick(api, incident, "scale_down_new_services", "devops")
    tick(api, incident, "monitor_alerts", "devops")
    run_step(api, incident, "stop_writes", "sysadmin")
    assert read_only() == "on"
    confirmed = api("sysadmin").post(
        f"/incidents/{iid}/safeguards/backup_stored_separately/confirm",
        {"note": "closed loop: the backup sits on the second volume"},
    )
    assert confirmed.status_code == 200, confirmed.body
    wait_gate_holds(api, incident, "restore_database")
    run_step(api, incident, "restore_database", "sysadmin", approver="ic")
    run_step(api, incident, "verify_data_integrity", "backend")
    tick(api, incident, "update_schema", "sysadmin")
    run_step(api, incident, "deploy_previous_version", "devops")
    tick(api, incident, "update_configuration", "devops")
    run_step(api, incident, "lift_read_only", "devops")
    assert read_only() == "off"
    run_step(api, incident, "restart_services", "devops")
    assert step_id(incident, "restart_services")


def finish_the_plan(api, incident: dict[str, Any]) -> None:
    """The rest of phase 3 and phase 4's steps, and the sign-offs, as the drill does them."""
    iid = incident["id"]
    tick(api, incident, "verify_functionality", "backend")
    for key in ("revert_stable_build", "update_api_endpoints", "clear_user_caches"):
        tick(api, incident, key, "frontend")
    tick(api, incident, "test_user_workflows", "frontend")
    for key in ("smoke_tests", "verify_auth", "api_data_consistency"):
        run_step(api, incident, key, "backend")
    tick(api, incident, "performance_tests", "devops")
    criteria = api("ic").get(f"/incidents/{iid}/criteria").json()["criteria"]
    signers = {"product_manager": "pm", "backend_engineer": "backend", "devops_engineer": "devops"}
    for criterion in criteria:
        if criterion["signoff_role"]:
            signed = api(signers[criterion["signoff_role"]]).post(
                f"/incidents/{iid}/criteria/{criterion['id']}/signoff"
            )
            assert signed.status_code == 200, signed.body


def measure_until_met(page: Page, api, iid: int, criterion: str, timeout: float = 120) -> str:
    """The IC presses "Measure now" on the criterion until every metric check of it is met.

    A check not met yet (a window still holding the restart, too few samples) is measured
    again a few seconds later, as a person would. Returns the last measurement's evidence."""
    deadline = time.monotonic() + timeout
    while True:
        with page.expect_response(lambda r: "/measure/" in r.url) as answer:
            page.get_by_test_id(f"measure-{criterion}").click()
        assert answer.value.status == 200
        found = api("ic").get(f"/incidents/{iid}/criteria").json()["criteria"]
        [status] = [c for c in found if c["key"] == criterion]
        if status["metrics"] and all(m["met"] for m in status["metrics"]):
            return "; ".join(m["evidence"] for m in status["metrics"])
        if time.monotonic() > deadline:
            raise AssertionError(f"{criterion} not met: {status['metrics']}")
        time.sleep(3)


def report_legs(
    capsys,
    legs: list[tuple[str, float]],
    shares: dict[str, tuple[float | None, float | None]],
    evidence: dict[str, str],
) -> None:
    lines = ["closed loop, seconds since the bad migration:"]
    previous = 0.0
    for name, at in legs:
        lines.append(f"  {name:<40} {at:7.1f}  (+{at - previous:5.1f})")
        previous = at
    for label, (share, p95) in shares.items():
        share_text = "n/a" if share is None else f"{share:.1%}"
        p95_text = "n/a" if p95 is None else f"{p95 * 1000:.1f} ms"
        lines.append(f"  {label:<9} error share {share_text:>6}, p95 {p95_text}")
    for key, words in evidence.items():
        lines.append(f"  {key}: {words}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
