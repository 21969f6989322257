from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def documented() -> dict[str, str]:
    """NAME -> the comment line right above ``NAME=…`` in .env.example."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    found = {}
    for above, line in zip(["", *lines], lines, strict=False):
        if match := re.match(r"^([A-Z][A-Z0-9_]*)=", line):
            found[match[1]] = above
    return found


def test_env_example_documents_every_settings_variable():
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r"env_[a-z]+\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_source))
    assert read, "no env_*() calls found: did config/settings.py change shape?"
    assert read - documented().keys() == set()


def test_env_example_documents_every_compose_variable():
    compose_source = (ROOT / "compose.yaml").read_text()
    # ${NAME...} is substituted by compose; $${NAME} is left to the container's shell.
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", compose_source))
    assert used - documented().keys() == set()


def test_env_example_comments_every_variable():
    uncommented = [name for name, above in documented().items() if not above.startswith("#")]
    assert uncommented == []
