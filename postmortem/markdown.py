"""``render_markdown``: the postmortem as one Markdown document. A pure function of its data.

One H1 (the incident), then the H2 sections of ``SECTIONS`` in that order, each
always present (saying "none" rather than vanishing), so tools and people can
find them. All times are UTC.
"""

from __future__ import annotations

from datetime import date

from postmortem.communications import section as communications_section
from postmortem.evidence import check_evidence
from postmortem.mdsyntax import (
    EMPTY,
    bullets,
    cell,
    clock,
    code,
    day_of,
    duration,
    fenced,
    stamp,
    table,
    text,
)
from postmortem.mermaid import phase_gantt
from postmortem.types import PhaseSteps, Postmortem, StepRow
from postmortem.validation_rows import NOT_RUN

SECTIONS = (
    "Summary",
    "Trigger",
    "Alerts on the record",
    "Roles and people",
    "Phases",
    "Steps",
    "Validation evidence",
    "Success criteria",
    "Communications",
    "Timeline",
    "Follow-up actions",
)
CHART_FILE = "chart.svg"  # beside the .md file, and beside the postmortem page's URL


def render_markdown(pm: Postmortem) -> str:
    day = day_of(pm.summary.opened_at)
    bodies = [
        _summary(pm),
        _trigger(pm, day),
        _alerts(pm, day),
        _roles(pm, day),
        _phases(pm, day),
        _steps(pm, day),
        _validations(pm, day),
        _criteria(pm, day),
        communications_section(pm.communications, day),
        _timeline(pm, day),
        _follow_ups(pm),
    ]
    blocks = [
        f"# Postmortem: {text(pm.summary.title)}",
        f"Incident #{pm.summary.incident_id}, generated {stamp(pm.generated_at)}. All times are UTC.",
    ]
    for title, body in zip(SECTIONS, bodies, strict=True):
        blocks += [f"## {title}", body]
    return "\n\n".join(blocks) + "\n"


def _summary(pm: Postmortem) -> str:
    s = pm.summary
    resolved = f"{stamp(s.resolved_at)} by {who(s.resolved_by)}" if s.resolved_at else "not yet"
    facts = [
        ("Status", s.status),
        ("Runbook", f"{text(s.runbook_title)} — {text(s.runbook_slug)} v{s.runbook_version}"),
        ("Environment", text(s.environment)),
        ("Severity", text(s.severity)),
        ("Drill", "yes" if s.is_drill else "no"),
        ("Opened", f"{stamp(s.opened_at)} by {who(s.opened_by)}"),
        ("Resolved", resolved),
        ("Total duration", duration(s.duration_seconds) + ("" if s.is_resolved else " so far")),
    ]
    if s.override_reason:
        facts.append(
            ("Resolved with success criteria unmet. Override reason", text(s.override_reason))
        )
    if s.plan_summary:
        facts.append(("Plan", text(s.plan_summary)))
    return bullets([f"**{label}:** {value}" for label, value in facts])


def _trigger(pm: Postmortem, day: date) -> str:
    t = pm.trigger
    declared = ", ".join(text(item.description) for item in t.declared)
    blocks = [
        f"**Declared trigger:** {declared}"
        if declared
        else "**Declared trigger:** not recorded (the incident does not say which trigger fired)."
    ]
    if t.items:
        items = []
        for item in t.items:
            rule = text(item.rule) if item.rule else "judged by people"
            mark = " **(declared)**" if item.is_declared else ""
            items.append(f"{text(item.description)}{mark} — {rule} ({code(item.id)})")
        blocks += ["The runbook's triggers:", bullets(items)]
    else:
        blocks.append("The runbook declares no triggers.")
    if t.opened_at is not None:
        opener = who(t.opened_by)
        blocks.append(f"**Opened** {clock(t.opened_at, day)} by {opener}: {text(t.opened_text)}")
    return "\n\n".join(blocks)


