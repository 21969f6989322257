"""What a section, a sentence or a code block is: small word lists, read in one place.

Sections are recognised by words of their heading; a heading without any
inherits what its parent is (``### Internal Team`` under ``## Communication
Plan``). Regexes here only ever read one token's text (a heading, an item, a
code block's first line), never the document's lines.
"""

from __future__ import annotations

import re
from enum import StrEnum

from runbooks.importers.markdown.words import word_set


class Kind(StrEnum):
    PROCEDURE = "procedure"
    REFERENCE = "reference"  # read, not done: meaning, impact, notes, references
    TIMELINE = "timeline"
    TRIGGERS = "triggers"
    SAFEGUARDS = "safeguards"
    VALIDATIONS = "validations"
    CRITERIA = "success_criteria"
    COMMUNICATIONS = "communications"
    ROLES = "roles"
    POST_ACTIONS = "post_actions"
    CONTACTS = "contacts"


# Phrases found anywhere in a heading (lower-cased, hyphens kept), first match wins.
_PHRASES: tuple[tuple[Kind, tuple[str, ...]], ...] = (
    (Kind.CRITERIA, ("success criteria", "exit criteria", "definition of done")),
    (Kind.TRIGGERS, ("triggers", "when to roll back", "when to rollback")),
    (
        Kind.SAFEGUARDS,
        ("safeguard", "prerequisite", "pre-migration", "pre-implementation", "before you begin"),
    ),
    (Kind.POST_ACTIONS, ("post-rollback action", "post-incident action", "follow-up action")),
    (Kind.POST_ACTIONS, ("post rollback action", "lessons learned", "after action")),
    (Kind.COMMUNICATIONS, ("communication plan", "communications plan", "communications")),
    (Kind.ROLES, ("responsibilities", "roles and", "team roles")),
    (Kind.CONTACTS, ("contact information", "contacts", "escalation contact")),
    (Kind.VALIDATIONS, ("data validation", "verification", "validations", "validation checks")),
    (Kind.TIMELINE, ("timeline",)),
)
# A heading whose first word is one of these is read, not done.
_REFERENCE_FIRST = word_set(
    "meaning impact description overview introduction background notes note reference"
    " references resources summary context about glossary appendix additional"
)
_EXACT = {
    "communication": Kind.COMMUNICATIONS,
    "roles": Kind.ROLES,
    "contact": Kind.CONTACTS,
    "trigger": Kind.TRIGGERS,
}
# Headings that say their lists are things to do, whatever verb (or none) the items open with.
_PROCEDURE_WORDS = word_set(
    "steps procedure procedures checklist mitigation mitigations resolution remediation"
    " instructions actions"
)


def says_steps(title: str) -> bool:
    """``Potential resolution steps``, ``Mitigation``: every item listed is a step."""
    return bool(_PROCEDURE_WORDS & set(title.lower().replace(":", " ").split()))


def heading_kind(title: str) -> Kind | None:
    """The kind a heading names, or ``None`` when it names none (it inherits its parent's)."""
    lowered = " ".join(title.lower().replace(":", " ").split())
    for kind, phrases in _PHRASES:
        if any(phrase in lowered for phrase in phrases):
            return kind
    if lowered in _EXACT:
        return _EXACT[lowered]
    words = lowered.split()
    if words and words[0] in _REFERENCE_FIRST:
        return Kind.REFERENCE
    return None


