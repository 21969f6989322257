"""The runbook format's communication blocks: destinations, cadence, templates.

An environment declares where messages go (``destinations``); a communication item
names the destinations it is sent to; the runbook says how often each audience must
hear from the incident (``communication_cadence``, minutes) and what support tells
customers (``talking_points``). Addresses and signing keys are secret references
(``env:NAME``): the worker that delivers reads them from its own environment, and
they are never stored, shown or logged.

Templates use ``{name}`` placeholders from ``PLACEHOLDERS`` only; ``template_problems``
says what is wrong with one (``runbooks.importers.communication`` locates it).
The drafts are rendered by ``comms.drafts`` with the same parser, never ``str.format``.
"""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Audience = Literal["internal", "external"]
AUDIENCES: tuple[Audience, ...] = ("internal", "external")
DestinationKind = Literal["slack", "teams", "webhook", "email", "status_page"]
ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]

_KEY = r"^[a-z0-9][a-z0-9_-]{0,62}$"
SecretReference = Annotated[str, Field(pattern=r"^env:[A-Za-z_][A-Za-z0-9_]*$")]
"""``env:NAME``: the delivering worker's environment variable NAME. Never the value."""
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+$", max_length=254)]

PLACEHOLDERS: dict[str, str] = {
    "incident": "the incident's title",
    "environment": "the environment's title",
    "severity": "the incident's severity",
    "phase": "the current phase's title",
    "status": "where the rollback stands, in one sentence",
    "progress": "steps done of all steps",
    "elapsed": "time since the incident opened, against the plan's budget",
    "budget": "the plan's whole budget",
    "eta": "the expected end, from the remaining budgets and the pace so far",
    "user_impact": "what users may notice (the phase's user_impact)",
    "impact": "the same as user_impact",
    "symptoms": "the same as user_impact",
    "details": "the same as user_impact",
    "next_update": "when this audience's next update is due",
    "commander": "the incident commander's name",
    "incident_url": "the incident's page",
    "time": "now (UTC, HH:MM)",
    "date": "today (UTC)",
    "latest_update": "the latest update sent to external audiences",
}


def parse_template(template: str) -> list[tuple[str, str | None]]:
    """``template`` as (literal text, placeholder or None) pairs; ValueError if malformed.

    Only bare names are allowed: no attribute, index, conversion or format spec
    (``{phase.__class__}`` or ``{eta:>999999}`` are refused, not evaluated).
    """
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            parts.append((literal, None))
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError(f"placeholder {{{name}}} must be a plain name such as {{phase}}")
        parts.append((literal, name))
    return parts


def template_problems(template: str) -> list[str]:
    """What is wrong with ``template``: malformed braces, unknown placeholders."""
    try:
        parts = parse_template(template)
    except ValueError as exc:
        return [f"template: {exc}"]
    known = ", ".join(sorted(PLACEHOLDERS))
    return [
        f"unknown placeholder {{{name}}} (known: {known})"
        for _, name in parts
        if name is not None and name not in PLACEHOLDERS
    ]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DestinationSpec(_Spec):
    """One place messages go, in one environment."""

    id: Annotated[str, Field(pattern=_KEY)]
    kind: DestinationKind
    title: str = Field(default="", max_length=200)
    # slack / teams / webhook: the webhook address, a secret (it authorises posting).
    url: SecretReference | None = None
    # webhook: the HMAC-SHA256 signing key.
    secret: SecretReference | None = None
    # email: who receives each audience's messages.
    recipients: dict[Audience, list[EmailAddress]] = Field(default_factory=dict)
    # status_page: the page's slug and what its components show while the incident is on.
    page: Annotated[str, Field(pattern=_KEY)] | None = None
    components: dict[Annotated[str, Field(min_length=1, max_length=100)], ComponentStatus] = Field(
        default_factory=dict
    )
    # status_page: the public title of its updates (never the incident's own title).
    headline: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> DestinationSpec:
        needs: dict[str, bool] = {
            "url": self.kind in ("slack", "teams", "webhook"),
            "secret": self.kind == "webhook",
            "recipients": self.kind == "email",
            "page": self.kind == "status_page",
        }
        for name, needed in needs.items():
            given = bool(getattr(self, name))
            if needed and not given:
                raise ValueError(f"a {self.kind} destination needs {name!r}")
            if given and not needed:
                raise ValueError(f"a {self.kind} destination takes no {name!r}")
        for extra in ("components", "headline"):
            if getattr(self, extra) and self.kind != "status_page":
                raise ValueError(f"a {self.kind} destination takes no {extra!r}")
        return self

    @property
    def label(self) -> str:
        return self.title or self.id
