"""The runbook's other blocks, from the sections that hold them.

Each list item (or table row) of a triggers, safeguards, validations, success
criteria, communications, post-actions, contacts or responsibilities section
becomes one entry; a sub-heading names its group (a safeguard's category, a
validation's family, a communication's audience). A trigger stating a threshold
("affecting >5% of users") gets a rule stub with the threshold filled in and a
placeholder query, which matches nothing until a person writes the real one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbooks.importers.markdown.kinds import Kind
from runbooks.importers.markdown.sections import ItemList, Section, Table
from runbooks.specs import TriggerRule

PLACEHOLDER_QUERY = "TODO"
"""A PromQL selector of a metric that does not exist: the stub rule never fires."""


@dataclass(frozen=True, slots=True)
class Entry:
    line: int
    plain: str
    lead: str  # bold lead, or the text before a colon; "" for none
    rest: str
    group: Section  # the (sub-)section the entry sits in


def entries(section: Section, kinds: dict[Section, Kind]) -> list[Entry]:
    """Items and table rows of ``section`` and of its sub-sections of the same kind."""
    out: list[Entry] = []
    for sub in section.walk():
        if kinds.get(sub) != kinds.get(section) or _inside_other(sub, section, kinds):
            continue
        for block in sub.blocks:
            if isinstance(block, ItemList):
                for item in block.items:
                    text = item.text
                    if not text.plain:
                        continue
                    lead, rest = (text.lead, text.rest) if text.lead else _colon(text.plain)
                    out.append(Entry(item.line, text.plain, lead, rest, sub))
            elif isinstance(block, Table) and len(block.header) >= 2:
                for line, cells in block.rows:
                    if cells and cells[0]:
                        rest = " ".join(c for c in cells[1:] if c)
                        out.append(Entry(line, f"{cells[0]}: {rest}", cells[0], rest, sub))
    return out


def _inside_other(sub: Section, top: Section, kinds: dict[Section, Kind]) -> bool:
    """Whether a section of another kind lies between ``sub`` and ``top``."""
    parent = sub.parent if sub is not top else None
    while parent is not None and parent is not top:
        if kinds.get(parent) != kinds.get(top):
            return True
        parent = parent.parent
    return False


def _colon(text: str) -> tuple[str, str]:
    head, sep, tail = text.partition(": ")
    if sep and len(head) <= 60 and "`" not in head:
        return head.strip().strip("*_"), tail.strip()
    return "", text


_THRESHOLD = re.compile(
    r"(>=|<=|>|<|≥|≤|more than|over|above|exceeds?|less than|below|under)\s*"
    r"(\d+(?:\.\d+)?)\s*(%|percent)?",
    re.IGNORECASE,
)
_COMPARISON = {"≥": ">=", "≤": "<=", "less than": "<", "below": "<", "under": "<"}


def trigger_rule(text: str) -> TriggerRule | None:
    """A rule stub for a threshold stated in ``text`` (a percentage becomes a ratio)."""
    match = _THRESHOLD.search(text)
    if match is None:
        return None
    word = match[1].lower()
    comparison = _COMPARISON.get(word, word if word in (">=", "<=", ">", "<") else ">")
    threshold = float(match[2]) / (100 if match[3] else 1)
    return TriggerRule(
        source="prometheus",
        query=PLACEHOLDER_QUERY,
        comparison=comparison,
        threshold=round(threshold, 6),
    )


def audience(group: Section) -> str:
    words = group.title.lower()
    external = ("external", "customer", "public", "user", "status page")
    return "external" if any(word in words for word in external) else "internal"
