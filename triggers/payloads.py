"""Webhook bodies → alerts: Alertmanager (v4), Grafana unified alerting, PagerDuty v3.

Pure functions over bytes (no Django): each either returns the alerts a body carries or
raises ``PayloadError`` naming the field or condition. Nothing is trusted: the depth of
nesting is measured before the JSON parser sees the body, text must be UTF-8, NaN and
Infinity are refused, and every field is type-checked (pydantic, strict).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from common.text import unstorable_in

MAX_DEPTH = 32  # JSON nesting accepted: real senders use 4 or 5
MAX_ALERTS = 1000  # alerts in one notification
MAX_LABELS = 200  # labels (or annotations) on one alert
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # Go's zero time: "not ended"

Status = Literal["firing", "resolved"]


class PayloadError(Exception):
    """A body that cannot be accepted: ``where`` is the field (or "body"), ``message`` why."""

    def __init__(self, where: str, message: str, *, status: int = 422) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
        self.status = status

    def as_json(self) -> dict[str, str]:
        return {"error": self.message, "field": self.where}


@dataclass(frozen=True)
class ParsedAlert:
    status: Status
    alertname: str
    labels: dict[str, str]
    starts_at: datetime
    key: str
    annotations: dict[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    source_url: str = ""
    value: str = ""


@dataclass(frozen=True)
class Parsed:
    alerts: list[ParsedAlert]
    ping: bool = False  # PagerDuty's ping: acknowledged, nothing to do


# --- bytes to JSON, bounded ---------------------------------------------------------

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def check_depth(body: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than ``limit`` before any parser recurses into it.

    Strings are skipped whole (a bracket inside one is text), so the scan is one pass of
    a regular expression over the body, bounded by the body's size.
    """
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise PayloadError("body", f"nested deeper than {limit} levels", status=400)
        elif token in (b"]", b"}"):
            depth -= 1


def _refuse_constant(name: str) -> Any:
    raise PayloadError("body", f"{name} is not a number JSON allows", status=400)


def load_json(body: bytes) -> Any:
    if not body.strip():
        raise PayloadError("body", "empty body; expected a JSON object", status=400)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(
            "body", f"not UTF-8 (invalid byte at offset {exc.start})", status=400
        ) from None
    check_depth(body)
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            "body", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", status=400
        ) from None
    if not isinstance(value, dict):
        raise PayloadError("body", "expected a JSON object", status=400)
    if found := unstorable_in(value):
        where, why = found
        where = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", where)  # alerts.0.labels → alerts[0].labels
        raise PayloadError(where if where != "value" else "body", why)
    return value


# --- schemas -------------------------------------------------------------------------

Labels = dict[StrictStr, StrictStr]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class AlertIn(_Model):
    status: Literal["firing", "resolved"] | None = None
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    startsAt: StrictStr
    endsAt: StrictStr | None = None
    generatorURL: StrictStr = ""
    fingerprint: StrictStr | None = None
    valueString: StrictStr = ""
    values: dict[StrictStr, float | StrictInt] | None = None  # Grafana 11


class NotificationIn(_Model):
    version: StrictStr
    status: Literal["firing", "resolved"] | None = None
    alerts: list[AlertIn] = Field(min_length=1, max_length=MAX_ALERTS)
    externalURL: StrictStr = ""


class PdReference(_Model):
    summary: StrictStr = ""
    html_url: StrictStr = ""


class PdIncident(_Model):
    id: StrictStr = Field(min_length=1)
    title: StrictStr = ""
    status: StrictStr = ""
    urgency: StrictStr = ""
    html_url: StrictStr = ""
    number: StrictInt | None = None
    service: PdReference | None = None


class PdEvent(_Model):
    id: StrictStr
    event_type: StrictStr
    resource_type: StrictStr = ""
    occurred_at: StrictStr
    data: dict[StrictStr, Any] | None = None


class PdEnvelope(_Model):
    event: PdEvent


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _validate(model: type[BaseModel], value: Any, prefix: str = "") -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _where(tuple(first["loc"]))
        if prefix:
            where = f"{prefix}.{where}" if where != "body" else prefix
        message = "missing" if first["type"] == "missing" else first["msg"]
        raise PayloadError(where, message) from None


# --- times and identity -----------------------------------------------------------------


