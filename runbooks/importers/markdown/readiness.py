"""How much of an imported plan Ripcord can execute, and what to script next."""

from __future__ import annotations

from dataclasses import dataclass, field

from runbooks.specs import RunbookSpec, StepKind, StepSpec

SCRIPTED = (StepKind.SHELL, StepKind.SQL, StepKind.HTTP, StepKind.DOCKER)
_RUNNABLE_WORDS = ("run ", "execute", "restart", "deploy", "restore", "scale", "apply", "`")


@dataclass(frozen=True, slots=True)
class Readiness:
    phases: int
    steps: int
    placeholder_steps: int
    scripted_steps: int
    gated_steps: int  # scripted steps waiting for the incident commander's approval
    machine_checks: int  # validations and safeguards with a check
    manual_checks: int  # validations a person confirms
    signoffs: int  # success criteria signed off by a role
    unproven_criteria: int  # criteria with neither a check nor a sign-off
    manual_safeguards: int
    script_next: list[str] = field(default_factory=list)  # step titles, most promising first

    @property
    def executable_share(self) -> float:
        real = self.steps - self.placeholder_steps
        return self.scripted_steps / real if real else 0.0

    def lines(self) -> list[str]:
        return [
            f"phases: {self.phases}",
            f"steps: {self.steps - self.placeholder_steps}"
            + (f" (+{self.placeholder_steps} placeholder)" if self.placeholder_steps else ""),
            f"scripted steps: {self.scripted_steps} ({self.executable_share:.0%} of the steps);"
            f" {self.gated_steps} wait for the incident commander's approval to run",
            f"checks: {self.machine_checks} machine, {self.manual_checks} by hand;"
            f" success criteria: {self.signoffs} signed off, {self.unproven_criteria} unproven",
            f"manual safeguards: {self.manual_safeguards}",
            "script next: "
            + ("; ".join(self.script_next) if self.script_next else "nothing obvious"),
        ]


def readiness(spec: RunbookSpec, *, placeholder_steps: int = 0) -> Readiness:
    steps = spec.all_steps()
    scripted = [step for step in steps if step.kind in SCRIPTED]
    checks = [v for v in spec.validations if v.check] + [s for s in spec.safeguards if s.check]
    return Readiness(
        phases=len(spec.phases),
        steps=len(steps),
        placeholder_steps=placeholder_steps,
        scripted_steps=len(scripted),
        gated_steps=sum(1 for step in scripted if step.approval),
        machine_checks=len(checks),
        manual_checks=sum(1 for v in spec.validations if v.check is None),
        signoffs=sum(1 for c in spec.success_criteria if c.signoff),
        unproven_criteria=sum(
            1 for c in spec.success_criteria if not c.signoff and not c.validations
        ),
        manual_safeguards=sum(1 for s in spec.safeguards if s.check is None),
        script_next=[step.title for step in _candidates(steps)][:5],
    )


def _candidates(steps: list[StepSpec]) -> list[StepSpec]:
    """Manual steps that name a command or an operation, those naming a command first."""
    manual = [step for step in steps if step.kind == StepKind.MANUAL]
    scored = []
    for order, step in enumerate(manual):
        text = f"{step.title} {step.description}".lower()
        score = 2 * ("`" in text) + sum(word in text for word in _RUNNABLE_WORDS)
        if score:
            scored.append((-score, order, step))
    return [step for _, _, step in sorted(scored, key=lambda t: (t[0], t[1]))]
