"""Variable names a runbook may not set: each would change what code a step runs.

A runbook's variables and secrets reach a shell step as environment variables.
Most are data (``PGHOST``); the names below are read by the loader, the shell or
an interpreter before the step's own code runs, so setting one lets a variable
run other code than the script (``LD_PRELOAD``, ``BASH_ENV``), print what the
script does with its secrets (``SHELLOPTS=xtrace``), or replace the values
Ripcord gives every step (``PATH``, ``HOME``). ``check_runbook`` refuses them;
the shell executor drops them even from versions loaded before this list
existed, whatever a ``RIPCORD_ENV_`` override on the worker says.

No Django here: the executors import it.
"""

from __future__ import annotations

RIPCORD_PREFIX = "RIPCORD_"

_LOADS_CODE = "it makes {} load other code"

RESERVED: dict[str, str] = {
    "PATH": "Ripcord sets it (it decides which programs a step runs)",
    "HOME": "Ripcord sets it (to the run's working folder)",
    "ENV": "sh runs the file it names before the script",
    "BASH_ENV": "bash runs the file it names before the script",
    "SHELLOPTS": "it turns on shell options (xtrace prints every command) in the script",
    "BASHOPTS": "it turns on shell options (xtrace prints every command) in the script",
    "PS4": "bash expands it, running any command in it, before each traced line",
    "PROMPT_COMMAND": "bash runs it as a command",
    "IFS": "it changes how the shell splits words",
    "CDPATH": "it changes where the shell's cd goes",
    "GLOBIGNORE": "it changes what the shell's patterns match",
    "PYTHONPATH": "it makes Python import other code",
    "PYTHONHOME": "it makes Python import other code",
    "PYTHONUSERBASE": "it makes Python import other code",
    "PYTHONSTARTUP": "Python runs the file it names",
    "PERL5LIB": _LOADS_CODE.format("Perl"),
    "PERLLIB": _LOADS_CODE.format("Perl"),
    "PERL5OPT": _LOADS_CODE.format("Perl"),
    "RUBYLIB": _LOADS_CODE.format("Ruby"),
    "RUBYOPT": _LOADS_CODE.format("Ruby"),
    "NODE_OPTIONS": _LOADS_CODE.format("Node.js"),
    "NODE_PATH": _LOADS_CODE.format("Node.js"),
    "JAVA_TOOL_OPTIONS": _LOADS_CODE.format("Java"),
    "GCONV_PATH": _LOADS_CODE.format("the C library"),
}
"""Exact names, and why each is refused."""

RESERVED_PREFIXES: dict[str, str] = {
    "LD_": "LD_* variables make the dynamic loader load other code",
    "BASH_": "bash reads BASH_* variables as its own settings",
    RIPCORD_PREFIX: "RIPCORD_* names are Ripcord's own (and pass every step's env list)",
}


def reserved_reason(name: str) -> str | None:
    """Why a runbook may not set variable ``name``, or None if it may."""
    if name in RESERVED:
        return RESERVED[name]
    for prefix, reason in RESERVED_PREFIXES.items():
        if name.startswith(prefix):
            return reason
    return None