def parse_time(text: str, where: str) -> datetime:
    """RFC 3339 as senders write it: nanoseconds, Z or an offset."""
    match = re.fullmatch(r"(.*?\.\d{1,6})\d*((?:Z|[+-]\d\d:\d\d))", text)
    trimmed = match.group(1) + match.group(2) if match else text
    try:
        moment = datetime.fromisoformat(trimmed)
    except ValueError:
        raise PayloadError(where, f"not an RFC 3339 time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        raise PayloadError(where, "a time needs a zone (Z or an offset)")
    return moment.astimezone(UTC)


def identity(labels: dict[str, str], starts_at: datetime) -> str:
    """The alert's identity: every label (sorted) and when it started, hashed.

    Senders' ``fingerprint`` is left out on purpose: some send none, some send one value
    for different alerts. Two alerts with the same labels and start are the same alert.
    """
    canonical = json.dumps(
        [sorted(labels.items()), starts_at.isoformat()], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _value(alert: AlertIn) -> str:
    if alert.values:
        return ", ".join(f"{k}={v:g}" for k, v in sorted(alert.values.items()))
    return alert.valueString[:2000]


# --- the three formats ------------------------------------------------------------------


def _notification(body: dict[str, Any], version: str, kind: str) -> Parsed:
    if "alerts" not in body and ("evalMatches" in body or "ruleName" in body):
        raise PayloadError(
            "body",
            "legacy Grafana alerting (ruleName/evalMatches) is not supported: use a unified "
            "alerting webhook contact point",
        )
    found = body.get("version")
    if "version" in body and found != version:
        raise PayloadError(
            "version", f"unsupported version {found!r} for a {kind} receiver (expected {version!r})"
        )
    notification: NotificationIn = _validate(NotificationIn, body)
    alerts: dict[str, ParsedAlert] = {}  # identical alerts in one group are one
    for i, alert in enumerate(notification.alerts):
        where = f"alerts[{i}]"
        status = alert.status or notification.status
        if status is None:
            raise PayloadError(f"{where}.status", "missing (and no top-level status)")
        alertname = alert.labels.get("alertname", "").strip()
        if not alertname:
            raise PayloadError(f"{where}.labels.alertname", "missing")
        if len(alert.labels) > MAX_LABELS or len(alert.annotations) > MAX_LABELS:
            raise PayloadError(f"{where}.labels", f"more than {MAX_LABELS} labels or annotations")
        starts_at = parse_time(alert.startsAt, f"{where}.startsAt")
        ends_at = parse_time(alert.endsAt, f"{where}.endsAt") if alert.endsAt else None
        key = identity(alert.labels, starts_at)
        alerts.setdefault(
            key,
            ParsedAlert(
                status=status,
                alertname=alertname[:200],
                labels=dict(alert.labels),
                annotations=dict(alert.annotations),
                starts_at=starts_at,
                ends_at=None if ends_at is None or ends_at <= ZERO_TIME else ends_at,
                source_url=alert.generatorURL[:2000],
                key=key,
                value=_value(alert),
            ),
        )
    return Parsed(alerts=list(alerts.values()))


def parse_alertmanager(body: bytes) -> Parsed:
    data = load_json(body)
    if "version" not in data:
        raise PayloadError("version", "missing")
    return _notification(data, "4", "alertmanager")


def parse_grafana(body: bytes) -> Parsed:
    return _notification(load_json(body), "1", "grafana")


PD_FIRE = {"incident.triggered", "incident.reopened"}
PD_RESOLVE = {"incident.resolved"}


def parse_pagerduty(body: bytes) -> Parsed:
    envelope: PdEnvelope = _validate(PdEnvelope, load_json(body))
    event = envelope.event
    if event.event_type == "pagey.ping":
        return Parsed(alerts=[], ping=True)
    if event.event_type not in PD_FIRE | PD_RESOLVE:
        return Parsed(alerts=[])  # acknowledged, annotated, …: nothing to fire or resolve
    if event.data is None:
        raise PayloadError("event.data", "missing")
    incident: PdIncident = _validate(PdIncident, event.data, prefix="event.data")
    occurred = parse_time(event.occurred_at, "event.occurred_at")
    labels = {"alertname": incident.title or f"PagerDuty incident {incident.id}"}
    if incident.service and incident.service.summary:
        labels["service"] = incident.service.summary
    if incident.urgency:
        labels["urgency"] = incident.urgency
    labels["pagerduty_incident"] = incident.id
    status: Status = "firing" if event.event_type in PD_FIRE else "resolved"
    return Parsed(
        alerts=[
            ParsedAlert(
                status=status,
                alertname=labels["alertname"][:200],
                labels=labels,
                starts_at=occurred,
                ends_at=occurred if status == "resolved" else None,
                source_url=incident.html_url[:2000],
                # One PagerDuty incident is one alert, whenever its events arrive.
                key=hashlib.sha256(f"pagerduty:{incident.id}".encode()).hexdigest(),
            )
        ]
    )


PARSERS = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "pagerduty": parse_pagerduty,
}
