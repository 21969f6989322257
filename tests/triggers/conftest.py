"""Receivers on a small runbook with one trigger an Alertmanager alert can name."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.factories import SMALL_RUNBOOK, make_version
from triggers import services
from triggers.models import Receiver

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "payloads"
if not CORPUS.is_dir():  # the worktree lives beside shared/, the main checkout too
    CORPUS = Path("/work/shared/corpus/payloads")

TRIGGERED: dict[str, Any] = copy.deepcopy(SMALL_RUNBOOK)
TRIGGERED["triggers"] = [
    {
        "id": "api_errors",
        "description": ">10% of API requests failing",
        "rule": {"source": "alertmanager", "alertname": "ApiErrorsHigh"},
    },
]
OTHER: dict[str, Any] = copy.deepcopy(SMALL_RUNBOOK)
OTHER["id"] = "other"
OTHER["title"] = "Other rollback"
OTHER["triggers"] = [{"id": "disk_full", "description": "Disk full"}]


@pytest.fixture
def runbook(db):
    return make_version(TRIGGERED).runbook


@pytest.fixture
def other_runbook(db):
    return make_version(OTHER).runbook


def make_receiver(kind: str, runbook, by, **kwargs) -> tuple[Receiver, str]:
    return services.create_receiver(
        kind=kind, runbook=runbook, environment="staging", created_by=by, **kwargs
    )


@pytest.fixture
def alertmanager(runbook, ic):
    return make_receiver("alertmanager", runbook, ic)


@pytest.fixture
def grafana(runbook, ic):
    return make_receiver("grafana", runbook, ic)


@pytest.fixture
def pagerduty(runbook, ic):
    return make_receiver("pagerduty", runbook, ic, secret="pd-signing-secret-0123456789")


def post(receiver: Receiver, credential: str, body: bytes, **headers: str):
    """POST ``body`` to the receiver as its sender would (token, or PagerDuty's signature)."""

    extra: dict[str, Any] = {}
    if receiver.kind == "pagerduty":
        extra["HTTP_X_PAGERDUTY_SIGNATURE"] = sign(credential, body)
    else:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {credential}"
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    return Client().post(
        f"/hooks/{receiver.hook_id}/", body, content_type="application/json", **extra
    )


def sign(secret: str, body: bytes) -> str:
    import hashlib
    import hmac

    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def am_body(*alerts: dict[str, Any], status: str = "firing", **top: Any) -> bytes:
    return json.dumps(
        {"version": "4", "status": status, "receiver": "ripcord", "alerts": list(alerts), **top}
    ).encode()


def am_alert(name: str = "ApiErrorsHigh", status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "job": "todo-api", **labels},
        "annotations": {"summary": "API failing"},
        "startsAt": "2026-12-03T07:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "same-for-all",
    }
