"""A private Prometheus for tests (Debian's ``prometheus``) scraping a /metrics the test controls."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, start_http_server

from tests.integration.processes import free_port, wait_for


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


@dataclass
class TodoMetrics:
    """What a todo API exports: ``http_requests_total{job, status}``, served on 127.0.0.1.

    ``traffic(ok, failing)`` sets how many requests per tick (0.1 s) a background thread
    counts, so rates in Prometheus are what the test says.
    """

    port: int
    server: WSGIServer
    requests: Counter
    _rates: tuple[int, int] = (0, 0)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def traffic(self, ok: int, failing: int) -> None:
        self._rates = (ok, failing)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            ok, failing = self._rates
            self.requests.labels(status="200").inc(ok)
            self.requests.labels(status="503").inc(failing)

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def serve_metrics() -> TodoMetrics:
    registry = CollectorRegistry()
    requests = Counter(
        "http_requests", "Requests by status", ["status"], registry=registry
    )  # exported as http_requests_total
    requests.labels(status="200")
    requests.labels(status="503")
    port = free_port()
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    return TodoMetrics(port=port, server=server, requests=requests)


@dataclass
class Prometheus:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def query(self, expr: str) -> list[dict[str, object]]:
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            return list(json.loads(response.read())["data"]["result"])

    def has(self, expr: str) -> bool:
        try:
            return bool(self.query(expr))
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_prometheus(
    folder: Path,
    metrics_port: int,
    *,
    rule_files: tuple[Path, ...] = (),
    alertmanager_url: str | None = None,
    port: int | None = None,
) -> Prometheus:
    """Prometheus on 127.0.0.1, scraping ``metrics_port`` every second as job "todo-api".

    With ``rule_files`` it evaluates them every second, and sends what fires to
    ``alertmanager_url`` (``http://127.0.0.1:PORT``) when given. ``port``: where it
    listens, when a process started before it must be told (default: a free one).
    """
    binary = prometheus_binary()
    assert binary, "prometheus is not installed (bin/setup --dev installs it)"
    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "todo-api", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}
        ],
    }
    if rule_files:
        config["rule_files"] = [str(path) for path in rule_files]
    if alertmanager_url:
        target = alertmanager_url.removeprefix("http://")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = port or free_port()
    log_path = folder / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    prometheus = Prometheus(proc=proc, url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        wait_for(
            lambda: proc.poll() is None and prometheus.has('up{job="todo-api"} == 1'),
            timeout=60,
            what="Prometheus to scrape the test's /metrics",
            interval=0.2,
        )
    except TimeoutError:
        prometheus.stop()
        raise AssertionError(log_path.read_text()[-3000:]) from None
    return prometheus


def refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.URLError:
        return True
    return False
