"""/metrics: Prometheus text, request timing by route, the token, a worker's own endpoint,
and several processes adding up (prometheus-client's multiprocess mode, real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from common import metrics
from tests.common.conftest import URLS
from tests.prometheus import Scrape, scrape

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]

ROOT = Path(__file__).resolve().parents[2]
HTTP = "ripcord_http_request_duration_seconds"


def requests_of(now: Scrape, route: str, method: str = "GET", status: str = "2xx") -> float:
    return now.value(f"{HTTP}_count", route=route, method=method, status=status)


def test_metrics_parse_and_time_requests_by_route_name(client):
    before = scrape(client)
    assert client.get("/healthz").status_code == 200
    client.post("/healthz")  # 405
    after = scrape(client)
    assert requests_of(after, "healthz") == requests_of(before, "healthz") + 1
    assert (
        requests_of(after, "healthz", "POST", "4xx")
        == requests_of(before, "healthz", "POST", "4xx") + 1
    )
    assert "ripcord_http_request_duration_seconds" in after.families
    assert after.families[HTTP].type == "histogram"


def test_unrouted_requests_share_one_label(client):
    before = scrape(client)
    client.get("/no/such/page/12345")
    client.get("/static/css/ripcord.css")
    after = scrape(client)
    assert (
        requests_of(after, "unmatched", status="4xx")
        == requests_of(before, "unmatched", status="4xx") + 1
    )
    assert requests_of(after, "static") == requests_of(before, "static") + 1
    assert "12345" not in after.text


@pytest.mark.asyncio
async def test_async_requests_are_timed_too(async_client):
    before = Scrape((await async_client.get("/metrics")).content.decode())
    await async_client.get("/healthz")
    after = Scrape((await async_client.get("/metrics")).content.decode())
    assert requests_of(after, "healthz") == requests_of(before, "healthz") + 1


def test_token_when_set(client, settings):
    settings.RIPCORD_METRICS_TOKEN = "scrape-me"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Bearer"
    assert b"ripcord_" not in refused.content
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic scrape-me"}).status_code == 401
    scrape(client, Authorization="Bearer scrape-me")
    scrape(client, Authorization="bearer scrape-me")


def test_open_without_a_token_and_get_only(client, settings):
    settings.RIPCORD_METRICS_TOKEN = ""
    scrape(client)
    assert client.head("/metrics").status_code == 200
    assert client.post("/metrics").status_code == 405


def fetch(url: str, token: str = "") -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_worker_endpoint_serves_its_own_values_only():
    server = metrics.serve("127.0.0.1", 0, "worker-token")
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert fetch(url + "/metrics")[0] == 401
        assert fetch(url + "/other", "worker-token")[0] == 404
        status, body = fetch(url + "/metrics", "worker-token")
        assert status == 200
        now = Scrape(body.decode())
        assert "ripcord_http_request_duration_seconds" in now.families
        assert "ripcord_sweeper_actions" in now.families
        # What the database says is exposed by the web only: summing targets counts it once.
        assert "ripcord_step_runs" not in now.families
    finally:
        server.shutdown()
        server.server_close()


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


PROCESS = """
    from common import metrics
    from prometheus_client import Counter, Gauge

    things = Counter("ripcord_test_things", "Things done.")
    open_now = Gauge("ripcord_test_open", "Open now.", multiprocess_mode="livesum")
    things.inc({count})
    open_now.inc({count})
    {then}
"""


def test_processes_of_a_service_add_up(tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    # A process that counted 3 and held 3 open, then exited (died).
    gone = run_python(PROCESS.format(count=3, then="pass"), env)
    assert gone.returncode == 0, gone.stderr
    # Another one, alive while it is scraped.
    alive = run_python(PROCESS.format(count=4, then="print(metrics.exposition().decode())"), env)
    assert alive.returncode == 0, alive.stderr
    now = Scrape(alive.stdout)
    assert now.value("ripcord_test_things_total") == 7  # totals of the dead process stay
    assert now.value("ripcord_test_open") == 4  # what the dead process held open does not


def test_multiprocess_folder_must_exist(tmp_path):
    missing = tmp_path / "nowhere"
    result = run_python("import common.metrics", {"PROMETHEUS_MULTIPROC_DIR": str(missing)})
    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr and "is not a directory" in result.stderr
