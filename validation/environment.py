"""An incident's environment variables without a run (for the snapshot taken when it opens).

``incidents.execution.environment.resolve`` needs a run (it adds the run's ids to
the variables). A snapshot has none, so this resolves the same runbook variables
and secrets with the same rules — ``RIPCORD_ENV_<ENVIRONMENT>_<NAME>`` overrides
from the worker, ``${RIPCORD_VAR_DIR}``, secrets read on the worker — by reusing
that module's helpers rather than copying them, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from incidents.execution.environment import _read_secret, _variable
from incidents.models import Incident
from runbooks.executors.base import ExecutorError


def incident_environment(incident: Incident, worker_env: Mapping[str, str]) -> dict[str, str]:
    """The runbook variables and secrets of the incident's environment, as a run would get them."""
    spec = incident.runbook_version.parsed()
    environment = next((e for e in spec.environments if e.id == incident.environment), None)
    if environment is None:
        raise ExecutorError(f"The runbook has no environment {incident.environment!r}.")
    worker = dict(worker_env)
    found = {name: _read_secret(name, ref, worker) for name, ref in environment.secrets.items()}
    secrets = {name: value for name, value in found.items() if value is not None}
    variables = {
        name: _variable(environment, name, value, worker)
        for name, value in environment.variables.items()
    }
    return variables | secrets | {"RIPCORD_INCIDENT_ID": str(incident.pk)}
