"""Markdown bytes → a typed ``RunbookSpec``, its scripts, and the TODOs a person must settle.

The spec is built as data and validated by the format's own models, so what is
written is a runbook ``check_runbook`` accepts by construction (the writer still
runs the check on the written folder). Every scripted step imported is gated by
the incident commander's approval: imported code is untrusted until reviewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from common.text import unstorable_in
from runbooks.importers.limits import RESERVED_IDS
from runbooks.importers.markdown import blocks as b
from runbooks.importers.markdown.ids import Keys, script_name, slug
from runbooks.importers.markdown.kinds import Kind
from runbooks.importers.markdown.owners import Matcher, Role, role_in_heading
from runbooks.importers.markdown.plan import PhaseDraft, phases_from_headings, phases_from_timeline
from runbooks.importers.markdown.procedure import Draft
from runbooks.importers.markdown.readiness import Readiness, readiness
from runbooks.importers.markdown.reading import Reading, read, title_and_summary
from runbooks.importers.markdown.sections import Section, build
from runbooks.importers.markdown.source import decode_source
from runbooks.importers.markdown.tokens import parse
from runbooks.importers.problems import Problem, RunbookError
from runbooks.specs import INCIDENT_COMMANDER, RunbookSpec

MAX_STEPS = 1000
PLACEHOLDER_MINUTES = 30  # a phase without a window in the document gets this, and a TODO
MAX_DESCRIPTION = 10_000
DEFAULT_ROLE = Role("responder", "Responder", "", 0)


@dataclass(frozen=True, slots=True)
class Todo:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True, slots=True)
class Imported:
    spec: RunbookSpec
    scripts: dict[str, str]  # path relative to the runbook (scripts/NAME.sh) → content
    todos: list[Todo]
    step_lines: dict[str, int]  # step id → line of the document it came from
    readiness: Readiness
    source_path: str


def import_markdown(data: bytes, *, path: str, runbook_id: str | None = None) -> Imported:
    """Import one Markdown document; ``RunbookError`` (``path:line: message``) if it cannot be."""
    text = decode_source(data, path=path)
    tokens, repairs = parse(text, path=path)
    document = build(tokens)
    reading = read(document)
    title, summary = title_and_summary(document, PurePosixPath(path).stem)
    todos = [
        Todo(r.opened_line, f"code block never closed: closed it before line {r.closed_before}")
        for r in repairs
    ]
    runbook = _Builder(reading, todos, path)
    if runbook_id in RESERVED_IDS:
        message = f"runbook id {runbook_id!r} is reserved: it names a page of Ripcord's"
        raise RunbookError([Problem(path, 0, "", message)])
    spec = runbook.spec(runbook_id or _default_id(title), title, summary, path)
    placeholders = runbook.placeholder_steps
    return Imported(
        spec=spec,
        scripts=runbook.scripts,
        todos=sorted(todos, key=lambda todo: todo.line),
        step_lines=runbook.step_lines,
        readiness=readiness(spec, placeholder_steps=placeholders),
        source_path=path,
    )


def _default_id(title: str) -> str:
    key = slug(title, "imported")
    return f"{key}-runbook" if key in RESERVED_IDS else key


class _Builder:
    def __init__(self, reading: Reading, todos: list[Todo], path: str) -> None:
        self.reading = reading
        self.path = path
        self.todos = todos
        self.scripts: dict[str, str] = {}
        self.step_lines: dict[str, int] = {}
        self.placeholder_steps = 0
        roles = reading.roles
        keys = Keys({INCIDENT_COMMANDER})
        self.roles = [
            Role(keys.key(r.title, "role"), r.title, r.responsibility, r.line) for r in roles
        ]
        if not self.roles:
            self.roles = [DEFAULT_ROLE]
            todos.append(Todo(0, "the document names no roles: every step is the responder's"))
        self.matcher = Matcher(self.roles)

    def spec(self, runbook_id: str, title: str, summary: str, path: str) -> RunbookSpec:
        data: dict[str, Any] = {
            "id": runbook_id,
            "title": title,
            "summary": summary,
            "roles": [
                {"id": r.id, "title": r.title, "responsibility": r.responsibility}
                for r in self.roles
            ],
            "environments": [self._environment()],
            "triggers": self._triggers(),
            "safeguards": self._safeguards(),
            "phases": self._phases(),
            "validations": self._validations(),
            "success_criteria": self._criteria(),
            "communications": self._communications(),
            "post_actions": self._post_actions(),
            "contacts": self._contacts(),
        }
        if found := unstorable_in(data):
            # Markdown text is checked as it is decoded; only front matter's YAML escapes
            # ("\0", "\ud800") can bring such text this far.
            where, reason = found
            raise RunbookError(
                [Problem(path, 1, "", f"the front matter (the runbook's {where}) {reason}")]
            )
        try:
            return RunbookSpec.model_validate(data)
        except ValidationError as exc:  # what the builder made from this document is not a runbook
            errors = "; ".join(f"{e['loc']}: {e['msg']}" for e in exc.errors()[:5])
            raise RunbookError(
                [Problem(path, 1, "", f"import produced an invalid runbook: {errors}")]
            ) from None

    # --- phases and steps ------------------------------------------------------

    def _phases(self) -> list[dict[str, Any]]:
        reading = self.reading
        holders = reading.holders
        drafts = [step for _, steps in holders for step in steps]
        if len(drafts) > MAX_STEPS:
            line = drafts[MAX_STEPS].line
            raise RunbookError([Problem(self.path, line, "", f"more than {MAX_STEPS} steps")])
        if reading.timeline:
            phases = phases_from_timeline(reading.timeline, holders)
        else:
            phases = phases_from_headings(holders, "Procedure")
        for phase in phases:
            if not phase.steps:
                self.todos.append(Todo(phase.line, f"phase {phase.title!r} has no steps: left out"))
        phases = [phase for phase in phases if phase.steps]
        if not phases:
            self.todos.append(Todo(0, "no steps found: write the procedure (one placeholder step)"))
            self.placeholder_steps = 1
            return [self._placeholder_phase()]
        keys, step_keys, script_keys = Keys(), Keys(), Keys()
        out, previous = [], (0, 0)
        for phase in phases:
            start, stop = previous = self._budget(phase, previous)
            steps = [self._step(draft, step_keys, script_keys) for draft in phase.steps]
            out.append(
                {
                    "id": keys.key(phase.title, "phase"),
                    "title": phase.title[:200] or "Phase",
                    "starts_at_minutes": start,
                    "ends_at_minutes": stop,
                    "steps": steps,
                }
            )
        return out

    def _budget(self, phase: PhaseDraft, previous: tuple[int, int]) -> tuple[int, int]:
        """The document's window; else a placeholder after the previous phase, and a TODO.

        A window starting before the previous phase's is refused by the format
        (phases run in order), so it is replaced the same way.
        """
        if phase.window is not None and phase.window[0] >= previous[0]:
            return phase.window
        start = previous[1]
        why = (
            "no time window in the document"
            if phase.window is None
            else "its window starts too early"
        )
        self.todos.append(
            Todo(
                phase.line,
                f"phase {phase.title!r}: {why}; budget set to minutes"
                f" {start}-{start + PLACEHOLDER_MINUTES}",
            )
        )
        return start, start + PLACEHOLDER_MINUTES

    def _placeholder_phase(self) -> dict[str, Any]:
        step = {
            "id": "write_the_procedure",
            "title": "Write the procedure",
            "owner": self.roles[0].id,
        }
        self.step_lines["write_the_procedure"] = 0
        return {
            "id": "procedure",
            "title": "Procedure",
            "starts_at_minutes": 0,
            "ends_at_minutes": PLACEHOLDER_MINUTES,
            "steps": [step],
        }

    def _step(self, draft: Draft, keys: Keys, script_keys: Keys) -> dict[str, Any]:
        key = keys.key(draft.title, "step")
        self.step_lines[key] = draft.line
        step: dict[str, Any] = {
            "id": key,
            "title": draft.title[:200] or "Step",
            "description": self._description(draft),
            "owner": self._owner(draft),
        }
        if draft.optional:
            step["optional"] = True
        if draft.kind == "shell":
            name = script_keys.key(script_name(draft.script_hint, draft.title), "script")
            relpath = f"scripts/{name}.sh"
            self.scripts[relpath] = draft.script
            step |= {"kind": "shell", "command": {"script": relpath}}
        elif draft.kind == "sql":
            step |= {"kind": "sql", "command": {"query": draft.script}}
        if draft.kind != "manual":
            step["approval"] = INCIDENT_COMMANDER
            self.todos.append(
                Todo(
                    draft.line,
                    f"step {key!r}: review the imported {draft.kind} before it runs"
                    " (it waits for the incident commander's approval)",
                )
            )
        for note in draft.notes:
            self.todos.append(Todo(draft.line, f"step {key!r}: {note}"))
        return step

    def _description(self, draft: Draft) -> str:
        text = draft.description
        if len(text) > MAX_DESCRIPTION:
            self.todos.append(Todo(draft.line, f"step {draft.title[:40]!r}: long description cut"))
            text = text[:MAX_DESCRIPTION] + "…"
        return text

    def _owner(self, draft: Draft) -> str:
        for section in [draft.section, *draft.section.ancestors()]:
            named = role_in_heading(section.title)
            role = self.matcher.by_title(named) if named else None
            if role is not None:
                return role
        fallback = INCIDENT_COMMANDER if len(self.roles) > 1 else self.roles[0].id
        guess = self.matcher.guess(
            f"{draft.title}\n{draft.description[:500]}", draft.section.title, fallback
        )
        if guess.doubt and self.roles != [DEFAULT_ROLE]:
            self.todos.append(Todo(draft.line, f"owner of {draft.title[:60]!r}: {guess.doubt}"))
        return guess.role

    # --- the other blocks ------------------------------------------------------

    def _top(self, kind: Kind) -> list[Section]:
        kinds = self.reading.kinds
        return [
            s for s in kinds if kinds[s] == kind and (s.parent is None or kinds[s.parent] != kind)
        ]

    def _entries(self, kind: Kind) -> list[b.Entry]:
        return [e for s in self._top(kind) for e in b.entries(s, self.reading.kinds)]

    def _environment(self) -> dict[str, Any]:
        self.todos.append(
            Todo(0, "environment 'production': add the variables and secrets the scripts read")
        )
        return {
            "id": "production",
            "title": "Production",
            "is_production": True,
            "description": "Imported: add the variables and secret references the steps need.",
        }

    def _triggers(self) -> list[dict[str, Any]]:
        keys, out = Keys(), []
        for entry in self._entries(Kind.TRIGGERS):
            trigger: dict[str, Any] = {
                "id": keys.key(entry.plain, "trigger"),
                "description": entry.plain,
            }
            rule = b.trigger_rule(entry.plain)
            if rule is not None:
                trigger["rule"] = rule.model_dump(exclude_defaults=True)
                self.todos.append(
                    Todo(
                        entry.line,
                        f"trigger {trigger['id']!r}: write the query for the"
                        f" threshold {rule.comparison} {rule.threshold}",
                    )
                )
            out.append(trigger)
        return out

    def _safeguards(self) -> list[dict[str, Any]]:
        keys = Keys()
        return [
            {
                "id": keys.key(e.plain, "safeguard"),
                "category": slug(e.group.title, "safeguards"),
                "title": e.plain[:500],
            }
            for e in self._entries(Kind.SAFEGUARDS)
        ]

    def _validations(self) -> list[dict[str, Any]]:
        keys = Keys()
        return [
            {
                "id": keys.key(e.plain, "validation"),
                "family": slug(e.group.title, "checks"),
                "title": e.plain[:500],
            }
            for e in self._entries(Kind.VALIDATIONS)
        ]

    def _criteria(self) -> list[dict[str, Any]]:
        keys, out = Keys(), []
        for entry in self._entries(Kind.CRITERIA):
            out.append({"id": keys.key(entry.plain, "criterion"), "title": entry.plain[:500]})
        if out:
            line = self._top(Kind.CRITERIA)[0].line
            self.todos.append(
                Todo(line, f"{len(out)} success criteria: give each a check or a sign-off role")
            )
        return out

    def _communications(self) -> list[dict[str, Any]]:
        keys, out = Keys(), []
        for entry in self._entries(Kind.COMMUNICATIONS):
            channel = entry.lead or "TODO"
            owner = self.matcher.guess(entry.plain, entry.group.title, INCIDENT_COMMANDER).role
            out.append(
                {
                    "id": keys.key(entry.lead or entry.plain, "communication"),
                    "audience": b.audience(entry.group),
                    "channel": channel[:200],
                    "owner": owner,
                    "description": entry.plain[:1000],
                }
            )
        return out

    def _post_actions(self) -> list[dict[str, Any]]:
        keys, out = Keys(), []
        for entry in self._entries(Kind.POST_ACTIONS):
            title = entry.lead or entry.plain
            owner = self.matcher.guess(entry.plain, "", INCIDENT_COMMANDER).role
            out.append(
                {
                    "id": keys.key(title, "action"),
                    "title": title[:200],
                    "owner": owner,
                    "description": entry.rest if entry.lead else "",
                }
            )
        return out

    def _contacts(self) -> list[dict[str, Any]]:
        keys = Keys()
        return [
            {
                "id": keys.key(e.lead or e.plain, "contact"),
                "title": (e.lead or e.plain)[:200],
                "reach": e.rest if e.lead else "",
            }
            for e in self._entries(Kind.CONTACTS)
        ]
