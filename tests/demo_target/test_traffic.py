"""The demo app's metrics and task writes, and the traffic generator against a broken target.

The degradation is read the way Prometheus would read it: the app's own /metrics,
parsed with prometheus_client's parser, counters and histogram buckets compared
before and after a run of traffic.
"""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from prometheus_client.parser import text_string_to_metric_families

from demo_target import app as demo_app
from demo_target import (
    apply_bad_migration,
    demo_credentials,
    reset_sequences,
    restore_backup,
    take_backup,
    traffic,
)
from demo_target.metrics import AppMetrics
from tests.demo_target.conftest import USERS
from tests.demo_target.test_app import call, login

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def app(target) -> Iterator[demo_app.RunningApp]:
    running = demo_app.start(target, port=0)
    yield running
    running.stop()


def scrape(url: str) -> Samples:
    """Every sample of the app's /metrics, keyed by name and sorted labels."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delta(after: Samples, before: Samples) -> Samples:
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def requests_by_status(samples: Samples) -> dict[str, float]:
    counts: dict[str, float] = {}
    for (name, labels), value in samples.items():
        if name == "http_requests_total":
            status = dict(labels)["status"]
            counts[status] = counts.get(status, 0.0) + value
    return counts


def p95(samples: Samples) -> float:
    """histogram_quantile(0.95, sum by (le) (...)) over every route, as the rule computes it."""
    buckets: dict[float, float] = {}
    for (name, labels), value in samples.items():
        if name == "http_request_duration_seconds_bucket":
            le = float(dict(labels)["le"])
            buckets[le] = buckets.get(le, 0.0) + value
    bounds = sorted(buckets)
    total = buckets[float("inf")]
    rank, lower, below = 0.95 * total, 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / (buckets[bound] - below)
        lower, below = bound, buckets[bound]
    return lower


def session_of(app) -> str:
    return str(login(app).json["session"])


def post(url: str, form: Any, session: str) -> Any:
    return call(url, form=form, Authorization=f"Bearer {session}")


def test_app_creates_and_updates_the_session_users_tasks(app):
    session = session_of(app)

    created = post(f"{app.url}/api/tasks", {"title": "Water plants", "tags": ["home"]}, session)
    assert created.status == 201, created.json
    task = created.json["task"]
    assert (task["title"], task["status"], task["priority"]) == ("Water plants", "todo", 2)
    changed = post(f"{app.url}/api/tasks/{task['id']}", {"status": "done"}, session)
    assert (changed.status, changed.json["task"]["status"]) == (200, "done")
    listed = call(f"{app.url}/api/tasks", Authorization=f"Bearer {session}").json["tasks"]
    [mine] = [t for t in listed if t["id"] == task["id"]]
    assert (mine["status"], mine["tags"]) == ("done", ["home"])


@pytest.mark.parametrize(
    ("path", "form", "status"),
    [
        ("/api/tasks", {"title": ""}, 400),
        ("/api/tasks", {"title": "x", "priority": 9}, 400),
        ("/api/tasks", {"title": "x", "priority": True}, 400),
        ("/api/tasks", {"title": "a\x00b"}, 400),
        ("/api/tasks", {"title": "x", "tags": "work"}, 400),
        ("/api/tasks/1", {}, 400),
        ("/api/tasks/1", {"status": "gone"}, 400),
        ("/api/tasks/not-an-id", {"status": "done"}, 404),
        ("/api/tasks/00000000-0000-0000-0000-000000000000", {"status": "done"}, 404),
        ("/api/tasks/999999", {"status": "done"}, 404),  # not this user's
    ],
)
def test_app_task_writes_refuse_bad_input_with_a_4xx(app, path, form, status):
    answer = post(f"{app.url}{path}", form, session_of(app))
    assert answer.status == status, answer.json


def test_metrics_count_by_route_template_and_status_and_users_in_the_window(app):
    session = session_of(app)
    call(f"{app.url}/api/tasks", Authorization=f"Bearer {session}")
    post(f"{app.url}/api/tasks/abc", {"status": "done"}, session)
    login(app, "demo200@todo.example", "wrong")

    samples = scrape(app.url)

    assert samples["http_requests_total", (("route", "/login"), ("status", "200"))] == 1
    assert samples["http_requests_total", (("route", "/login"), ("status", "401"))] == 1
    assert samples["http_requests_total", (("route", "/api/tasks"), ("status", "200"))] == 1
    assert samples["http_requests_total", (("route", "/api/tasks/{id}"), ("status", "404"))] == 1
    assert samples["http_request_duration_seconds_count", (("route", "/login"),)] == 2
    assert samples["todo_active_users_5m", ()] == 2  # demo100 and demo200
    assert samples["todo_users_with_server_errors_5m", ()] == 0
    # The scrape itself is not the application's traffic.
    assert not [k for k in scrape(app.url) if ("route", "/metrics") in k[1]]


def test_metrics_forget_users_after_the_window_and_servers_do_not_share_counts():
    now = [1000.0]
    first, second = AppMetrics(clock=lambda: now[0]), AppMetrics(clock=lambda: now[0])
    first.observe("/login", 500, 0.01, "a@x")
    first.observe("/api/tasks", 200, 0.01, "b@x")
    assert first.registry.get_sample_value("todo_users_with_server_errors_5m") == 1
    assert first.registry.get_sample_value("todo_active_users_5m") == 2
    assert second.registry.get_sample_value("todo_active_users_5m") == 0
    now[0] += 301
    assert first.registry.get_sample_value("todo_users_with_server_errors_5m") == 0
    assert first.registry.get_sample_value("todo_active_users_5m") == 0


def test_traffic_never_goes_above_its_rate_and_stops_in_time(app):
    summary = traffic.run(app.url, demo_credentials(USERS), rate=20, seconds=1.5)

    assert 20 <= summary.requests <= 30  # slots at 0, 0.05, ... 1.45 s: 30 at most
    assert summary.ended - summary.started < 1.5 + traffic.TIMEOUT_SECONDS
    assert set(summary.statuses) <= {200, 201}, summary.statuses
    assert summary.lines()[0].startswith(f"requests: {summary.requests} in ")


def test_traffic_refuses_unbounded_runs():
    with pytest.raises(ValueError, match="rate"):
        traffic.run("http://127.0.0.1:9", [("a", "b")], rate=0, seconds=1)
    with pytest.raises(ValueError, match="seconds"):
        traffic.run("http://127.0.0.1:9", [("a", "b")], rate=1, seconds=10**9)


def test_traffic_command_prints_a_summary(app):
    out = io.StringIO()
    call_command(
        "demo_target", "traffic", "--rate=10", "--seconds=1", f"--url={app.url}",
        f"--users={USERS}", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "Traffic to" in text and "2 demo users" in text
    assert "by status: 200: " in text and "p95 " in text
    with pytest.raises(CommandError, match="--url must be an http"):
        call_command("demo_target", "traffic", "--rate=1", "--seconds=1", "--url=file:///etc")


@pytest.mark.timeout(120)
def test_the_broken_target_fails_and_slows_down_and_the_restore_recovers_it(app, target, tmp_path):
    """Traffic against the target before, during and after MIG-002's damage, read from /metrics."""
    backup = take_backup(target, tmp_path / "pre.backup")
    accounts = demo_credentials(USERS)
    seen: dict[str, tuple[float, float]] = {}

    def measure(label: str) -> None:
        before = scrape(app.url)
        traffic.run(app.url, accounts, rate=40, seconds=6, seed=len(seen))
        change = delta(scrape(app.url), before)
        counts = requests_by_status(change)
        failing = sum(n for status, n in counts.items() if status.startswith("5"))
        seen[label] = (failing / sum(counts.values()), p95(change))

    measure("healthy")
    apply_bad_migration(target)
    measure("broken")
    restore_backup(target, backup)  # what MIG-002's restore step runs, then its sequence reset
    reset_sequences(target)
    measure("restored")

    print("\n" + json.dumps({k: [round(v, 4) for v in pair] for k, pair in seen.items()}))
    (healthy_share, healthy_p95), (broken_share, broken_p95) = seen["healthy"], seen["broken"]
    restored_share, restored_p95 = seen["restored"]
    assert healthy_share == 0 and restored_share == 0
    assert broken_share > 0.25  # the plan's trigger is 10 %: well over it
    assert broken_p95 > 1.5 * healthy_p95  # the plan's trigger: 50 % over the baseline
    assert restored_p95 < 1.5 * healthy_p95
    samples = scrape(app.url)
    assert samples["todo_users_with_server_errors_5m", ()] >= 1
