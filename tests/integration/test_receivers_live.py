"""Receivers on real processes: a real Alertmanager posting to uvicorn, hostile bodies
against uvicorn itself, and the IC's open page showing the proposal without a reload."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import make_version
from tests.integration.alertmanager import Alertmanager, alertmanager_binary, start_alertmanager
from tests.integration.processes import wait_for
from tests.triggers.conftest import TRIGGERED, am_alert, am_body
from triggers import services
from triggers.models import Alert, Proposal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs a loop in the test thread (shared/PITFALLS.md); module
    scope, so the transactional flush after each test has it too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def receiver(ic):
    runbook = make_version(TRIGGERED).runbook
    return services.create_receiver(
        kind="alertmanager", runbook=runbook, environment="staging", created_by=ic
    )


@pytest.fixture
def alertmanager(receiver, asgi_server, tmp_path: Path) -> Iterator[Alertmanager]:
    if alertmanager_binary() is None:
        pytest.skip("prometheus-alertmanager is not installed (bin/setup --dev installs it)")
    row, token = receiver
    manager = start_alertmanager(tmp_path, f"{asgi_server.url}/hooks/{row.hook_id}/", token)
    yield manager
    manager.stop()


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.timeout(90)
def test_alertmanager_fires_then_resolves_through_a_receiver(alertmanager):
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    alert = {
        "labels": {"alertname": "ApiErrorsHigh", "instance": "todo-api:8081", "job": "todo-api"},
        "annotations": {"summary": "API failing"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=errors",
    }
    sent = time.monotonic()
    alertmanager.post_alerts([alert])
    wait_for(lambda: Alert.objects.filter(status="firing").exists(), timeout=20, what="firing")
    fired_after = time.monotonic() - sent
    row = Alert.objects.get()
    assert row.trigger_key == "api_errors" and row.labels["instance"] == "todo-api:8081"
    assert row.source_url == alert["generatorURL"]
    proposal = Proposal.objects.get()
    assert proposal.status == "open" and row.proposal == proposal

    ended = datetime.now(UTC) - timedelta(seconds=1)
    alertmanager.post_alerts([{**alert, "endsAt": ended.isoformat().replace("+00:00", "Z")}])
    wait_for(lambda: Alert.objects.filter(status="resolved").exists(), timeout=30, what="resolved")
    assert Alert.objects.count() == 1 and Proposal.objects.count() == 1
    print(f"\nalertmanager → receiver: firing recorded {fired_after * 1000:.0f} ms after the post")


@pytest.mark.timeout(60)
def test_big_and_deep_bodies_are_refused_fast_with_bounded_memory(receiver, asgi_server):
    row, token = receiver
    url = f"{asgi_server.url}/hooks/{row.hook_id}/"
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    pid = asgi_server.proc.pid
    _post(url, am_body(am_alert()), auth)  # warm up
    rss_before = _rss_kb(pid)

    host, port = asgi_server.url.removeprefix("http://").split(":")
    chunk = b" " * 65536

    def raw_post(headers: str, chunked: bool) -> bytes:
        """Send 6 MB the way a sender would; the answer may come (and the socket close) first."""
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(
                f"POST /hooks/{row.hook_id}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\n{headers}\r\n".encode()
            )
            try:
                for _ in range(96):
                    conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                if chunked:
                    conn.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed before the rest
            return conn.recv(4096)

    started = time.perf_counter()
    answer = raw_post(f"Content-Length: {96 * len(chunk)}\r\n", chunked=False)
    big_ms = (time.perf_counter() - started) * 1000
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

    # Chunked, no Content-Length: refused once the limit has arrived, not after 6 MB.
    started = time.perf_counter()
    answer = raw_post("Transfer-Encoding: chunked\r\n", chunked=True)
    chunked_ms = (time.perf_counter() - started) * 1000
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

    deep = b'{"version": "4", "alerts": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    started = time.perf_counter()
    status, body = _post(url, deep, auth)
    deep_ms = (time.perf_counter() - started) * 1000
    assert status == 400 and "nested deeper" in body["error"]

    grown_kb = _rss_kb(pid) - rss_before
    assert big_ms < 1000 and chunked_ms < 1000 and deep_ms < 1000
    assert grown_kb < 16 * 1024, f"the server grew by {grown_kb} kB"
    assert Alert.objects.count() == 1  # the warm-up's alert only
    print(
        f"\n6 MB declared: {big_ms:.0f} ms; 6 MB chunked: {chunked_ms:.0f} ms; "
        f"10,000-deep: {deep_ms:.0f} ms; server RSS grew {grown_kb} kB"
    )


@pytest.mark.browser
@pytest.mark.timeout(90)
def test_the_ics_open_page_shows_the_proposal_without_reload(receiver, asgi_server, open_page, ic):
    row, token = receiver
    page = open_page(ic, "/")
    expect(page.locator("body")).to_have_attribute("data-notify", "open", timeout=10_000)
    expect(page.locator(".proposal-banner")).to_have_count(0)
    status, _ = _post(
        f"{asgi_server.url}/hooks/{row.hook_id}/",
        am_body(am_alert(instance="api-7")),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 200
    banner = page.locator(".proposal-banner")
    expect(banner).to_contain_text("Rollback proposed: Small rollback in staging", timeout=5000)
    expect(banner).to_contain_text("ApiErrorsHigh")
    expect(banner).to_contain_text("instance=api-7")
    # One click opens the incident, which records the alert.
    banner.get_by_role("button", name="Open the incident").click()
    expect(page).to_have_url(__import__("re").compile(r"/incidents/\d+/$"))
    expect(page.locator("body")).to_contain_text("ApiErrorsHigh fired")


@pytest.mark.timeout(60)
def test_concurrent_redeliveries_make_one_alert_and_one_proposal(receiver, asgi_server):
    from concurrent.futures import ThreadPoolExecutor

    row, token = receiver
    url = f"{asgi_server.url}/hooks/{row.hook_id}/"
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    same = am_body(am_alert(instance="same"))
    bodies = [same] * 8 + [am_body(am_alert(instance=f"other-{i}")) for i in range(8)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = [status for status, _ in pool.map(lambda b: _post(url, b, auth), bodies)]
    assert statuses == [200] * 16
    assert Alert.objects.filter(labels__instance="same").count() == 1
    assert Alert.objects.count() == 9
    assert Proposal.objects.count() == 1
