"""compose.yaml validates offline (`docker-compose config`); nothing is pulled or started."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")

pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (bin/setup --dev installs it)"
)

REQUIRED = {
    "SECRET_KEY": "test-only",
    "POSTGRES_PASSWORD": "test-only",
    "DATABASE_URL": "postgres://ripcord:test-only@postgres:5432/ripcord",
}
APP_SERVICES = ("web", "worker", "beat")


def compose(*args: str, env: dict[str, str], env_file: Path) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    # Only PATH from this process: a developer's exported variables or .env must not decide.
    return subprocess.run(
        [COMPOSE, "--env-file", str(env_file), "-f", "compose.yaml", *args],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def empty_env_file(tmp_path: Path) -> Path:
    path = tmp_path / "empty.env"
    path.write_text("")
    return path


@pytest.fixture
def rendered(empty_env_file: Path) -> dict[str, Any]:
    result = compose("config", env=REQUIRED, env_file=empty_env_file)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_config_is_valid_with_required_variables():
    # The exact command CI runs (.ci/run), with the variables compose.yaml requires.
    result = subprocess.run(
        [COMPOSE or "docker-compose", "-f", "compose.yaml", "config", "-q"],
        cwd=ROOT,
        env={**os.environ, **REQUIRED},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_config_is_valid_with_env_example():
    result = compose("config", "-q", env={}, env_file=ROOT / ".env.example")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_compose_config_refuses_missing_required_variable(empty_env_file, missing):
    env = {name: value for name, value in REQUIRED.items() if name != missing}
    result = compose("config", "-q", env=env, env_file=empty_env_file)
    assert result.returncode != 0
    assert missing in result.stderr


def test_compose_services_have_healthchecks(rendered):
    services = rendered["services"]
    for name in ("postgres", "redis", *APP_SERVICES):
        assert services[name].get("healthcheck", {}).get("test"), name


def test_compose_app_services_wait_for_healthy_datastores_and_migrations(rendered):
    for name in APP_SERVICES:
        depends = rendered["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_compose_mounts_docker_socket_only_into_worker(rendered):
    with_socket = {
        name
        for name, service in rendered["services"].items()
        if any("docker.sock" in str(volume) for volume in service.get("volumes", []))
    }
    assert with_socket == {"worker"}


def test_compose_worker_consumes_default_queue_with_prefetch_one(rendered):
    command = " ".join(rendered["services"]["worker"]["command"])
    assert "celery -A config worker" in command
    assert "--prefetch-multiplier=1" in command
    assert '--queues="default' in command


def test_compose_app_services_get_secret_from_environment(rendered):
    for name in (*APP_SERVICES, "migrate"):
        environment = rendered["services"][name]["environment"]
        assert environment["SECRET_KEY"] == REQUIRED["SECRET_KEY"]
        assert environment["DATABASE_URL"] == REQUIRED["DATABASE_URL"]
        assert environment["RIPCORD_DEMO"] == "false"


def test_compose_beat_runs_inside_the_worker_of_the_control_queue_only(rendered):
    beat = rendered["services"]["beat"]
    command = beat["command"]
    assert command[:4] == ["celery", "-A", "config", "worker"]
    assert "--beat" in command
    assert "--queues=control" in command and "--concurrency=1" in command
    assert "--hostname=control@%h" in command
    # Healthy means that worker answers over the broker, not merely that Redis does.
    assert "inspect ping" in beat["healthcheck"]["test"][1]
    assert "--destination control@$$HOSTNAME" in beat["healthcheck"]["test"][1]


def test_compose_step_worker_never_consumes_the_control_queue(rendered):
    command = " ".join(rendered["services"]["worker"]["command"])
    assert "control" not in command


def worker_queues(rendered: dict[str, Any]) -> str:
    """The --queues the worker's shell command really passes, run with its environment."""
    worker = rendered["services"]["worker"]
    assert worker["command"][:2] == ["sh", "-c"]
    # `compose config` prints $$ (a literal $ for the container's shell) as it is written.
    script = worker["command"][2].replace("$$", "$").replace("exec celery", "exec echo", 1)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **worker["environment"]}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=True)
    [queues] = [arg for arg in done.stdout.split() if arg.startswith("--queues=")]
    return queues.removeprefix("--queues=")


def test_compose_worker_consumes_default_and_database_out_of_the_box(rendered):
    # MIG-002's restore says `queue: database`: on one host it must not wait forever.
    assert worker_queues(rendered) == "default,database"


def test_compose_worker_queues_follow_env_example():
    result = compose("config", env={}, env_file=ROOT / ".env.example")
    assert result.returncode == 0, result.stderr
    assert worker_queues(yaml.safe_load(result.stdout)) == "default,database"


def test_compose_worker_may_leave_database_to_a_worker_next_to_it(empty_env_file):
    result = compose(
        "config", env={**REQUIRED, "RIPCORD_WORKER_QUEUES": ""}, env_file=empty_env_file
    )
    assert result.returncode == 0, result.stderr
    assert worker_queues(yaml.safe_load(result.stdout)) == "default"


def test_compose_web_sends_pushes_uncompressed_by_default(rendered):
    """Per-socket permessage-deflate was most of a push's CPU (bench/README.md)."""
    assert rendered["services"]["web"]["environment"]["UVICORN_WS_PER_MESSAGE_DEFLATE"] == "false"