def _alerts(pm: Postmortem, day: date) -> str:
    """What monitoring said: each alert a receiver accepted for this incident, with its evidence."""
    if not pm.alerts:
        return "No alert is on the record: no receiver's alert proposed or joined this incident."
    rows = [
        [
            cell(a.alertname),
            a.status,
            code(a.trigger) if a.trigger else EMPTY,
            cell(a.value),
            cell(a.labels),
            clock(a.starts_at, day),
            clock(a.ended_at, day),
            _link("source", a.source_url),
        ]
        for a in pm.alerts
    ]
    header = ["Alert", "Status", "Trigger", "Value", "Labels", "Started", "Ended", "Source"]
    return table(header, rows)


def _link(label: str, url: str) -> str:
    """A Markdown link to an http(s) URL that cannot break out of it; a dash otherwise."""
    if not url.startswith(("http://", "https://")) or any(c in url for c in "<>\\ \t\n|"):
        return EMPTY
    return f"[{label}](<{url}>)"


def _roles(pm: Postmortem, day: date) -> str:
    rows = [
        [
            cell(role.title),
            cell(role.responsibility),
            cell(", ".join(role.holders)) if role.holders else "nobody",
            cell(", ".join(role.former)),
        ]
        for role in pm.roles
    ]
    blocks = [table(["Role", "Responsibility", "People", "Earlier"], rows)]
    handovers = [h for role in pm.roles for h in role.handovers]
    lines = [
        f"{clock(h.at, day)}: from {text(', '.join(h.from_people)) or 'nobody'} to {who(h.to)}"
        + (f" (by {who(h.by)})" if h.by else "")
        for h in handovers
    ]
    blocks.append("Incident commander handovers:" if lines else "No incident commander handover.")
    if lines:
        blocks.append(bullets(lines))
    return "\n\n".join(blocks)


def _phases(pm: Postmortem, day: date) -> str:
    rows = [
        [
            str(p.number),
            cell(p.title),
            clock(p.planned_start, day, seconds=False),
            clock(p.planned_end, day, seconds=False),
            clock(p.started_at, day, seconds=False),
            clock(p.ended_at, day, seconds=False),
            duration(p.duration_seconds),
            p.result,
            f"{p.overrun_minutes} min" if p.overrun_minutes else EMPTY,
        ]
        for p in pm.phases
    ]
    header = ["#", "Phase", "Planned start", "Planned end", "Actual start", "Actual end"]
    header += ["Duration", "Result", "Overrun"]
    return "\n\n".join(
        [
            table(header, rows),
            # The chart in the document itself: Markdown tools that draw Mermaid show it.
            fenced(phase_gantt(pm.phases), "mermaid"),
            f"![Phase chart]({CHART_FILE})",
            "The same chart as SVG: pale bars are the planned windows, green ones the actual "
            f"spans, red past the budget. The file: [{CHART_FILE}]({pm.chart_path}) (saved "
            "beside this document, it shows as the image above).",
        ]
    )


def _steps(pm: Postmortem, day: date) -> str:
    return "\n\n".join(_phase_steps(group, day) for group in pm.steps) or "No steps."


def _phase_steps(group: PhaseSteps, day: date) -> str:
    header = ["Step", "Owner", "Kind", "Outcome", "By", "When", "Duration", "Run"]
    rows = [_step_cells(step, day) for step in group.steps]
    blocks = [f"### {group.number}. {text(group.title)}", table(header, rows)]
    commands = [f"{text(s.title)}: {code(s.command)}" for s in group.steps if s.command]
    if commands:
        blocks += ["Commands:", bullets(commands)]
    return "\n\n".join(blocks)


