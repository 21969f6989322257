"""A parsed document read as a runbook: section kinds, title, roles, timeline, steps."""

from __future__ import annotations

from dataclasses import dataclass

from runbooks.importers.markdown.blocks import entries
from runbooks.importers.markdown.kinds import Kind, heading_kind, time_window
from runbooks.importers.markdown.owners import Role, is_commander, role_in_heading
from runbooks.importers.markdown.plan import TimelineEntry, without_window
from runbooks.importers.markdown.procedure import Draft, section_steps
from runbooks.importers.markdown.sections import Document, ItemList, Paragraph, Section
from runbooks.importers.markdown.words import significant_words


@dataclass(frozen=True, slots=True)
class Reading:
    kinds: dict[Section, Kind]
    holders: list[tuple[Section, list[Draft]]]  # procedure sections with their own steps
    timeline: list[TimelineEntry]
    roles: list[Role]


def read(document: Document) -> Reading:
    kinds = section_kinds(document.root)
    headings = [significant_words(s.title) for s in document.root.walk() if s.level]
    holders = []
    for section in document.root.walk():
        if kinds[section] in (Kind.PROCEDURE, Kind.REFERENCE):
            steps = section_steps(section, headings, reference=kinds[section] == Kind.REFERENCE)
            if steps:
                holders.append((section, steps))
    return Reading(kinds, holders, _timeline(document.root, kinds), _roles(document.root, kinds))


def section_kinds(root: Section) -> dict[Section, Kind]:
    kinds: dict[Section, Kind] = {}
    for section in root.walk():
        parent = kinds[section.parent] if section.parent is not None else Kind.PROCEDURE
        if parent == Kind.REFERENCE:  # "# Overview" over the whole document describes only itself
            parent = Kind.PROCEDURE
        kinds[section] = heading_kind(section.title) or parent
    for section, kind in kinds.items():
        if kind == Kind.TIMELINE and not _windows(section):
            kinds[section] = Kind.PROCEDURE  # "Identify Timeline of Attack": a task, not a plan
    return kinds


def _windows(section: Section) -> list[TimelineEntry]:
    found = []
    for block in section.blocks:
        if isinstance(block, ItemList):
            for item in block.items:
                window = time_window(item.text.plain)
                if window is not None:
                    text = item.text.rest if item.text.lead else item.text.plain
                    title = without_window(text) or item.text.lead or text
                    found.append(TimelineEntry(title, item.line, window[:2]))
    return found


def _timeline(root: Section, kinds: dict[Section, Kind]) -> list[TimelineEntry]:
    for section in root.walk():
        if kinds[section] == Kind.TIMELINE:
            return _windows(section)
    return []


def _roles(root: Section, kinds: dict[Section, Kind]) -> list[Role]:
    roles: list[Role] = []
    for section in root.walk():
        if kinds[section] == Kind.ROLES and (
            section.parent is None or kinds[section.parent] != Kind.ROLES
        ):
            for entry in entries(section, kinds):
                title = entry.lead or entry.plain
                roles.append(Role("", title[:200], entry.rest if entry.lead else "", entry.line))
        named = role_in_heading(section.title)
        if named and kinds[section] == Kind.PROCEDURE:
            roles.append(Role("", named[:200], "", section.line))
    seen: set[str] = set()
    unique = []
    for role in roles:
        name = " ".join(role.title.lower().split())
        if name not in seen and not is_commander(role.title):
            seen.add(name)
            unique.append(role)
    return unique


def title_and_summary(document: Document, fallback: str) -> tuple[str, str]:
    front = document.front_matter
    given, described = front.get("title"), front.get("description")
    top = next((s for s in document.root.walk() if s.level), None)
    title = given if isinstance(given, str) and given.strip() else ""
    title = title or (top.title if top is not None else "") or fallback
    summary = described if isinstance(described, str) else ""
    if not summary:
        for section in [document.root, *([top] if top is not None else [])]:
            first = next((b for b in section.blocks if isinstance(b, Paragraph)), None)
            if first is not None:
                summary = first.text.plain
                break
    return " ".join(title.split())[:200], summary[:1000]
