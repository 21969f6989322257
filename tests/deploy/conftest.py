"""Fixtures for the deployment test: images, the compose stack brought up, a commander signed in.

Needs root, Docker (docker.io), docker-compose (v1) and debootstrap: bin/setup --dev installs
them. Without them it skips on a developer's machine and fails under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.deploy import images
from tests.deploy.stack import (
    OURS,
    Stack,
    create_database,
    drop_database,
    forget_redis_keys,
    health,
    state,
    wait_until,
    write_stack,
)
from tests.deploy.web import Web
from tests.executors import conftest as executors

ROOT = Path(__file__).resolve().parents[2]
# The first run builds the base image, wheels and app image: allow for it in the first test.
TIMEOUT = 900

# The executor tests' engine: our own dockerd (no default bridge), started if none answers.
docker_engine = executors.docker_engine


def log(message: str) -> None:
    print(f"deploy: {message}", file=sys.stderr, flush=True)


def require_tools() -> None:
    if os.geteuid() != 0:
        executors.missing_prerequisite(
            "the deployment test runs debootstrap and dockerd: root only"
        )
    for tool, package in (
        ("debootstrap", "debootstrap"),
        ("docker-compose", "docker-compose"),
        ("docker", "docker.io"),
        ("dockerd", "docker.io"),
    ):
        if shutil.which(tool) is None:
            executors.missing_prerequisite(f"{tool} is not installed (apt-get install {package})")


@pytest.fixture(scope="session")
def app_image(docker_engine) -> str:
    require_tools()
    started = time.monotonic()
    builder = docker.DockerClient(base_url=executors.DOCKER_URL, timeout=900)
    try:
        base = images.base_image(builder, log)
        wheels = images.host_wheels(log)
        tag = images.app_image(builder, base, wheels, log)
    finally:
        builder.close()
    size = docker_engine.images.get(tag).attrs["Size"]
    log(f"images ready in {time.monotonic() - started:.1f}s; {tag} is {size / 1e6:.0f} MB")
    return tag


@pytest.fixture(scope="module")
def stack(docker_engine, app_image, tmp_path_factory) -> Iterator[Stack]:
    """compose.yaml's migrate, web, worker and beat up and healthy, on data of their own."""
    database = f"ripcord_deploy_{uuid.uuid4().hex[:8]}"
    database_url = create_database(database)
    workdir = tmp_path_factory.mktemp("deploy")
    stack = write_stack(
        workdir, image=app_image, database_url=database_url, docker_socket=executors.DOCKER_SOCKET
    )
    started = time.monotonic()
    try:
        stack.compose("up", "-d", "--no-build", timeout=300)
        wait_for_migrate_and_health(docker_engine, stack)
        log(f"stack healthy {time.monotonic() - started:.1f}s after `up`")
        yield stack
    finally:
        try:
            stack.compose("down", "-v", "--remove-orphans", timeout=120)
        finally:
            drop_database(database)
            forget_redis_keys(stack.env["RIPCORD_BROKER_PREFIX"])


def wait_for_migrate_and_health(client: Any, stack: Stack) -> None:
    migrate = stack.container("migrate")

    def migrated() -> bool:
        found = state(client, migrate)
        if found["Status"] == "exited" and found["ExitCode"] != 0:
            raise AssertionError(f"migrate failed:\n{stack.logs('migrate')}")
        return bool(found["Status"] == "exited")

    wait_until("the migrate job to complete", migrated, timeout=120)
    # Health checks run every 15 s (web) and 30 s (workers) from start: a worker still
    # starting at its first check (a loaded machine) is healthy at the second or third.
    for service in OURS[1:]:
        container = stack.container(service)

        def healthy(container: str = container, service: str = service) -> bool:
            status = health(client, container)
            if status == "unhealthy" or state(client, container)["Status"] != "running":
                raise AssertionError(f"{service} is {status}:\n{stack.logs(service)}")
            return status == "healthy"

        wait_until(f"{service} to be healthy", healthy, timeout=150)


@dataclass
class Commander:
    username: str
    password: str
    created: Any  # the README command's CompletedProcess
    web: Web


def readme_first_commander_command() -> str:
    """The README's command creating the first commander, exactly as written there."""
    readme = (ROOT / "README.md").read_text()
    found = re.findall(r"^(docker-compose exec .*createuser .*--group commanders.*)$", readme, re.M)
    assert len(found) == 1, f"README should give the first commander's command once: {found}"
    return str(found[0])


@pytest.fixture(scope="module")
def commander(stack) -> Commander:
    """The first commander, made with the README's own command, signed in with an API token."""
    command = readme_first_commander_command()
    [password_file] = re.findall(r"< (\S+)$", command)
    [username] = re.findall(r"createuser (\S+)", command)
    password = f"deploy {uuid.uuid4().hex} ✓"
    (stack.workdir / password_file).write_text(password + "\n")
    created = stack.shell(command)
    assert created.returncode == 0, created.stdout + created.stderr
    web = Web(stack.web_url)
    web.sign_in_and_make_token(username, password)
    return Commander(username, password, created, web)
