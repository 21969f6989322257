"""The runbook format as typed models: what a runbook file may say, and nothing else.

A file is parsed into these models before anything touches the database (see
``runbooks.importers.yaml``). Rules about one field live here, as field
validators, so pydantic's error location names that field; cross-references
(roles, ``requires``, phase order) are checked in ``runbooks.importers.checks``
so that each problem can be reported with its own location. A broken file is
refused as a whole.

Keys (``id`` fields) are short slugs; steps, validations and the like are
referred to by key across the file.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from runbooks.communication import Audience, DestinationSpec
from runbooks.metric_checks import MetricCheck
from runbooks.rules import TriggerRule as TriggerRule  # its home; re-exported

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Key = Annotated[str, Field(pattern=KEY_PATTERN)]

INCIDENT_COMMANDER = "incident_commander"
"""Every runbook has this role, declared or not: the person who runs the incident."""
CONTROL_QUEUE = "control"
"""Housekeeping's queue (settings.RIPCORD_CONTROL_QUEUE): no step may wait in it or delay it."""


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSpec(Spec):
    id: Key
    title: str = Field(min_length=1)
    responsibility: str = ""


class SecretRef(Spec):
    """Where a worker finds a secret at run time. The value is never stored."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = None
    # An optional secret that is absent on the worker is simply not set (e.g. a
    # demo database with trust authentication needs no password).
    optional: bool = False

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret names exactly one of 'env' or 'file'")
        return self


class EnvironmentSpec(Spec):
    id: Key
    title: str = Field(min_length=1)
    description: str = ""
    is_production: bool = False
    # A passing drill here confirms the "rollback_testing" safeguards of later incidents.
    is_staging: bool = False
    variables: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
    # Where communications go in this environment (runbooks.communication).
    destinations: list[DestinationSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_are_env_names(self) -> EnvironmentSpec:
        for name in [*self.variables, *self.secrets]:
            if not name.replace("_", "a").isalnum() or name[0].isdigit():
                raise ValueError(f"variable name {name!r} is not a valid environment name")
        clash = set(self.variables) & set(self.secrets)
        if clash:
            raise ValueError(f"{sorted(clash)} declared both as variable and secret")
        return self


SqlName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
"""A table or column name of the public schema (used quoted, so its case counts)."""


class SnapshotSpec(Spec):
    """What is recorded of the target (``TARGET_DATABASE_URL``) when an incident opens.

    The incident snapshot, baseline of ``snapshot`` checks with ``baseline:
    incident_snapshot``: row counts of every table, a checksum of each table in
    ``checksums`` over the columns given (a check comparing a checksum with it
    must name the same columns), and the type of the ``id`` column of each table
    in ``id_types``.
    """

    checksums: dict[SqlName, Annotated[list[SqlName], Field(min_length=1)]] = Field(
        default_factory=dict
    )
    id_types: list[SqlName] = Field(default_factory=list)


class TriggerSpec(Spec):
    id: Key
    description: str = Field(min_length=1)
    rule: TriggerRule | None = None


class CheckSpec(Spec):
    """A machine check, for a validation or a safeguard (the protocol: ``runbooks.checks``).

    Kept open (``kind`` and ``params``) on purpose here: the family registered for
    the kind validates its own parameters, and an unknown kind is a located error
    (``importers.validations``), so a new family needs no change to this format.
    """

    kind: Key
    params: dict[str, Any] = Field(default_factory=dict)


class SafeguardSpec(Spec):
    """A condition to hold before anything destructive: checked by a machine (``check``) or
    confirmed by a person (its ``owner`` role, or the incident commander), a confirmation
    holding for ``valid_for_minutes``. Steps that name it in ``safeguards`` wait for it."""

    id: Key
    category: Key
    title: str = Field(min_length=1)
    check: CheckSpec | None = None
    owner: Key | None = None
    valid_for_minutes: int = Field(default=24 * 60, ge=1, le=366 * 24 * 60)


class StepKind(StrEnum):
    MANUAL = "manual"
    SHELL = "shell"
    DOCKER = "docker"
    HTTP = "http"
    SQL = "sql"
    VALIDATION = "validation"


class StepSpec(Spec):
    id: Key
    title: str = Field(min_length=1)
    description: str = ""
    owner: Key
    kind: StepKind = StepKind.MANUAL
    # Executor parameters (script/argv, image, url, query...); validated by the
    # executor registry when scripted execution lands. Never interpolated into a shell.
    # validate_default: the "shell step without a command" rule must also fire
    # when the key is missing altogether.
    command: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    requires: list[Key] = Field(default_factory=list)
    approval: Key | None = None
    idempotent: bool = False
    timeout_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    queue: Key | None = None
    optional: bool = False
    validations: list[Key] = Field(default_factory=list)
    # What the step's target must offer; checked before it runs, so a missing
    # PostgreSQL or Docker engine is named instead of failing obscurely.
    needs: list[Literal["postgresql", "docker"]] = Field(default_factory=list)
    # Safeguards that must hold (checked and passed, or confirmed) before a run starts.
    safeguards: list[Key] = Field(default_factory=list)

    @field_validator("queue")
    @classmethod
    def _not_housekeeping_queue(cls, queue: str | None) -> str | None:
        if queue == CONTROL_QUEUE:
            raise ValueError(f"{CONTROL_QUEUE!r} is reserved for Ripcord's housekeeping")
        return queue

    # A field validator (not a model validator) so the error is located at
    # ``...steps[j].command`` rather than at the whole step.
    @field_validator("command")
    @classmethod
    def _command_matches_kind(cls, command: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("kind")  # absent when 'kind' itself was invalid
        if kind == StepKind.MANUAL and command:
            raise ValueError("a manual step has no 'command'")
        if kind is not None and kind not in (StepKind.MANUAL, StepKind.VALIDATION) and not command:
            raise ValueError(f"a {kind.value} step needs a 'command'")
        return command


class PhaseSpec(Spec):
    id: Key
    title: str = Field(min_length=1)
    description: str = ""
    starts_at_minutes: int = Field(ge=0)
    ends_at_minutes: int = Field(ge=0)
    steps: list[StepSpec] = Field(min_length=1)
    # What users may notice while this phase runs (communications' {user_impact}).
    user_impact: str = ""

    # On the field, so a bad window is reported at ``phases[i].ends_at_minutes``.
    # (Field validators run in declaration order: starts_at_minutes is known here.)
    @field_validator("ends_at_minutes")
    @classmethod
    def _window_is_ordered(cls, ends_at_minutes: int, info: ValidationInfo) -> int:
        starts_at_minutes = info.data.get("starts_at_minutes")
        if starts_at_minutes is not None and ends_at_minutes <= starts_at_minutes:
            raise ValueError(
                f"budget ends at minute {ends_at_minutes}, "
                f"not after it starts (minute {starts_at_minutes})"
            )
        return ends_at_minutes


class ValidationSpec(Spec):
    id: Key
    family: Key
    title: str = Field(min_length=1)
    check: CheckSpec | None = None


class SuccessCriterionSpec(Spec):
    id: Key
    title: str = Field(min_length=1)
    validations: list[Key] = Field(default_factory=list)
    signoff: Key | None = None
    # Measured against Prometheus in the last phase (runbooks.metric_checks).
    metrics: list[MetricCheck] = Field(default_factory=list, max_length=20)


class CommunicationSpec(Spec):
    id: Key
    audience: Literal["internal", "external"]
    channel: str = Field(min_length=1)
    owner: Key
    description: str = Field(min_length=1)
    phases: list[Key] = Field(default_factory=list)
    template: str = ""
    # Destination ids (each environment declares them); none: a draft to copy by hand.
    destinations: list[Key] = Field(default_factory=list)
    # Sent by Ripcord itself when each of its phases starts (e.g. "phase started" to #alerts).
    automatic: bool = False


class PostActionSpec(Spec):
    id: Key
    title: str = Field(min_length=1)
    owner: Key
    description: str = ""
    # Due this many days after the incident resolves (the runbook's default if unset).
    due_days: int | None = Field(default=None, ge=0, le=3650)


PARAMETER_VALUE_MAX_LENGTH = 500


class ParameterSpec(Spec):
    """A value the incident commander gives when opening an incident (e.g. the tag to roll
    back to). It reaches steps as an environment variable of that name, never pasted into a
    shell string; it overrides an environment variable of the same name."""

    name: str = Field(pattern=r"^[A-Z_][A-Z0-9_]{0,62}$")
    description: str = ""
    default: str | None = Field(default=None, max_length=PARAMETER_VALUE_MAX_LENGTH)
    pattern: str | None = Field(default=None, max_length=500)
    choices: list[str] = Field(default_factory=list)
    required: bool = True

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _default_is_valid(self) -> ParameterSpec:
        if self.pattern is not None and self.choices:
            raise ValueError("give a 'pattern' or 'choices', not both")
        if self.default is not None and (problem := self.problem(self.default)):
            raise ValueError(f"default {self.default!r}: {problem}")
        return self

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not acceptable for this parameter, or None."""
        if len(value) > PARAMETER_VALUE_MAX_LENGTH:
            return f"at most {PARAMETER_VALUE_MAX_LENGTH} characters"
        if "\0" in value:
            return "a NUL character cannot be passed in an environment variable"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            return f"does not match the pattern {self.pattern}"
        return None


