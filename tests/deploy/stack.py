"""compose.yaml brought up for real: our services on the host network, datastores of the test's own.

The test runs a compose file *derived* from compose.yaml: the ``postgres`` and ``redis``
services are dropped (the test gives a database of its own on the shared PostgreSQL and a
Redis database number of its own), ``migrate``, ``web``, ``worker`` and ``beat`` go on the
host network (Docker's default bridge is a private range, not to be used here), ``web``
listens on a free loopback port, and the test's runbook folder is mounted. Everything else
(commands, health checks, volumes, restart policies, dependency conditions) is compose.yaml's.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
OURS = ("migrate", "web", "worker", "beat")
DATASTORES = ("postgres", "redis")
RUNBOOKS_IN_CONTAINER = "/deploy-runbooks"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_DB = 13  # the deployment test's own Redis database number
# Short, so that an interruption is seen in seconds (config.settings.sweep_interval: lease/3).
LEASE_SECONDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def derive(source: dict[str, Any], *, runbooks: Path, docker_socket: str) -> dict[str, Any]:
    """compose.yaml's services minus the datastores, on the host network, with our runbooks."""
    derived = copy.deepcopy(source)
    services = derived["services"]
    for name in DATASTORES:
        services.pop(name)
    for name in DATASTORES:
        derived["volumes"].pop(f"{name}-data")
    for name, service in services.items():
        assert name in OURS, f"compose.yaml has a service the deployment test does not know: {name}"
        service.pop("build")  # the test builds the image itself (base image, wheels)
        service.pop("ports", None)  # nothing is published on the host network
        service["network_mode"] = "host"
        depends = service.get("depends_on", {})
        for datastore in DATASTORES:
            depends.pop(datastore, None)
        service.setdefault("volumes", []).append(f"{runbooks}:{RUNBOOKS_IN_CONTAINER}:ro")
    # The engine the test runs, at the path compose.yaml gives the worker.
    services["worker"]["volumes"] = [
        f"{docker_socket}:/var/run/docker.sock"
        if volume.endswith(":/var/run/docker.sock")
        else volume
        for volume in services["worker"]["volumes"]
    ]
    return derived


@dataclass
class Stack:
    """One compose project of the derived file; every call is ``docker-compose`` as an operator's."""

    workdir: Path
    project: str
    web_port: int
    env: dict[str, str]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def compose_env(self) -> dict[str, str]:
        return {
            **self.env,
            "COMPOSE_FILE": str(self.workdir / "compose.yaml"),
            "COMPOSE_PROJECT_NAME": self.project,
        }

    def shell(self, command: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A command line as a person would type it, in the stack's folder and environment."""
        return subprocess.run(
            ["bash", "-c", command],
            cwd=self.workdir,
            env=self.compose_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = self._compose(args, timeout)
        if done.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def compose_ok(self, *args: str, timeout: float = 60) -> bool:
        return self._compose(args, timeout).returncode == 0

    def _compose(self, args: tuple[str, ...], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker-compose", *args],
            cwd=self.workdir,
            env=self.compose_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-a", "-q", service).stdout.split()
        assert len(ids) == 1, f"{service}: containers {ids}"
        return ids[0]

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", service).stdout


def wait_until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if result := check():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def state(client: Any, container: str) -> dict[str, Any]:
    found: dict[str, Any] = client.api.inspect_container(container)["State"]
    return found


def health(client: Any, container: str) -> str:
    return str(state(client, container).get("Health", {}).get("Status", "none"))


def create_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def forget_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def write_stack(workdir: Path, *, image: str, database_url: str, docker_socket: str) -> Stack:
    """The derived compose file in ``workdir`` and the environment compose reads it with."""
    source = yaml.safe_load((ROOT / "compose.yaml").read_text())
    runbooks = Path(__file__).resolve().parent / "runbooks"
    derived = derive(source, runbooks=runbooks, docker_socket=docker_socket)
    port = free_port()
    derived["services"]["web"]["environment"].update(
        UVICORN_HOST="127.0.0.1", UVICORN_PORT=str(port)
    )
    (workdir / "compose.yaml").write_text(yaml.safe_dump(derived, sort_keys=False))
    project = f"ripcorddeploy{uuid.uuid4().hex[:8]}"
    prefix = f"{project}:"  # keys of this run on the shared Redis
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DOCKER_HOST": f"unix://{docker_socket}",
        "RIPCORD_IMAGE": image,
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "RIPCORD_BROKER_PREFIX": prefix,
        "RIPCORD_CHANNEL_PREFIX": prefix,
        "SECRET_KEY": f"deploy-test-{uuid.uuid4().hex}",
        "SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback: no TLS proxy in the test
        "RIPCORD_RUNBOOK_DIRS": f"/app/runbooks/library,{RUNBOOKS_IN_CONTAINER}",
        "RIPCORD_RUN_LEASE_SECONDS": str(LEASE_SECONDS),
        "DOCKER_GID": str(os.stat(docker_socket).st_gid),
    }
    return Stack(workdir=workdir, project=project, web_port=port, env=env)
