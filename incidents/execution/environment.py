"""Variables and secrets for a run, resolved on the worker at run time.

Secret values are read from the worker's environment or files when the run
starts; they are never written to the database and are redacted from every line
of output before it is stored or pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from incidents.models import StepRun
from runbooks.executors.base import ExecutorError
from runbooks.specs import EnvironmentSpec


@dataclass(frozen=True)
class Redactor:
    secrets: dict[str, str]

    def __call__(self, line: str) -> str:
        # Longest first, so a secret containing another is replaced whole.
        for name, value in sorted(self.secrets.items(), key=lambda kv: -len(kv[1])):
            if value and value in line:
                line = line.replace(value, f"[secret:{name}]")
        return line


@dataclass(frozen=True)
class RunEnvironment:
    env: dict[str, str]
    redact: Redactor


def environment_spec(run: StepRun) -> EnvironmentSpec:
    spec = run.incident.runbook_version.parsed()
    for env in spec.environments:
        if env.id == run.incident.environment:
            return env
    raise ExecutorError(f"The runbook has no environment {run.incident.environment!r}.")


def _read_secret(
    name: str, env_name: str | None, file: str | None, worker_env: dict[str, str]
) -> str:
    if env_name is not None:
        if env_name not in worker_env:
            raise ExecutorError(
                f"Secret {name} expects environment variable {env_name} on the worker."
            )
        return worker_env[env_name]
    assert file is not None
    try:
        return Path(file).read_text().rstrip("\n")
    except OSError as exc:
        raise ExecutorError(
            f"Secret {name} could not be read from its file: {exc.strerror}."
        ) from None


def resolve(run: StepRun, worker_env: dict[str, str]) -> RunEnvironment:
    """The run's environment variables: runbook variables, secrets, and Ripcord's own."""
    spec = environment_spec(run)
    secrets = {
        name: _read_secret(name, ref.env, ref.file, worker_env)
        for name, ref in spec.secrets.items()
    }
    env = (
        dict(spec.variables)
        | secrets
        | {
            "RIPCORD_INCIDENT_ID": str(run.incident_id),
            "RIPCORD_STEP": run.step.key,
            "RIPCORD_RUN_ID": str(run.pk),
            "RIPCORD_ATTEMPT": str(run.attempt),
            "RIPCORD_ENVIRONMENT": spec.id,
        }
    )
    return RunEnvironment(env=env, redact=Redactor(secrets))
