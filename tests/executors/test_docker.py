"""Docker executor against a real engine (our own dockerd, no bridge network, no pulls)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from runbooks.executors import (
    Execution,
    ExecutorError,
    Outcome,
    StepCancelled,
    StepTimedOut,
    TransientExecutorError,
)
from runbooks.executors import docker as docker_module
from runbooks.executors._stream import Output, Watch
from runbooks.executors.docker import DockerExecutor
from tests.executors.conftest import DOCKER_URL, Lines, never

executor = DockerExecutor()


@pytest.fixture(autouse=True)
def engine_from_environment(monkeypatch):
    """The executor finds the engine the way a worker does: through DOCKER_HOST."""
    monkeypatch.setenv("DOCKER_HOST", DOCKER_URL)


@pytest.fixture
def run_id(docker_engine):
    """A run id no other test (or earlier session) used, and no container left with it after."""
    number = random.randrange(10**8, 10**9)
    yield number
    for container in labelled(docker_engine, number):
        container.remove(force=True)


def labelled(client: docker.DockerClient, run_id: int) -> list[Container]:
    return client.containers.list(all=True, filters={"label": f"ripcord.step_run={run_id}"})


def wait_for(condition: Callable[[], bool], seconds: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_docker_run_streams_output_records_exit_and_removes_container(
    docker_engine, busybox_image, make_execution, run_id
):
    execution = make_execution(
        {
            "action": "run",
            "image": busybox_image,
            "command": ["sh", "-c", "echo one; sleep 0.2; echo two >&2; exit 3"],
        },
        run_id=run_id,
        labels={"ripcord.incident": "7"},
    )
    lines = Lines()
    labels_while_running: list[dict[str, str]] = []

    def emit(data: bytes) -> None:
        if not lines.data:  # look at the container while it runs
            labels_while_running.extend(c.labels for c in labelled(docker_engine, run_id))
        lines(data)

    outcome = executor.run(execution, emit=emit, should_stop=never)
    assert lines == ["one", "two"]
    assert (outcome.succeeded, outcome.exit_code, outcome.summary) == (False, 3, "exit 3")
    assert len(labels_while_running) == 1
    assert labels_while_running[0]["ripcord.step_run"] == str(run_id)
    assert labels_while_running[0]["ripcord.incident"] == "7"
    assert labelled(docker_engine, run_id) == []  # removed afterwards


def test_docker_run_passes_variables_as_data_on_no_network(busybox_image, make_execution, run_id):
    hostile = f"$(touch /tmp/pwned-{uuid.uuid4()}); rm -rf /"
    execution = make_execution(
        {
            "action": "run",
            "image": busybox_image,
            "command": ["sh", "-c", 'echo "$HOSTILE"; echo "$EXTRA"; ls /sys/class/net'],
            "environment": {"EXTRA": "from the step"},
        },
        run_id=run_id,
        env={"HOSTILE": hostile, "EXTRA": "overridden"},
    )
    lines = Lines()
    outcome = executor.run(execution, emit=lines, should_stop=never)
    assert outcome.succeeded
    assert lines == [hostile, "from the step", "lo"]  # only loopback: network "none"


def test_docker_retry_follows_the_running_container_instead_of_starting_another(
    docker_engine, busybox_image, make_execution, run_id
):
    # What a crashed attempt left behind: a running container labelled with the run id.
    earlier = docker_engine.containers.run(
        busybox_image,
        ["sh", "-c", "echo first; while [ ! -e /go ]; do sleep 0.05; done; echo second"],
        labels={"ripcord.step_run": str(run_id)},
        network_mode="none",
        detach=True,
    )
    wait_for(
        lambda: (earlier.reload(), earlier.status)[1] == "running", what="the earlier container"
    )
    execution = make_execution(
        {"action": "run", "image": busybox_image, "command": ["echo", "A SECOND COPY"]},
        run_id=run_id,
    )
    lines = Lines()
    containers_seen: list[list[str | None]] = []

    def emit(data: bytes) -> None:
        lines(data)
        # Attached: only the earlier container exists; let it finish.
        if "first" in lines and not containers_seen:
            containers_seen.append([c.id for c in labelled(docker_engine, run_id)])
            assert earlier.exec_run(["touch", "/go"]).exit_code == 0  # no /tmp in the image

    outcome = executor.run(execution, emit=emit, should_stop=never)
    assert containers_seen == [[earlier.id]]
    assert lines[0].startswith("[ripcord] following")
    assert lines[1:] == ["first", "second"]
    assert outcome.succeeded
    assert outcome.evidence["attached"] is True
    assert labelled(docker_engine, run_id) == []


def test_docker_retry_collects_a_container_that_already_finished(
    docker_engine, busybox_image, make_execution, run_id
):
    earlier = docker_engine.containers.run(
        busybox_image,
        ["sh", "-c", "echo done before the crash; exit 5"],
        labels={"ripcord.step_run": str(run_id)},
        network_mode="none",
        detach=True,
    )
    earlier.wait(timeout=30)
    lines = Lines()
    outcome = executor.run(
        make_execution(
            {"action": "run", "image": busybox_image, "command": ["true"]}, run_id=run_id
        ),
        emit=lines,
        should_stop=never,
    )
    assert lines[1:] == ["done before the crash"]
    assert (outcome.exit_code, outcome.succeeded) == (5, False)
    assert labelled(docker_engine, run_id) == []


@pytest.mark.parametrize("stop", ["cancel", "timeout"])
def test_docker_cancel_and_timeout_stop_the_container(
    docker_engine, busybox_image, make_execution, run_id, monkeypatch, stop
):
    monkeypatch.setattr(docker_module, "STOP_GRACE_SECONDS", 1)  # sh as PID 1 ignores TERM
    execution = make_execution(
        {"action": "run", "image": busybox_image, "command": ["sh", "-c", "echo ready; sleep 300"]},
        run_id=run_id,
        timeout_seconds=2 if stop == "timeout" else 60,
    )
    lines = Lines()
    started = time.monotonic()
    expected = StepCancelled if stop == "cancel" else StepTimedOut
    with pytest.raises(expected):
        executor.run(
            execution, emit=lines, should_stop=lambda: stop == "cancel" and "ready" in lines
        )
    assert time.monotonic() - started < 20
    assert lines == ["ready"]
    assert labelled(docker_engine, run_id) == []


def test_docker_abandon_stops_the_running_container_of_the_run_and_keeps_it(
    docker_engine, busybox_image, make_execution, run_id
):
    # What a worker that died mid-step left: its run's container, still running.
    forever = ["sh", "-c", "trap 'exit 143' TERM; echo up; sleep 300 & wait"]
    execution = make_execution(
        {"action": "run", "image": busybox_image, "command": forever},
        run_id=run_id,
        instance="ripcord-a",
    )
    orphan = docker_module._create(docker_engine, execution)
    orphan.start()
    # The same run id in another installation sharing the engine: not ours to stop.
    neighbour = docker_engine.containers.run(
        busybox_image,
        forever,
        labels={"ripcord.step_run": str(run_id), "ripcord.instance": "ripcord-b"},
        network_mode="none",
        detach=True,
    )
    wait_for(lambda: "up" in orphan.logs().decode(), what="the orphaned container")
    assert orphan.labels["ripcord.instance"] == "ripcord-a"

    stopped = executor.abandon(run_id, instance="ripcord-a")

    assert stopped == f"stopped container ripcord-step-run-{run_id} (kept for its logs)"
    orphan.reload()
    neighbour.reload()
    assert (orphan.status, orphan.attrs["State"]["ExitCode"]) == ("exited", 143)
    assert neighbour.status == "running"
    assert executor.abandon(run_id, instance="ripcord-a") == ""  # only running ones count


def test_docker_abandon_without_an_engine_says_a_container_may_still_run(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/ripcord-docker.sock")
    stopped = executor.abandon(1, instance="ripcord-a")
    assert stopped.startswith("could not ask the Docker engine")
    assert stopped.endswith("a container may still run")


# A compose project name of this test run's own: test runs sharing one engine must not
# stop or remove each other's replicas.
PROJECT = f"mig{uuid.uuid4().hex[:8]}"


@pytest.fixture
def compose_api(docker_engine, busybox_image):
    """Two replicas of compose service mig/api, running `sleep 3600`, as compose labels them."""

    def replicas() -> list[Container]:
        found = docker_engine.containers.list(
            all=True,
            filters={
                "label": [f"com.docker.compose.project={PROJECT}", "com.docker.compose.service=api"]
            },
        )
        return sorted(found, key=lambda c: c.name)

    for leftover in replicas():
        leftover.remove(force=True)
    for number in (1, 2):
        docker_engine.containers.run(
            busybox_image,
            ["sleep", "3600"],
            name=f"{PROJECT}-api-{number}-{uuid.uuid4().hex[:8]}",
            labels={
                "com.docker.compose.project": PROJECT,
                "com.docker.compose.service": "api",
                "com.docker.compose.container-number": str(number),
            },
            network_mode="none",
            detach=True,
        )
    yield lambda: [c.status for c in replicas()]
    for container in replicas():
        container.remove(force=True)


def service(
    make_execution: Callable[..., Execution], action: str, **extra: Any
) -> tuple[Outcome, Lines]:
    command = {"action": action, "project": PROJECT, "service": "api", "stop_timeout": 1, **extra}
    lines = Lines()
    outcome = executor.run(make_execution(command), emit=lines, should_stop=never)
    return outcome, lines


def test_docker_scale_to_zero_stops_both_and_back_to_two_starts_them(compose_api, make_execution):
    assert compose_api() == ["running", "running"]
    outcome, lines = service(make_execution, "scale", replicas=0)
    assert outcome.succeeded
    assert compose_api() == ["exited", "exited"]
    assert len(lines) == 2
    assert all(
        line.startswith(f"stop {PROJECT}-api-") and line.endswith("running -> exited")
        for line in lines
    )

    outcome, lines = service(make_execution, "scale", replicas=2)
    assert outcome.succeeded
    assert compose_api() == ["running", "running"]
    assert [line.split()[0] for line in lines] == ["start", "start"]


def test_docker_scale_down_stops_the_highest_numbered_replica(compose_api, make_execution):
    outcome, lines = service(make_execution, "scale", replicas=1)
    assert compose_api() == ["running", "exited"]
    assert len(lines) == 1
    assert lines[0].startswith(f"stop {PROJECT}-api-2-")
    assert outcome.evidence["containers"][0]["after"] == "exited"


def test_docker_scale_beyond_existing_containers_fails_and_changes_nothing(
    compose_api, make_execution
):
    service(make_execution, "scale", replicas=0)
    with pytest.raises(ExecutorError, match="cannot create replicas"):
        service(make_execution, "scale", replicas=3)
    assert compose_api() == ["exited", "exited"]


def test_docker_stop_start_restart_touch_every_container(compose_api, make_execution):
    _, stopped = service(make_execution, "stop")
    assert compose_api() == ["exited", "exited"]
    _, started = service(make_execution, "start")
    assert compose_api() == ["running", "running"]
    _, restarted = service(make_execution, "restart")
    assert compose_api() == ["running", "running"]
    assert [len(stopped), len(started), len(restarted)] == [2, 2, 2]


def test_docker_service_without_containers_is_an_error(docker_engine, make_execution):
    with pytest.raises(ExecutorError, match="no containers"):
        executor.run(
            make_execution(
                {"action": "stop", "project": PROJECT, "service": f"nothing-{uuid.uuid4().hex}"}
            ),
            emit=Lines(),
            should_stop=never,
        )


@pytest.mark.parametrize(
    "command",
    [
        {"action": "run", "image": "ripcord-busybox:test", "command": ["true"]},
        {"action": "scale", "project": PROJECT, "service": "api", "replicas": 0},
    ],
)
def test_docker_unreachable_engine_is_transient(make_execution, monkeypatch, command):
    monkeypatch.setenv("DOCKER_HOST", f"unix:///tmp/ripcord-no-engine-{uuid.uuid4().hex}.sock")
    with pytest.raises(TransientExecutorError, match="engine unreachable"):
        executor.run(make_execution(command), emit=Lines(), should_stop=never)


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ({"action": "run", "image": "x", "network": "bridge"}, "'none' or 'host'"),
        ({"action": "run", "image": "x", "network": "mig_default"}, "'none' or 'host'"),
        ({"action": "run", "image": "x", "command": "rm -rf /"}, "list of strings"),
        ({"action": "run"}, "'image' is required"),
        ({"action": "run", "image": "x", "privileged": True}, "unknown key 'privileged'"),
        ({"action": "scale", "project": PROJECT, "service": "api"}, "'replicas'"),
        ({"action": "scale", "project": PROJECT, "service": "api", "replicas": -1}, "'replicas'"),
        ({"action": "stop", "project": PROJECT}, "'service' is required"),
        (
            {"action": "restart", "project": PROJECT, "service": "api", "replicas": 2},
            "only goes with",
        ),
        ({"action": "exec"}, "'action' must be one of"),
    ],
)
def test_docker_validate_reports_bad_commands(command, problem):
    assert any(problem in text for text in executor.validate(command))


def test_docker_validate_accepts_good_commands():
    assert (
        executor.validate({"action": "run", "image": "x", "command": ["a"], "network": "host"})
        == []
    )
    assert (
        executor.validate({"action": "scale", "project": "p", "service": "s", "replicas": 0}) == []
    )


def test_docker_wait_keeps_polling_while_the_container_runs(docker_engine, busybox_image, run_id):
    container = docker_engine.containers.run(
        busybox_image,
        ["sleep", "2"],  # longer than wait()'s one-second request timeout
        labels={"ripcord.step_run": str(run_id)},
        network_mode="none",
        detach=True,
    )
    polls = []

    def should_stop() -> bool:
        polls.append(time.monotonic())
        return False

    watch = Watch(should_stop, 30)
    assert docker_module._wait(container, watch, Output(Lines())) == 0
    assert len(polls) >= 2  # should_stop was asked again between the wait requests