class ContactSpec(Spec):
    id: Key
    title: str = Field(min_length=1)
    reach: str = ""


class RunbookSpec(Spec):
    format: Literal[1] = 1
    id: Key
    title: str = Field(min_length=1)
    summary: str = ""
    roles: list[RoleSpec] = Field(min_length=1)
    environments: list[EnvironmentSpec] = Field(min_length=1)
    snapshot: SnapshotSpec = Field(default_factory=SnapshotSpec)
    triggers: list[TriggerSpec] = Field(default_factory=list)
    safeguards: list[SafeguardSpec] = Field(default_factory=list)
    phases: list[PhaseSpec] = Field(min_length=1)
    validations: list[ValidationSpec] = Field(default_factory=list)
    success_criteria: list[SuccessCriterionSpec] = Field(default_factory=list)
    communications: list[CommunicationSpec] = Field(default_factory=list)
    # Minutes between updates each audience expects while the incident is open.
    communication_cadence: dict[Audience, Annotated[int, Field(ge=1, le=24 * 60)]] = Field(
        default_factory=dict
    )
    # What support tells customers: a template (runbooks.communication.PLACEHOLDERS).
    talking_points: str = ""
    post_actions: list[PostActionSpec] = Field(default_factory=list)
    contacts: list[ContactSpec] = Field(default_factory=list)
    parameters: list[ParameterSpec] = Field(default_factory=list)
    # Follow-ups (post-actions and those proposed from the record) are due this many
    # days after the incident resolves, unless a post-action says otherwise.
    follow_up_due_days: int = Field(default=7, ge=0, le=3650)

    # Cross-reference checks live in runbooks.importers.checks so that each
    # problem can be reported with its own location; see check_references().

    @property
    def role_ids(self) -> set[str]:
        return {role.id for role in self.roles} | {INCIDENT_COMMANDER}

    def all_steps(self) -> list[StepSpec]:
        return [step for phase in self.phases for step in phase.steps]

    def without_details(self) -> RunbookSpec:
        """The spec minus environment variables, secret references and step commands.

        What people who may not see logs and variables (viewers) are shown.
        ``model_copy`` skips validation on purpose: a scripted step without its
        command would not pass the file-format validators, and it is not a file.
        """
        environments = [
            env.model_copy(update={"variables": {}, "secrets": {}, "destinations": []})
            for env in self.environments
        ]
        phases = [
            phase.model_copy(
                update={"steps": [step.model_copy(update={"command": {}}) for step in phase.steps]}
            )
            for phase in self.phases
        ]
        return self.model_copy(update={"environments": environments, "phases": phases})
