from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString, mark_safe

from common.notes_markdown import render_note
from incidents.clocks import LABELS, ClockState
from incidents.now import duration_words

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


@register.filter
def clock_label(state: str) -> str:
    try:
        return LABELS[ClockState(state)]
    except ValueError:
        return state


def _mmss(seconds: float) -> str:
    seconds = int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def clock_text(phase: Any, now: Any) -> str:
    """What the clock says at render time; the browser keeps it ticking (static/js/clocks.js)."""
    if now is None or phase.started_at is None:
        return f"starts at {phase.planned_start_at:%H:%M}"
    end = phase.ended_at or now
    elapsed = _mmss((end - phase.started_at).total_seconds())
    if phase.ended_at is not None:
        return f"took {elapsed}"
    left = (phase.planned_end_at - now).total_seconds()
    return f"{elapsed} elapsed · " + (
        f"{_mmss(left)} left" if left >= 0 else f"over by {_mmss(left)}"
    )


@register.filter
def run_detail(run: Any) -> str:
    """A finished run's summary, unless it only repeats the exit code the result line shows.

    Shell and Docker steps summarise themselves as "exit N"; the line already says
    "exit N", and "Succeeded · exit 0 · exit 0" reads like a stutter.
    """
    summary = (getattr(run, "summary", "") or "").strip()
    if run.exit_code is not None and summary == f"exit {run.exit_code}":
        return ""
    return summary


@register.filter
def note_html(text: str) -> SafeString:
    """A person's note as safe Markdown (common/notes_markdown.py): no raw HTML gets through."""
    return mark_safe(render_note(str(text)))  # markdown-it escapes: html is off


@register.filter(name="duration_words")
def duration_words_filter(span: timedelta) -> str:
    """ "12 min", "1 h 5 min" (incidents/now.py's words)."""
    return duration_words(span)


# The page renders a few URLs per step (hundreds per page): each route is reversed once,
# with sentinel ids, and later URLs are formatted from it (``{% url %}`` costs ~0.1 ms).
_URL_FORMATS: dict[tuple[str, str | None, str, int], str] = {}
_SENTINEL = 900_000_001


@register.simple_tag
def id_url(name: str, *ids: int) -> str:
    """``{% url name id ... %}`` for routes whose arguments are all integer ids."""
    key = (get_script_prefix(), get_urlconf(), name, len(ids))
    pattern = _URL_FORMATS.get(key)
    if pattern is None:
        sentinels = [str(_SENTINEL + i) for i in range(len(ids))]
        pattern = reverse(name, args=sentinels).replace("{", "{{").replace("}", "}}")
        for i, sentinel in enumerate(sentinels):
            pattern = pattern.replace(sentinel, "{" + str(i) + "}")
        _URL_FORMATS[key] = pattern
    return pattern.format(*(int(i) for i in ids))


@register.filter(expects_localtime=True)
def iso(value: datetime | None) -> str:
    """``|date:'c'`` (ISO 8601 in the current time zone), without the format machinery."""
    return value.isoformat() if isinstance(value, datetime) else ""


@register.filter(expects_localtime=True)
def hms(value: datetime | None) -> str:
    """``|date:"H:i:s"``."""
    return value.strftime("%H:%M:%S") if isinstance(value, datetime) else ""


@register.filter(expects_localtime=True)
def hm(value: datetime | None) -> str:
    """``|date:"H:i"``."""
    return value.strftime("%H:%M") if isinstance(value, datetime) else ""


@register.filter(expects_localtime=True)
def ymdhms(value: datetime | None) -> str:
    """``|date:"Y-m-d H:i:s"``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else ""
