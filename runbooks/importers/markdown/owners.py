"""Who does each step: the role a heading names, else the role whose stated duties fit best.

Roles come from a responsibilities section ("**Backend Engineer**: Handle API
rollback and data validation") or from headings ("Steps for Scribe"). A step
goes to the role its heading names; otherwise each role scores the words it
shares with the step and its section, a word counting less the more roles
share it, and words of a role's title half as much as words of its duties.
Where no role fits, or two fit about as well, the guess is a TODO naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbooks.importers.markdown.words import significant_words
from runbooks.specs import INCIDENT_COMMANDER

IC_NAMES = frozenset({"incident commander", "ic", "incident manager", "imoc", "commander"})
_ROLE_HEADING_PREFIXES = ("steps for the ", "steps for ", "tasks for the ", "tasks for ", "role: ")


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    title: str
    responsibility: str
    line: int


@dataclass(frozen=True, slots=True)
class Guess:
    role: str
    doubt: str  # "" when sure, else what a person should check


def role_in_heading(title: str) -> str:
    """``Steps for Incident Commander`` → ``Incident Commander`` ("" when no role is named)."""
    lowered = title.lower()
    for prefix in _ROLE_HEADING_PREFIXES:
        if lowered.startswith(prefix):
            return title[len(prefix) :].strip()
    return ""


def is_commander(title: str) -> bool:
    return " ".join(title.lower().split()) in IC_NAMES


class Matcher:
    def __init__(self, roles: list[Role]) -> None:
        self.roles = roles
        self._duties = {r.id: significant_words(r.responsibility) for r in roles}
        self._titles = {r.id: significant_words(r.title) for r in roles}
        counts: dict[str, int] = {}
        for role in roles:
            for word in self._duties[role.id] | self._titles[role.id]:
                counts[word] = counts.get(word, 0) + 1
        self._weight = {word: 1 / count for word, count in counts.items()}
        self._by_title = {" ".join(r.title.lower().split()): r.id for r in roles}

    def by_title(self, title: str) -> str | None:
        if is_commander(title):
            return INCIDENT_COMMANDER
        return self._by_title.get(" ".join(title.lower().split()))

    def scores(self, text: str) -> list[tuple[float, str]]:
        words = significant_words(text)
        scored = []
        for role in self.roles:
            score = sum(self._weight[w] for w in words & self._duties[role.id])
            score += sum(self._weight[w] / 2 for w in words & self._titles[role.id])
            scored.append((score, role.id))
        return sorted(scored, key=lambda pair: -pair[0])  # stable: ties keep the roles' order

    def guess(self, text: str, context: str, fallback: str) -> Guess:
        """The best role for ``text`` (a step) within ``context`` (its section's title)."""
        scored = self.scores(f"{text}\n{context}")
        if not scored or scored[0][0] == 0:
            return Guess(fallback, f"no role's duties match; guessed {fallback}")
        (best, role), runner = scored[0], scored[1] if len(scored) > 1 else (0.0, "")
        if runner[0] * 1.5 >= best:
            return Guess(role, f"guessed {role}; {runner[1]} fits about as well")
        return Guess(role, "")
