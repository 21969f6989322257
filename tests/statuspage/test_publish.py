"""publish_update: the one way anything becomes public on a status page."""

from __future__ import annotations

from typing import Any

import pytest

from statuspage import cache, dispatch
from statuspage.models import Component, StatusPage, Update
from statuspage.services import PublishRefused, publish_update
from tests.factories import make_user


def publish(**overrides):
    args: dict[str, Any] = {
        "page_slug": "todo-app",
        "source_incident_id": 7,
        "title": "Logins failing",
        "body": "We are rolling back a release.",
        "status": "investigating",
        "impact": "major",
        "components": {"Login": "major_outage"},
        "author_id": None,
        "idempotency_key": "k-1",
    }
    args.update(overrides)
    return publish_update(**args)


def statuses(page: StatusPage) -> dict[str, str]:
    return dict(page.components.values_list("name", "status"))


def test_the_migration_creates_the_todo_app_page_all_operational(db):
    page = StatusPage.objects.get(slug="todo-app")
    assert statuses(page) == dict.fromkeys(["Web app", "API", "Login", "Task data"], "operational")


def test_publishing_sets_components_and_records_a_snapshot(
    todo_page, sent_tasks, django_capture_on_commit_callbacks
):
    author = make_user("pm")
    before = cache.version("todo-app")
    with django_capture_on_commit_callbacks(execute=True):
        update = publish(author_id=author.pk)
    assert statuses(todo_page)["Login"] == "major_outage"
    assert update.components == {
        "Web app": "operational",
        "API": "operational",
        "Login": "major_outage",
        "Task data": "operational",
    }
    assert update.affected == [
        {"name": "Login", "old_status": "operational", "new_status": "major_outage"}
    ]
    assert update.author == author
    assert update.source_incident_id == 7
    assert sent_tasks == [(dispatch.EMAIL_UPDATE, update.pk)]
    assert cache.version("todo-app") != before  # every cached page is stale at once


def test_the_same_idempotency_key_publishes_once(todo_page, sent_tasks):
    first = publish()
    again = publish(title="A retry", components={"Login": "operational"})
    assert again.pk == first.pk
    assert Update.objects.count() == 1
    assert statuses(todo_page)["Login"] == "major_outage"


def test_a_key_of_another_page_is_refused(todo_page, sent_tasks):
    publish()
    StatusPage.objects.create(slug="other", name="Other")
    with pytest.raises(PublishRefused, match="another status page"):
        publish(page_slug="other", components={})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"page_slug": "nope"}, "no status page 'nope'"),
        ({"components": {"Billing": "major_outage"}}, "no component 'Billing'"),
        ({"components": {"Login": "on fire"}}, "Unknown status for component 'Login'"),
        ({"status": "panicking"}, "Unknown status 'panicking'"),
        ({"impact": "huge"}, "Unknown impact 'huge'"),
        ({"title": "   "}, "title is empty"),
        ({"title": "x" * 201}, "at most 200"),
        ({"body": "x" * 5001}, "at most 5000"),
        ({"title": "a\x00b"}, "NUL"),
        ({"body": "a\ud800b"}, "lone surrogate"),
        ({"components": {"Lo\x00gin": "major_outage"}}, "NUL"),
        ({"idempotency_key": ""}, "idempotency key is empty"),
    ],
)
def test_refusals_write_nothing(todo_page, sent_tasks, overrides, message):
    before = cache.version("todo-app")
    # A valid change first: a refusal must not leave it half-applied.
    extra = overrides.pop("components", {"Login": "major_outage"})
    with pytest.raises(PublishRefused, match=message):
        publish(components={"Web app": "degraded_performance", **extra}, **overrides)
    assert Update.objects.count() == 0
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    assert sent_tasks == []
    assert cache.version("todo-app") == before


def test_a_standalone_notice_has_no_source_incident(todo_page, sent_tasks):
    update = publish(source_incident_id=None, components={}, impact="none", status="resolved")
    assert update.thread_key == f"notice-{update.pk}"
