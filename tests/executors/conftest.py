"""Fixtures for the executor tests: executions in a temp workdir, and a real Docker engine.

The executors take plain data, so none of this touches Django's database.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from runbooks.executors import Execution

DOCKER_SOCKET = "/tmp/ripcord-docker.sock"
DOCKER_URL = f"unix://{DOCKER_SOCKET}"
DOCKERD_LOG = Path("/tmp/ripcord-dockerd.log")
TEST_IMAGE = "ripcord-busybox:test"


def never() -> bool:
    return False


def closed_port() -> int:
    """A port nothing listens on: bound by us, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Lines(list[str]):
    """An ``emit`` that records output, for executors run in the test's own thread.

    ``data`` is every byte, as emitted; the items are the complete lines so far, decoded
    (an unfinished last line is only in ``data``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self._open = bytearray()

    def __call__(self, data: bytes) -> None:
        assert isinstance(data, bytes), f"emit takes bytes, got {type(data).__name__}"
        self.data += data
        self._open += data
        *done, rest = self._open.split(b"\n")
        self.extend(line.decode("utf-8", errors="replace") for line in done)
        self._open = bytearray(rest)


@pytest.fixture
def make_execution(tmp_path):
    """Build an Execution whose workdir is a fresh directory under tmp_path."""
    numbers = itertools.count(1)

    def make(command: dict[str, Any], **overrides: Any) -> Execution:
        number = next(numbers)
        fields: dict[str, Any] = {
            "run_id": number,
            "command": command,
            "env": {},
            "workdir": tmp_path / f"run-{number}",
            "timeout_seconds": 30.0,
        }
        fields.update(overrides)
        return Execution(**fields)

    return make


def missing_prerequisite(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail under CI, where the Docker tests must really run."""
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason}; under CI the Docker tests must run, not skip", pytrace=False)
    pytest.skip(reason)


def _engine_answers() -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=DOCKER_URL, timeout=5)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, OSError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A Docker client on our own dockerd, started (and later stopped) here if none answers.

    The daemon never creates the default bridge (--bridge=none): its private address range
    must not be used on these hosts. Containers use the "none" or "host" network.
    """
    import docker

    started: subprocess.Popen[bytes] | None = None
    if not _engine_answers():
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            missing_prerequisite("dockerd is not installed (apt-get install docker.io)")
        argv = [
            dockerd,
            "--bridge=none",
            "--iptables=false",
            "--data-root", "/tmp/ripcord-docker",
            "--host", DOCKER_URL,
            "--pidfile", "/tmp/ripcord-docker.pid",
            "--exec-root", "/tmp/ripcord-docker-exec",
        ]  # fmt: skip
        with DOCKERD_LOG.open("ab") as log:
            started = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while not _engine_answers():
            if started.poll() is not None or time.monotonic() > deadline:
                _stop(started)
                tail = DOCKERD_LOG.read_text(errors="replace")[-2000:]
                pytest.fail(f"dockerd did not come up; end of {DOCKERD_LOG}:\n{tail}")
            time.sleep(0.1)
    client = docker.DockerClient(base_url=DOCKER_URL, timeout=60)
    yield client
    client.close()
    if started is not None:
        _stop(started)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def busybox_image(docker_engine, tmp_path_factory) -> str:
    """A FROM-scratch image holding busybox: nothing can be pulled here."""
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        missing_prerequisite("/bin/busybox is missing (apt-get install busybox-static)")
    context = tmp_path_factory.mktemp("busybox-image")
    shutil.copy2(busybox, context / "busybox")
    (context / "Dockerfile").write_text(
        'FROM scratch\nADD busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
    )
    docker_engine.images.build(path=str(context), tag=TEST_IMAGE, network_mode="none", rm=True)
    return TEST_IMAGE
