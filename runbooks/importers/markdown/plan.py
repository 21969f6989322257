"""Steps → phases, with their time budgets.

With a timeline ("Phase 2: Data rollback (15-60 minutes)"), its entries are the
phases and each procedure section goes to the entry whose title it shares words
with (words most section titles share, such as "rollback", do not count). A
section sharing none follows the one before it, or opens the next entry when no
later section claims that entry; so "3. Application Rollback" lands in "System
restoration" between "Data rollback" and "Validation and monitoring".

Without one, phases are the headings of the level holding the most sections with
steps (numbered headings, "### 3. Restore", are steps of their parent, never
phases). A time window in a heading ("(15-60 min)") is its phase's budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from runbooks.importers.markdown.kinds import time_window
from runbooks.importers.markdown.procedure import Draft
from runbooks.importers.markdown.sections import Section
from runbooks.importers.markdown.words import significant_words

_NUMBERED_OPENERS = ("step ", "optional step ", "phase ", "part ")


@dataclass(eq=False, slots=True)
class PhaseDraft:
    title: str
    line: int
    window: tuple[int, int] | None
    steps: list[Draft] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    title: str
    line: int
    window: tuple[int, int]


def without_window(title: str) -> str:
    window = time_window(title)
    if window is not None:
        title = title.replace(window[2], "").replace("()", "").replace("( )", "")
    return title.strip(" -\u2013\u2014:,")


def is_numbered(title: str) -> bool:
    """``3. Restore``, ``Step 2: Check``, ``OPTIONAL Step 3``: steps of a procedure, not phases."""
    lowered = title.lower().lstrip("#*_ ")
    if lowered[:1].isdigit():
        return True
    return any(
        lowered.startswith(opener) and lowered[len(opener) : len(opener) + 1].isdigit()
        for opener in _NUMBERED_OPENERS
        if opener != "phase "
    )


def phases_from_timeline(
    timeline: Sequence[TimelineEntry], holders: Sequence[tuple[Section, list[Draft]]]
) -> list[PhaseDraft]:
    phases = [PhaseDraft(entry.title, entry.line, entry.window) for entry in timeline]
    titles = [significant_words(without_window(s.title)) for s, _ in holders]
    common = _common_words(titles)
    targets = [significant_words(entry.title) - common for entry in timeline]
    matches = [_best(words - common, targets) for words in titles]
    current = -1
    for k, (_, steps) in enumerate(holders):
        match = matches[k]
        if match is None:
            claimed_later = {m for m in matches[k + 1 :] if m is not None}
            if current + 1 < len(phases) and (current < 0 or current + 1 not in claimed_later):
                current += 1
            match = current
        else:
            current = max(current, match)
        phases[match].steps += steps
    return phases


def _shared(words: frozenset[str], target: frozenset[str]) -> int:
    """Words of ``target`` found in ``words``, one a prefix of the other counting ("data", "database")."""
    return sum(1 for t in target if any(w.startswith(t) or t.startswith(w) for w in words))


def _common_words(titles: list[frozenset[str]]) -> frozenset[str]:
    if len(titles) < 3:
        return frozenset()
    counts: dict[str, int] = {}
    for words in titles:
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    return frozenset(word for word, count in counts.items() if count * 2 > len(titles))


def _best(words: frozenset[str], targets: list[frozenset[str]]) -> int | None:
    scores = [_shared(words, target) for target in targets]
    best = max(scores, default=0)
    if best == 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


def phases_from_headings(
    holders: Sequence[tuple[Section, list[Draft]]], title: str
) -> list[PhaseDraft]:
    level = _phase_level([section for section, _ in holders])
    phases: dict[Section | None, PhaseDraft] = {}
    for section, steps in holders:
        home = _home(section, level)
        if home not in phases:
            name = without_window(home.title) if home is not None and home.level else title
            line = home.line if home is not None else 1
            window = time_window(home.title) if home is not None else None
            phases[home] = PhaseDraft(name or title, line, window[:2] if window else None)
        phases[home].steps += steps
    return list(phases.values())


def _phase_level(sections: list[Section]) -> int:
    per_level: dict[int, set[Section]] = {}
    for section in sections:
        for candidate in [section, *section.ancestors()]:
            if candidate.level and not is_numbered(candidate.title):
                per_level.setdefault(candidate.level, set()).add(candidate)
    if not per_level:
        return 0
    return max(sorted(per_level), key=lambda level: len(per_level[level]))


def _home(section: Section, level: int) -> Section | None:
    chain = [section, *section.ancestors()]
    for candidate in chain:
        if candidate.level == level and not is_numbered(candidate.title):
            return candidate
    for candidate in chain:
        if 0 < candidate.level < level and not is_numbered(candidate.title):
            return candidate
    return section if section.level else None
