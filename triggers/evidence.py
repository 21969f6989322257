"""What an alert shows as evidence: one sentence for the timeline, a dict for the record."""

from __future__ import annotations

from typing import Any

from triggers.models import Alert

SHOWN_LABELS = 8


def labels_text(labels: dict[str, str]) -> str:
    shown = [f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname"][:SHOWN_LABELS]
    more = len(labels) - 1 - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


def sentence(alert: Alert) -> str:
    verb = "fired" if alert.status == Alert.Status.FIRING else "resolved"
    parts = [f"{alert.alertname} {verb}"]
    if alert.value:
        parts.append(f"value {alert.value[:200]}")
    if text := labels_text(alert.labels):
        parts.append(text)
    parts.append(f"since {alert.starts_at:%Y-%m-%d %H:%M:%S} UTC")
    if alert.trigger_key:
        parts.append(f"trigger {alert.trigger_key}")
    return "; ".join(parts)[:1000]


def of(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.pk,
        "alertname": alert.alertname,
        "status": alert.status,
        "trigger": alert.trigger_key,
        "value": alert.value,
        "labels": alert.labels,
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        "source_url": alert.source_url,
        "receiver": alert.receiver.kind if alert.receiver is not None else "ripcord",
    }
