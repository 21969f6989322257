"""Incidents: a runbook version being executed, with its people, phases, steps, runs and record.

When an incident opens, the runbook version's roles, phases and steps are copied
into rows of their own, so the page is a handful of indexed queries and the
state of each step has a home. The version itself stays untouched.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from runbooks.models import RunbookVersion


class Incident(models.Model):
    class Severity(models.TextChoices):
        SEV1 = "sev1", "SEV1 — critical"
        SEV2 = "sev2", "SEV2 — major"
        SEV3 = "sev3", "SEV3 — minor"
        SEV4 = "sev4", "SEV4 — low"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESOLVED = "resolved", "Resolved"

    title = models.CharField(max_length=200)
    runbook_version = models.ForeignKey(
        RunbookVersion, on_delete=models.PROTECT, related_name="incidents"
    )
    environment = models.CharField(max_length=63)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.SEV2)
    is_drill = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set when the IC resolved with success criteria unmet: the reason goes on the record.
    resolve_override_reason = models.TextField(blank=True)
    # The runbook's parameters as the IC gave them (incidents.parameters): name -> value.
    parameters = models.JSONField(default=dict, blank=True)

    # The opener's key for this opening (the form's hidden token, the API's Idempotency-Key):
    # the same key from the same person opens nothing new (services.opening). "" for none.
    open_key = models.CharField(max_length=64, blank=True, default="")

    # Bumped by every write under a row lock: serialises writers of one incident
    # and stamps each pushed fragment so browsers never apply an older one.
    revision = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["status", "-opened_at"], name="incident_status_opened")]
        constraints = [
            models.UniqueConstraint(
                fields=["opened_by", "open_key"],
                condition=~models.Q(open_key=""),
                name="incident_open_key_once",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class IncidentRole(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=200)
    responsibility = models.TextField(blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="incident_role_key"),
        ]

    def __str__(self) -> str:
        return self.title


class RoleAssignment(models.Model):
    role = models.ForeignKey(IncidentRole, on_delete=models.CASCADE, related_name="assignments")
    # Denormalised from role for the access check's single query.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="role_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField()

    class Meta:
        ordering = ["role__position", "assigned_at"]
        constraints = [
            models.UniqueConstraint(fields=["role", "user"], name="role_assignment_unique"),
        ]
        indexes = [models.Index(fields=["incident", "user"], name="assignment_incident_user")]

    def __str__(self) -> str:
        return f"{self.user_id} as {self.role_id}"


class Phase(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="phases")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField()
    starts_at_minutes = models.PositiveIntegerField()
    ends_at_minutes = models.PositiveIntegerField()
    # The budget window on the incident clock, stored when the incident opens.
    planned_start_at = models.DateTimeField()
    planned_end_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The last clock state announced (incidents.clocks); a change is pushed and recorded.
    clock_state = models.CharField(max_length=16, default="not_started")

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="phase_key"),
        ]

    def __str__(self) -> str:
        return self.title


class Step(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="steps")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField()
    owner_role = models.CharField(max_length=63)
    kind = models.CharField(max_length=16)
    command = models.JSONField(default=dict, blank=True)
    requires = models.JSONField(default=list, blank=True)
    approval_role = models.CharField(max_length=63, blank=True)
    is_idempotent = models.BooleanField(default=False)
    is_optional = models.BooleanField(default=False)
    timeout_seconds = models.PositiveIntegerField(default=900)
    queue = models.CharField(max_length=63, blank=True)
    needs = models.JSONField(default=list, blank=True)
    # Keys of the safeguards a run of this step waits for (incidents.gates).
    safeguards = models.JSONField(default=list, blank=True)

    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["incident", "phase__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="step_key"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_manual(self) -> bool:
        return self.kind == "manual"

    @property
    def is_settled(self) -> bool:
        return self.state != self.State.PENDING

    @property
    def latest_run(self) -> StepRun | None:
        """The newest attempt (uses the prefetched ``runs``, newest first, when there is one)."""
        runs = list(self.runs.all())
        return max(runs, key=lambda r: r.attempt) if runs else None


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", "Incident opened"
        ROLE_ASSIGNED = "role_assigned", "Role assigned"
        ROLE_UNASSIGNED = "role_unassigned", "Role unassigned"
        STEP_DONE = "step_done", "Step done"
        STEP_SKIPPED = "step_skipped", "Step skipped"
        STEP_REOPENED = "step_reopened", "Step reopened"
        NOTE = "note", "Note"
        STATUS = "status", "Status change"
        RUN_REQUESTED = "run_requested", "Run requested"
        RUN_APPROVED = "run_approved", "Run approved"
        RUN_STARTED = "run_started", "Run started"
        RUN_FINISHED = "run_finished", "Run finished"
        RUN_CANCELLED = "run_cancelled", "Run cancelled"
        RUN_INTERRUPTED = "run_interrupted", "Run interrupted"
        RUN_WAITING = "run_waiting", "Run waiting for a worker"
        LEFTOVERS_STOPPED = "leftovers_stopped", "Leftovers stopped"
        PHASE_STARTED = "phase_started", "Phase started"
        PHASE_ENDED = "phase_ended", "Phase ended"
        PHASE_CLOCK = "phase_clock", "Phase clock"
        SIGNED_OFF = "signed_off", "Signed off"
        RESOLVED = "resolved", "Resolved"
        PREFLIGHT = "preflight", "Pre-flight checks"
        # Communications (comms): a send, a delivery's result, an audience overdue.
        COMMS_SENT = "comms_sent", "Communication sent"
        COMMS_DELIVERY = "comms_delivery", "Communication delivery"
        COMMS_OVERDUE = "comms_overdue", "Communication overdue"
        SAFEGUARD_CONFIRMED = "safeguard_confirmed", "Safeguard confirmed"
        SAFEGUARDS_OVERRIDDEN = "safeguards_overridden", "Safeguards overridden"
        PARAMETERS = "parameters", "Parameters"
        FOLLOW_UP = "follow_up", "Follow-up"
        TRIGGER_FIRED = "trigger_fired", "Trigger fired"
        TRIGGER_RESOLVED = "trigger_resolved", "Trigger resolved"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    text = models.TextField()
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["incident", "-at"], name="timeline_incident_at")]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.text}"


class StepRun(models.Model):
    """One attempt at running a scripted step: a persisted state machine.

    pending → (awaiting_approval) → queued → running → succeeded | failed |
    timed_out | cancelled | interrupted. At most one run of a step is active
    (a partial unique index, not just application code); every transition is a
    conditional UPDATE on the expected status, so a redelivered task or a
    double click cannot move a run twice.
    """

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        CANCELLED = "cancelled", "Cancelled"
        INTERRUPTED = "interrupted", "Interrupted"

    ACTIVE = (Status.AWAITING_APPROVAL, Status.QUEUED, Status.RUNNING)

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="runs")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="runs")
    attempt = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices)
    queue = models.CharField(max_length=63, default="default")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    worker = models.CharField(max_length=200, blank=True)
    # Set when the broker did not take the run's task (incidents.services.delivery);
    # cleared once the sweeper has sent it.
    undelivered_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    log_lines = models.PositiveIntegerField(default=0)
    log_bytes = models.PositiveBigIntegerField(default=0)
    # The last lines, kept on the row so pages show every step's tail without a query per step.
    log_tail = models.TextField(blank=True)
    # Set when the IC started the run over held safeguards: the worker's last pre-flight
    # then records what it finds but does not stop the step.
    safeguard_override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["step", "-attempt"]
        constraints = [
            models.UniqueConstraint(fields=["step", "attempt"], name="step_run_attempt"),
            models.UniqueConstraint(
                fields=["step"],
                condition=models.Q(status__in=["awaiting_approval", "queued", "running"]),
                name="one_active_run_per_step",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="step_run_status_beat")]

    def __str__(self) -> str:
        return f"run {self.pk} of step {self.step_id} (attempt {self.attempt})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or self.heartbeat_at
        return (end - self.started_at).total_seconds() if end else None


class StepRunLogChunk(models.Model):
    """A batch of a run's output, in order: the full log is their concatenation, byte for byte
    what the step wrote with only its secrets replaced. Bytes, not text: output may hold NUL
    (which PostgreSQL text cannot store), invalid UTF-8 or a lone CR, and a chunk may end
    inside a line or inside a UTF-8 sequence."""

    run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    first_line = models.PositiveIntegerField()  # how many newlines came before this chunk
    data = models.BinaryField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="log_chunk_seq")]

    def __str__(self) -> str:
        return f"run {self.run_id} chunk {self.seq}"
