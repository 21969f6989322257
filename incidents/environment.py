"""Variables and secrets for a run, resolved on the worker at run time.

Secret values are read from the worker's environment or files when the run
starts; they are never written to the database and are redacted from the output
(as a byte stream: see ``redaction``) before it is stored or pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from incidents.models import Incident, StepRun
from incidents.redaction import Redactor
from runbooks.envnames import reserved_reason
from runbooks.executors.base import ExecutorError
from runbooks.specs import EnvironmentSpec, SecretRef


@dataclass(frozen=True)
class RunEnvironment:
    env: dict[str, str]
    redact: Redactor


def environment_spec(incident: Incident) -> EnvironmentSpec:
    spec = incident.runbook_version.parsed()
    for env in spec.environments:
        if env.id == incident.environment:
            return env
    raise ExecutorError(f"The runbook has no environment {incident.environment!r}.")


def _read_secret(name: str, ref: SecretRef, worker_env: dict[str, str]) -> str | None:
    if ref.env is not None:
        if ref.env not in worker_env:
            if ref.optional:
                return None
            raise ExecutorError(
                f"Secret {name} expects environment variable {ref.env} on the worker."
            )
        return worker_env[ref.env]
    assert ref.file is not None
    try:
        return Path(ref.file).read_text().rstrip("\n")
    except OSError as exc:
        if ref.optional:
            return None
        raise ExecutorError(
            f"Secret {name} could not be read from its file: {exc.strerror}."
        ) from None


def override_name(environment_id: str, variable: str) -> str:
    """The worker environment variable that overrides a runbook variable on that worker.

    ``RIPCORD_ENV_<ENVIRONMENT>_<NAME>``, e.g. RIPCORD_ENV_DEMO_PGDATABASE: how a
    deployment points a runbook's environment at its own hosts without editing the file.
    """
    return f"RIPCORD_ENV_{environment_id.upper().replace('-', '_')}_{variable}"


def _variable(spec: EnvironmentSpec, name: str, value: str, worker_env: dict[str, str]) -> str:
    value = worker_env.get(override_name(spec.id, name), value)
    # The one placeholder a variable may use: where this installation keeps its files.
    return value.replace("${RIPCORD_VAR_DIR}", str(settings.VAR_DIR))


def resolve_for_incident(incident: Incident, worker_env: dict[str, str]) -> RunEnvironment:
    """The incident environment's variables and secrets as this worker sees them."""
    spec = environment_spec(incident)
    found = {name: _read_secret(name, ref, worker_env) for name, ref in spec.secrets.items()}
    secrets = {name: value for name, value in found.items() if value is not None}
    variables = {
        name: _variable(spec, name, value, worker_env) for name, value in spec.variables.items()
    }
    # The IC's parameters override the environment's variables of the same name. They are
    # data: passed as environment variables only (no name that changes what code runs).
    parameters = {
        name: value for name, value in incident.parameters.items() if not reserved_reason(name)
    }
    ripcord = {"RIPCORD_INCIDENT_ID": str(incident.pk), "RIPCORD_ENVIRONMENT": spec.id}
    return RunEnvironment(env=variables | parameters | secrets | ripcord, redact=Redactor(secrets))


def resolve(run: StepRun, worker_env: dict[str, str]) -> RunEnvironment:
    """The run's environment variables: runbook variables, secrets, and Ripcord's own."""
    base = resolve_for_incident(run.incident, worker_env)
    ripcord = {
        "RIPCORD_STEP": run.step.key,
        "RIPCORD_RUN_ID": str(run.pk),
        "RIPCORD_ATTEMPT": str(run.attempt),
    }
    return RunEnvironment(env=dict(base.env) | ripcord, redact=base.redact)
