"""A private Prometheus Alertmanager for tests: on 127.0.0.1, no gossip, a generated config."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.processes import free_port, wait_for


def alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def config(webhook_url: str, token: str) -> str:
    """Group by alert identity, send at once (group_wait 0s), resolved ones too, with a bearer."""
    return json.dumps(
        {
            "route": {
                "receiver": "ripcord",
                "group_by": ["alertname", "instance"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "ripcord",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {"authorization": {"credentials": token}},
                        }
                    ],
                }
            ],
        }
    )  # JSON is YAML


@dataclass
class Alertmanager:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            self.url + "/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200, response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"alertmanager refused the alerts: {error.read()!r}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_alertmanager(folder: Path, webhook_url: str, token: str) -> Alertmanager:
    binary = alertmanager_binary()
    assert binary, "prometheus-alertmanager is not installed (bin/setup --dev installs it)"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alertmanager.yml").write_text(config(webhook_url, token))
    port = free_port()
    log_path = folder / "alertmanager.log"
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port on every interface
        ],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    manager = Alertmanager(proc, f"http://127.0.0.1:{port}", log_path)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"alertmanager exited:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(manager.url + "/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    wait_for(ready, timeout=20, what="alertmanager")
    return manager
