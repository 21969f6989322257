"""The public page, its Atom feed and summary.json: no login, cached, in Statuspage's shape."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest
from django.test import Client

from statuspage.services import publish_update

SCHEMA = json.loads((Path(__file__).parent / "summary_schema.json").read_text())


@pytest.fixture
def anonymous() -> Client:
    return Client()


def publish(key: str, **overrides):
    args: dict[str, Any] = {
        "page_slug": "todo-app",
        "source_incident_id": 3,
        "title": "Tasks may not save",
        "body": "We are restoring yesterday's backup.",
        "status": "identified",
        "impact": "major",
        "components": {"Task data": "partial_outage"},
        "author_id": None,
        "idempotency_key": key,
    }
    args.update(overrides)
    return publish_update(**args)


def validate(body: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(body)
    # jsonschema checks "date-time" only with an extra package: check the times here.
    for component in body["components"]:
        datetime.fromisoformat(component["updated_at"])
    for incident in body["incidents"]:
        for update in incident["incident_updates"]:
            datetime.fromisoformat(update["created_at"])


def test_the_page_says_operational_before_anything_is_published(todo_page, anonymous):
    response = anonymous.get("/status/todo-app/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "All Systems Operational" in html
    assert html.count("Operational") >= 5  # the headline and each of the four components
    assert "No incidents in the last two weeks." in html
    assert 'http-equiv="refresh"' in html  # without JavaScript, it refreshes itself
    summary = anonymous.get("/status/todo-app/summary.json").json()
    validate(summary)
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert {c["status"] for c in summary["components"]} == {"operational"}
    feed = feedparser.parse(anonymous.get("/status/todo-app/feed.atom").content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Todo App status"
    assert feed.entries == []


def test_a_published_update_shows_on_page_feed_and_json(
    todo_page, anonymous, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = publish("a")
        second = publish(
            "b",
            title="Tasks save again",
            body="Monitoring the restored data.",
            status="monitoring",
            impact="minor",
            components={"Task data": "degraded_performance"},
        )
    html = anonymous.get("/status/todo-app/").content.decode()
    assert "Partially Degraded Service" in html
    assert "Tasks save again" in html and "We are restoring yesterday&#x27;s backup." in html
    assert "Degraded performance" in html

    summary = anonymous.get("/status/todo-app/summary.json").json()
    validate(summary)
    assert summary["status"]["indicator"] == "minor"
    (incident,) = summary["incidents"]
    assert incident["status"] == "monitoring"
    assert [u["id"] for u in incident["incident_updates"]] == [
        f"update-{second.pk}",
        f"update-{first.pk}",
    ]
    assert incident["incident_updates"][1]["affected_components"] == [
        {
            "code": "Task data",
            "name": "Task data",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    assert incident["monitoring_at"] is not None and incident["resolved_at"] is None

    response = anonymous.get("/status/todo-app/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.title for e in feed.entries] == [
        "Monitoring: Tasks save again",
        "Identified: Tasks may not save",
    ]
    assert feed.entries[0].summary == "Monitoring the restored data."
    assert feed.entries[0].link.endswith(f"/status/todo-app/#update-{second.pk}")


def test_a_resolved_incident_moves_to_history(
    todo_page, anonymous, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish("a")
        publish("b", status="resolved", impact="none", components={"Task data": "operational"})
    summary = anonymous.get("/status/todo-app/summary.json").json()
    validate(summary)
    assert summary["incidents"] == []
    assert summary["status"]["indicator"] == "none"
    html = anonymous.get("/status/todo-app/").content.decode()
    assert "Past incidents" in html and "Resolved" in html
    assert "No incidents in the last two weeks." not in html


def test_responses_are_cached_until_a_publish_and_carry_their_version_as_etag(
    todo_page, anonymous, django_capture_on_commit_callbacks, django_assert_num_queries
):
    first = anonymous.get("/status/todo-app/summary.json")
    etag = first["ETag"]
    with django_assert_num_queries(0):
        again = anonymous.get("/status/todo-app/summary.json", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert anonymous.get("/status/todo-app/summary.json").content == first.content
    with django_capture_on_commit_callbacks(execute=True):
        publish("a")
    fresh = anonymous.get("/status/todo-app/summary.json", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    assert fresh.json()["incidents"]


def test_summary_json_is_readable_from_any_site(todo_page, anonymous):
    response = anonymous.get("/status/todo-app/summary.json")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "X-Frame-Options" not in anonymous.get("/status/todo-app/")  # embeddable


def test_an_unknown_page_is_a_404(db, anonymous):
    for suffix in ("", "feed.atom", "summary.json"):
        assert anonymous.get(f"/status/nope/{suffix}").status_code == 404


def test_writes_to_the_read_views_are_refused(todo_page, anonymous):
    assert anonymous.post("/status/todo-app/").status_code == 405
    assert anonymous.post("/status/todo-app/summary.json").status_code == 405


def test_an_unresolved_incident_stays_open_however_quiet(todo_page, anonymous):
    from datetime import timedelta

    from django.utils import timezone

    from statuspage.models import Update

    old = publish("quiet")
    resolved = publish("done", source_incident_id=4, status="resolved", impact="none")
    month_ago = timezone.now() - timedelta(days=30)
    Update.objects.filter(pk__in=[old.pk, resolved.pk]).update(created_at=month_ago)
    summary = anonymous.get("/status/todo-app/summary.json").json()
    validate(summary)
    assert [i["id"] for i in summary["incidents"]] == ["incident-3"]
    html = anonymous.get("/status/todo-app/").content.decode()
    assert "Tasks may not save" in html
