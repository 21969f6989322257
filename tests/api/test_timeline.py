from __future__ import annotations

import pytest

from incidents import services
from incidents.models import TimelineEntry

pytestmark = pytest.mark.django_db


def test_note_is_added_to_timeline(api_as, backend, incident):
    response = api_as(backend).post(
        f"/incidents/{incident.pk}/timeline", {"text": " Backup verified "}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["text"], body["actor"]) == ("note", "Backup verified", "backend")
    assert TimelineEntry.objects.filter(pk=body["id"], incident=incident).exists()


@pytest.mark.parametrize(
    ("body", "status"), [({"text": "  "}, 400), ({"text": "x" * 4001}, 400), ({}, 422)]
)
def test_bad_note_is_refused_and_nothing_is_written(api_as, backend, incident, body, status):
    before = TimelineEntry.objects.count()
    response = api_as(backend).post(f"/incidents/{incident.pk}/timeline", body)
    assert response.status_code == status
    assert TimelineEntry.objects.count() == before


def test_timeline_is_newest_first(api_as, viewer, backend, incident):
    services.add_note(incident_id=incident.pk, author=backend, text="latest")
    response = api_as(viewer).get(f"/incidents/{incident.pk}/timeline")
    assert response.status_code == 200
    body = response.json()
    expected = list(incident.timeline.order_by("-at", "-pk").values_list("pk", flat=True))
    assert [e["id"] for e in body["entries"]] == expected
    assert body["entries"][0]["text"] == "latest"
    assert body["entries"][-1]["kind"] == "opened"
    assert body["next_before_id"] is None


def test_timeline_pages_with_limit_and_before_id(api_as, viewer, backend, incident):
    for i in range(5):
        services.add_note(incident_id=incident.pk, author=backend, text=f"note {i}")
    expected = list(incident.timeline.order_by("-at", "-pk").values_list("pk", flat=True))
    api = api_as(viewer)
    seen, before = [], None
    while True:
        params = {"limit": 3} | ({"before_id": before} if before else {})
        body = api.get(f"/incidents/{incident.pk}/timeline", **params).json()
        assert len(body["entries"]) <= 3
        seen += [e["id"] for e in body["entries"]]
        before = body["next_before_id"]
        if before is None:
            break
    assert seen == expected


def test_timeline_paging_neither_skips_nor_repeats_entries_sharing_a_timestamp(
    api_as, viewer, backend, incident
):
    for i in range(4):
        services.add_note(incident_id=incident.pk, author=backend, text=f"note {i}")
    incident.timeline.update(at=incident.opened_at)
    api = api_as(viewer)
    first = api.get(f"/incidents/{incident.pk}/timeline", limit=4).json()
    rest = api.get(
        f"/incidents/{incident.pk}/timeline", limit=50, before_id=first["next_before_id"]
    ).json()
    ids = [e["id"] for e in first["entries"] + rest["entries"]]
    assert ids == sorted(incident.timeline.values_list("pk", flat=True), reverse=True)


@pytest.mark.parametrize("where", ["other incident", "nowhere"])
def test_timeline_before_id_not_on_this_incident_is_404(
    api_as, viewer, ic, incident, version, where
):
    if where == "other incident":
        other = services.open_incident(
            version=version,
            environment="staging",
            title="Other",
            severity="sev3",
            is_drill=True,
            opened_by=ic,
        )
        before_id = other.timeline.get().pk
    else:
        before_id = 10**9
    response = api_as(viewer).get(f"/incidents/{incident.pk}/timeline", before_id=before_id)
    assert response.status_code == 404


@pytest.mark.parametrize("limit", [0, 501, "many"])
def test_timeline_limit_out_of_range_is_422(api_as, viewer, incident, limit):
    response = api_as(viewer).get(f"/incidents/{incident.pk}/timeline", limit=limit)
    assert response.status_code == 422
