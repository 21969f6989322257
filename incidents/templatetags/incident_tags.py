from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def command_summary(command: dict[str, Any]) -> str:
    """A one-line description of a scripted step's command, for people who may act.

    Shows what runs (script, argv, image, URL, query name) — never variable values.
    """
    if not isinstance(command, dict):
        return ""
    for key in ("script", "action", "method", "query"):
        if key in command:
            value = command[key]
            extra = command.get("url") or command.get("service") or command.get("image") or ""
            return f"{key}: {value} {extra}".strip()
    if "argv" in command and isinstance(command["argv"], list):
        return " ".join(str(part) for part in command["argv"])
    return ", ".join(sorted(command))