# Verbs that open an instruction ("Check the pods", "Run the script"). Lower-case.
IMPERATIVE_VERBS = word_set(
    """
    activate add adjust alert allow analyze analyse announce apply approve archive ask assemble
    assess assign attach back backup block bring build bump call cancel capture change check
    choose clean clear click close collect commit communicate compare configure confirm connect
    consider contact copy correct create cut debug declare decide define delegate delete deploy
    describe determine develop disable disconnect document download drain drop edit email enable
    ensure escalate establish examine execute exit export fetch file fill find fix flush follow
    force gather generate get give go grant identify implement increase inform install
    investigate invite isolate keep kill launch let list listen load lock log login look make
    mark merge migrate modify monitor mount move navigate note notify obtain open page patch pause
    perform ping plan point post prepare prevent promote provide publish pull purge push put
    quarantine re-enable reach read reboot rebuild record reduce refresh reinstate release reload
    remove rename repeat replace report request reset resize restart restore resume retrieve
    return revert review revoke rollback roll rotate run save scale schedule search select send
    set setup share shut shutdown skip snapshot specify ssh start stop store submit suspend switch
    take tag tell terminate test track trigger truncate tune turn type uninstall unlock unmount
    update upgrade upload use validate verify wait watch wipe write blacklist whitelist try include
    be prefer discuss reconfigure refer provision interview understand focus coordinate distribute
    comply categorize prioritize conduct correlate enrich integrate black sinkhole study exec
    connect browse leave mv umount wait deprecate announce join
    """
)
_SKIPPED_OPENERS = word_set("optional optionally then finally first next also please now and")
_CONDITIONS = word_set("if when once after before where unless while as in for upon to under")
_NEGATIVE = ("do not ", "don't ", "dont ", "never ", "avoid ")
_MODAL = ("you must ", "you need to ", "you have to ", "make sure ", "be sure ")
_NOT_INSTRUCTIONS = ("note that ", "please note ", "note:")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`_*\[(])")


def is_instruction(text: str) -> bool:
    """Whether ``text`` tells someone to do something.

    It opens with an imperative verb (``OPTIONAL:``, ``Then`` and the like skipped),
    a prohibition (``Do not``, ``Never``), or ``you should`` and the like; or a
    condition does, followed by one (``If the pod failed, delete it``).
    """
    return _instruction(text, allow_condition=True)


def _instruction(text: str, *, allow_condition: bool) -> bool:
    lowered = " ".join(text[:240].lower().replace("*", "").replace("_", " ").split())
    if lowered.startswith(_NOT_INSTRUCTIONS):
        return False
    if lowered.startswith(_NEGATIVE) or lowered.startswith(_MODAL):
        return True
    first = next((w for w in _WORD.findall(lowered, 0, 80) if w not in _SKIPPED_OPENERS), "")
    if first in IMPERATIVE_VERBS or (first.startswith("re-") and len(first) > 4):
        return True
    if allow_condition and first in _CONDITIONS:
        for mark in (", ", " then "):
            cut = lowered.find(mark, 0, 200)
            if cut > 0:
                return _instruction(lowered[cut + len(mark) :], allow_condition=False)
    return False


_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.")


def sentences(text: str) -> list[str]:
    """``text`` cut after each ``.``, ``!`` or ``?`` that a capitalised word follows.

    Not after an abbreviation: ``(e.g. Use the script)`` stays one sentence.
    """
    out: list[str] = []
    for part in _SENTENCE_END.split(text):
        if out and out[-1].lower().endswith(_ABBREVIATIONS):
            out[-1] = f"{out[-1]} {part}"
        elif part.strip():
            out.append(part)
    return out


SHELL_LANGS = frozenset({"bash", "sh", "shell", "console", "zsh", "shell-session", "shellsession"})
SQL_LANGS = frozenset({"sql", "psql", "postgresql", "pgsql", "mysql", "plpgsql"})
# First words that make an unlabelled block "clearly shell".
_COMMANDS = word_set(
    """
    apt apt-get aws az bash bundle cat cd chmod chown cp curl dig docker docker-compose dpkg echo
    env export gcloud gds-cli git grep gsutil head helm jq journalctl kill kubectl ln ls make
    mkdir mount mv nc oc pg_dump pg_restore pip ps psql python python3 rake rbenv redis-cli rm
    rsync scp sed service set sh sleep source ssh sudo systemctl tail tar terraform umount
    unset vault wget yum knife gitlab-ctl gitlab-rake gitlab-psql patronictl
    """
)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def code_kind(lang: str, content: str) -> str:
    """``"shell"``, ``"sql"`` or ``"text"`` (shown in a description, never run)."""
    if lang in SHELL_LANGS:
        return "shell"
    if lang in SQL_LANGS:
        return "sql"
    if lang:
        return "text"
    for line in content.split("\n")[:50]:
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not stripped.startswith("#!")):
            continue
        if stripped.startswith(("#!", "$ ")):
            return "shell"
        first = stripped.split()[0]
        if first in _COMMANDS or _ASSIGNMENT.match(first) or first.startswith(("./", "bin/")):
            return "shell"
        return "text"
    return "text"


def prompt_commands(content: str) -> str | None:
    """The commands of a console transcript (``$ `` lines, prompts stripped), or ``None``.

    ``None`` when the block is not a transcript (its first non-blank line has no prompt).
    Lines without a prompt are the commands' output, and are dropped.
    """
    lines = content.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if not first.lstrip().startswith("$ "):
        return None
    commands = [line.lstrip()[2:] for line in lines if line.lstrip().startswith("$ ")]
    return "\n".join(commands) + "\n"


_UNIT_MINUTES = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1}
_UNIT_MINUTES |= {"h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60}
_WINDOW = re.compile(
    r"(\d{1,5})\s*(?:-|\u2013|\u2014|to)\s*(\d{1,5})\s*(minutes|minute|mins|min|m|hours|hour|hrs|hr|h)\b",
    re.IGNORECASE,
)


def time_window(text: str) -> tuple[int, int, str] | None:
    """``"(15-60 min)"`` → ``(15, 60, "15-60 min")``: minutes from the incident's start."""
    match = _WINDOW.search(text)
    if match is None:
        return None
    unit = _UNIT_MINUTES[match[3].lower()]
    start, end = int(match[1]) * unit, int(match[2]) * unit
    if end <= start:
        return None
    return start, end, match[0]