def _step_cells(step: StepRow, day: date) -> list[str]:
    """Manual steps: when ticked and how far into the phase; scripted: their last run."""
    title = step.title + (" (optional)" if step.is_optional else "")
    outcome: str = step.outcome
    if step.outcome == "skipped":
        outcome = f"skipped: {text(step.skip_reason)}"
    verb = {"done": "finished" if step.run else "ticked", "skipped": "skipped"}
    when = f"{verb[step.outcome]} at {clock(step.at, day)}" if step.outcome in verb else EMPTY
    run = step.run
    if run is not None and step.outcome == "done":
        took = duration(run.duration_seconds)
    elif step.since_phase_start_seconds is None:
        took = EMPTY
    elif step.since_phase_start_seconds < 0:
        took = "before the phase started"
    else:
        took = f"{duration(step.since_phase_start_seconds)} from phase start"
    run_text = EMPTY
    if run is not None:
        parts = [f"{run.attempts} attempt{'s' if run.attempts > 1 else ''}, last {run.status}"]
        if run.exit_code is not None:
            parts.append(f"exit {run.exit_code}")
        if step.outcome != "done":  # otherwise the Duration column says it
            parts.append(f"ran {duration(run.duration_seconds)}")
        if run.approved_by:
            parts.append(f"approved by {who(run.approved_by)}")
        said = run.summary and run.summary != f"exit {run.exit_code}"  # not twice
        run_text = ", ".join(parts) + (f" — {text(run.summary)}" if said else "")
    return [
        cell(title),
        cell(step.owner_role),
        step.kind,
        outcome,
        who(step.by) if step.by else EMPTY,
        when,
        took,
        run_text,
    ]


def _validations(pm: Postmortem, day: date) -> str:
    if not pm.validations:
        return "The runbook declares no validations."
    rows = [
        [
            f"{cell(v.title)} ({code(v.id)})",
            cell(v.family),
            cell(v.result),
            cell(v.summary),
            clock(v.checked_at, day),
        ]
        for v in pm.validations
    ]
    blocks = [table(["Validation", "Family", "Result", "Summary", "Checked at"], rows)]
    # Each check that ran, with what it compared and the differences it found.
    blocks += [check_evidence(v, day) for v in pm.validations if v.result != NOT_RUN]
    return "\n\n".join(blocks)


def _criteria(pm: Postmortem, day: date) -> str:
    if not pm.criteria:
        return "The runbook declares no success criteria."
    rows = []
    for c in pm.criteria:
        signoff = EMPTY
        if c.signoff_role and c.signed_off_by:
            by = who(c.signed_off_by)
            signoff = f"{text(c.signoff_role)}: {by} at {clock(c.signed_off_at, day)}"
        elif c.signoff_role:
            signoff = f"{text(c.signoff_role)}: not signed off"
        rows.append(
            [cell(c.title), "yes" if c.is_met else "no", cell("; ".join(c.missing)), signoff]
        )
    met = sum(c.is_met for c in pm.criteria)
    summary = f"{met} of {len(pm.criteria)} criteria met."
    blocks = [summary, table(["Criterion", "Met", "Missing", "Sign-off"], rows)]
    evidence = [f"{c.title}: {line}" for c in pm.criteria for line in c.evidence]
    if evidence:  # the metric checks' final measurements (criteria9)
        blocks += ["Measured:", bullets([text(line) for line in evidence])]
    return "\n\n".join(blocks)


def _timeline(pm: Postmortem, day: date) -> str:
    if not pm.timeline:
        return "Nothing was recorded."
    return bullets([f"{clock(e.at, day)} · {who(e.actor)} · {text(e.text)}" for e in pm.timeline])


def _follow_ups(pm: Postmortem) -> str:
    if not pm.follow_ups:
        return "The runbook lists no post-rollback actions."
    rows = [
        [
            cell(f.title),
            cell(f.description),
            cell(f.owner_role),
            cell(", ".join(f.owners)) if f.owners else "nobody holds this role",
            cell(f.assignee) if f.assignee else "unassigned",
            f.due_on.isoformat() if f.due_on else "after resolve",
            cell(f.status),
        ]
        for f in pm.follow_ups
    ]
    return table(
        ["Action", "Description", "Owner role", "Owners", "Assignee", "Due", "Status"], rows
    )


def who(username: str | None) -> str:
    """A person; "Ripcord" for what the system did by itself."""
    return text(username) if username else "Ripcord"
