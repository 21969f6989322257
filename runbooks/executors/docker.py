"""Docker executor: one-off containers, and the containers of a compose service.

Commands:
``{"action": "run", "image": "...", "command": ["..."], "environment": {...}, "network": "none"}``;
``{"action": "scale", "project": "mig", "service": "api", "replicas": 2}``;
``{"action": "stop" | "start" | "restart", "project": "mig", "service": "api"}``
(``stop_timeout`` seconds, default 10, for the service actions).

Why it is built this way:

- This is the only module that imports the Docker SDK; the registry loads it on
  first use, so processes that never run container steps do not need it. The client
  comes from the environment (DOCKER_HOST, else the default socket).
- ``run`` containers carry ``ripcord.step_run=<run id>`` (plus the execution's labels)
  and a name derived from the run id. Nothing retries a run (the runner's claim lets a
  run execute once; a person's re-run is a new attempt with a new id), so this is a
  guard, not a retry mechanism: should the same run ever be executed twice, the second
  finds the container by that label and follows it, or collects its result, instead of
  starting a second copy of, say, a data migration, and the fixed name makes two racing
  executions collide in the engine rather than both start. The container gets the
  step's variables as its environment (``environment`` entries win) and is removed once
  its result is known; after an engine failure it is kept, labelled, for a person to
  inspect before deciding on a re-run.
- Only the ``none`` and ``host`` networks are allowed: Docker's default bridge hands
  out a private range that must not be used on these hosts.
- ``scale`` cannot create replicas (that needs compose and its file). It stops the
  highest-numbered running containers, or starts existing stopped ones, found by the
  ``com.docker.compose.project`` / ``.service`` labels, and fails, touching nothing,
  when fewer containers exist than asked for.
- Cancel and timeout stop the ``run`` container (TERM, then KILL after a grace) and
  remove it. An unreachable engine, in whatever form the SDK reports it, becomes
  TransientExecutorError: recorded as a transient failure, not retried (a person
  re-runs the step once the engine is back).
- A run interrupted because its worker died has its running containers stopped the
  same way by ``abandon``, found by run and installation (``ripcord.instance``)
  labels. They are kept, so ``docker logs`` still tells what they did after the
  worker stopped listening. The sweeper calls it with the incident locked, hence
  the short engine timeout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound
from docker.models.containers import Container
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout
from urllib3.exceptions import ReadTimeoutError

from runbooks.executors._stream import Output, OutputReader, Watch
from runbooks.executors.base import (
    Emit,
    Execution,
    ExecutorError,
    Outcome,
    ShouldStop,
    TransientExecutorError,
    as_line,
)

RUN_LABEL = "ripcord.step_run"
INSTANCE_LABEL = "ripcord.instance"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
NETWORKS = ("none", "host")
SERVICE_ACTIONS = ("scale", "stop", "start", "restart")
RUN_KEYS = {"action", "image", "command", "environment", "network"}
SERVICE_KEYS = {"action", "project", "service", "replicas", "stop_timeout"}
STOP_GRACE_SECONDS = 5  # `docker stop -t`: TERM, then KILL by the engine
ENGINE_TIMEOUT = 60  # per API call; log streams are exempt in the SDK
ABANDON_TIMEOUT = 10  # per API call while abandoning (a stop adds its grace to it)
TICK = 0.1


class DockerExecutor:
    kind = "docker"

    def validate(self, command: Mapping[str, Any]) -> list[str]:
        action = command.get("action")
        if action == "run":
            problems = [f"docker: unknown key {k!r}" for k in sorted(set(command) - RUN_KEYS)]
            if not isinstance(command.get("image"), str) or not command["image"]:
                problems.append("docker: 'image' is required")
            if "command" in command and not _is_str_list(command["command"]):
                problems.append("docker: 'command' must be a list of strings (no shell string)")
            environment = command.get("environment", {})
            if not isinstance(environment, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in environment.items()
            ):
                problems.append("docker: 'environment' must map names to strings")
            if command.get("network", "none") not in NETWORKS:
                problems.append("docker: 'network' must be 'none' or 'host' (never a bridge)")
            return problems
        if action not in SERVICE_ACTIONS:
            return [f"docker: 'action' must be one of run, {', '.join(SERVICE_ACTIONS)}"]
        problems = [f"docker: unknown key {k!r}" for k in sorted(set(command) - SERVICE_KEYS)]
        for key in ("project", "service"):
            if not isinstance(command.get(key), str) or not command[key]:
                problems.append(f"docker: {key!r} is required")
        replicas = command.get("replicas")
        if action == "scale" and (type(replicas) is not int or replicas < 0):
            problems.append("docker: 'replicas' must be a whole number")
        if action != "scale" and "replicas" in command:
            problems.append("docker: 'replicas' only goes with 'scale'")
        stop_timeout = command.get("stop_timeout", 10)
        if type(stop_timeout) is not int or stop_timeout < 0:
            problems.append("docker: 'stop_timeout' must be whole seconds")
        return problems

    def run(self, execution: Execution, *, emit: Emit, should_stop: ShouldStop) -> Outcome:
        if problems := self.validate(execution.command):
            raise ExecutorError("; ".join(problems))
        watch = Watch(should_stop, execution.timeout_seconds)
        if reason := watch.reason():
            raise watch.error(reason)
        with _engine_errors():
            client = docker.from_env(timeout=ENGINE_TIMEOUT)
            try:
                if execution.command["action"] == "run":
                    return _run_container(client, execution, emit, watch)
                return _service_action(client, execution.command, emit, watch)
            finally:
                client.close()

    def abandon(self, run_id: int, *, instance: str) -> str:
        labels = [f"{RUN_LABEL}={run_id}", f"{INSTANCE_LABEL}={instance}"]
        stopped: list[str] = []
        try:
            with _engine_errors():
                client = docker.from_env(timeout=ABANDON_TIMEOUT)
                try:
                    for container in client.containers.list(filters={"label": labels}):
                        _halt(container)
                        stopped.append(container.name or container.short_id)
                finally:
                    client.close()
        except ExecutorError as exc:
            done = f"stopped container {', '.join(stopped)}; then " if stopped else ""
            return f"{done}could not ask the Docker engine ({exc}): a container may still run"
        if not stopped:
            return ""
        return f"stopped container {', '.join(stopped)} (kept for its logs)"


def engine_problem() -> str | None:
    """Why no Docker engine answers here (None when one does): checked before a step that needs one."""
    try:
        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except DockerException as exc:
        return f"no engine answered ({str(exc).splitlines()[0][:200]})"
    return None


@contextlib.contextmanager
def _engine_errors() -> Iterator[None]:
    try:
        yield
    except APIError as exc:  # the engine answered: the request itself is wrong
        raise ExecutorError(f"docker: {exc.explanation or exc}") from exc
    except (DockerException, RequestsConnectionError, ReadTimeout) as exc:
        raise TransientExecutorError(f"docker: engine unreachable: {exc}") from exc


def _run_container(
    client: docker.DockerClient, execution: Execution, emit: Emit, watch: Watch
) -> Outcome:
    command = execution.command
    out = Output(emit)  # the container's log bytes as the engine gives them, and our notes
    container = _left_by_earlier_attempt(client, execution.run_id)
    attached = container is not None
    if container is not None:
        out.note(f"following {container.name}, left {container.status} by an earlier attempt")
    else:
        container = _create(client, execution)
    if container.status == "created":
        container.start()
    stream = container.logs(stream=True, follow=True, stdout=True, stderr=True)
    reader = OutputReader(stream, name=f"docker-run-{execution.run_id}", on_done=stream.close)
    try:
        while not reader.eof:  # the log stream ends when the container stops
            out.write(reader.get(TICK))
            if reason := watch.reason():
                _halt(container)
                for data in reader.drain(2.0):
                    out.write(data)
                _remove(container, out)
                raise watch.error(reason)
        if reader.error is not None:
            raise reader.error
        code = _wait(container, watch, out)
    finally:
        reader.abandon()
    _remove(container, out)
    evidence = {
        "image": command["image"],
        "container": container.name,
        "container_id": container.short_id,
        "attached": attached,
        "exit_code": code,
    }
    return Outcome(succeeded=code == 0, exit_code=code, summary=f"exit {code}", evidence=evidence)


def _left_by_earlier_attempt(client: docker.DockerClient, run_id: int) -> Container | None:
    found = client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    found.sort(key=lambda c: c.status != "running")  # follow a live one first
    return found[0] if found else None


def _create(client: docker.DockerClient, execution: Execution) -> Container:
    command = execution.command
    options: dict[str, Any] = {
        "command": command.get("command"),
        "environment": {**execution.env, **command.get("environment", {})},
        "labels": {
            **execution.labels,
            RUN_LABEL: str(execution.run_id),
            INSTANCE_LABEL: execution.instance,
        },
        "name": f"ripcord-step-run-{execution.run_id}",
        "network_mode": command.get("network", "none"),
    }
    try:
        return client.containers.create(command["image"], **options)
    except ImageNotFound:
        client.images.pull(command["image"])
        return client.containers.create(command["image"], **options)
    except APIError as exc:
        if exc.status_code != 409:
            raise
        # Another attempt created it between our lookup and our create: follow that one.
        raced = _left_by_earlier_attempt(client, execution.run_id)
        if raced is None:
            raise
        return raced


def _wait(container: Container, watch: Watch, out: Output) -> int:
    """The exit code, once the engine reports the container stopped."""
    while True:
        if reason := watch.reason():
            _halt(container)
            _remove(container, out)
            raise watch.error(reason)
        try:
            status = container.wait(timeout=1)
        except (ReadTimeout, RequestsConnectionError) as exc:
            # Over the unix socket a read timeout arrives as a ConnectionError wrapping
            # urllib3's ReadTimeoutError: the container is simply still running.
            if isinstance(exc, ReadTimeout) or any(
                isinstance(arg, ReadTimeoutError) for arg in exc.args
            ):
                continue
            raise
        return int(status["StatusCode"])


def _halt(container: Container) -> None:
    try:
        container.stop(timeout=STOP_GRACE_SECONDS)
    except APIError:
        with contextlib.suppress(APIError):
            container.kill()


def _remove(container: Container, out: Output) -> None:
    try:
        container.remove(force=True)
    except APIError as exc:
        if exc.status_code != 404:
            out.note(f"could not remove {container.name}: {exc.explanation or exc}")


def _service_action(
    client: docker.DockerClient, command: Mapping[str, Any], emit: Emit, watch: Watch
) -> Outcome:
    project, service, action = command["project"], command["service"], command["action"]
    labels = [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]
    containers = client.containers.list(all=True, filters={"label": labels})
    if not containers:
        raise ExecutorError(f"docker: no containers for compose service {project}/{service}")
    containers.sort(key=lambda c: (_replica_number(c), c.name or ""))
    if action == "scale":
        plan = _scale_plan(containers, command["replicas"], project, service)
    else:
        plan = [(container, action) for container in containers]
    stop_timeout = command.get("stop_timeout", 10)
    touched = []
    for container, verb in plan:
        if reason := watch.reason():
            raise watch.error(reason)
        before = container.status
        if verb == "stop":
            container.stop(timeout=stop_timeout)
        elif verb == "start":
            container.start()
        else:
            container.restart(timeout=stop_timeout)
        container.reload()
        emit(as_line(f"{verb} {container.name}: {before} -> {container.status}"))
        touched.append(
            {"name": container.name, "action": verb, "before": before, "after": container.status}
        )
    running = sum(1 for c in containers if c.status == "running")
    summary = f"{action} {project}/{service}: {len(touched)} touched, {running} running"
    evidence = {"project": project, "service": service, "action": action, "containers": touched}
    return Outcome(succeeded=True, summary=summary, evidence=evidence)


def _scale_plan(
    containers: list[Container], replicas: int, project: str, service: str
) -> list[tuple[Container, str]]:
    if replicas > len(containers):
        raise ExecutorError(
            f"docker: {project}/{service} has {len(containers)} container(s), {replicas} asked: "
            "scale-up only starts existing stopped containers and cannot create replicas"
        )
    running = [c for c in containers if c.status == "running"]
    if len(running) >= replicas:
        return [(c, "stop") for c in running[replicas:]]  # the highest-numbered go first
    stopped = [c for c in containers if c.status != "running"]
    return [(c, "start") for c in stopped[: replicas - len(running)]]


def _replica_number(container: Container) -> int:
    number = container.labels.get(NUMBER_LABEL, "")
    return int(number) if number.isdigit() else 0


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
