"""The demo application's Prometheus metrics, served at ``GET /metrics``.

What MIG-002's trigger rules read (runbooks/library/mig-002/runbook.yaml):

- ``http_requests_total{route, status}``: every answered request but the scrape
  itself; ``route`` is the route's template (``/api/tasks/{id}``), never the raw
  path, so a client cannot make a series per URL; ``status`` is the numeric code.
- ``http_request_duration_seconds{route}``: a histogram of the time from the
  request line to the answer written, buckets fine enough for a few milliseconds.
- ``todo_active_users_5m`` / ``todo_users_with_server_errors_5m``: distinct users
  seen, and seen getting a 5xx, within the last five minutes. A user is the email
  a login named or the account a session belongs to. Gauges rather than a
  ``user`` label on the counters: a label per user is a series per user.

Each server has a registry of its own (not prometheus_client's global one), so
several servers in one process (tests) count separately and never clash.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

USER_WINDOW_SECONDS = 300.0
# Milliseconds matter here: the default buckets start at 5 ms and would put most of
# this app's requests in one bucket, so a p95 could not move between them.
BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
    0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
CONTENT_TYPE = CONTENT_TYPE_LATEST
ROUTES = ("/login", "/api/tasks", "/api/tasks/{id}", "/api/flags", "/healthz")


class AppMetrics:
    """One server's counters, latency histogram and recent-user gauges."""

    def __init__(
        self,
        *,
        user_window_seconds: float = USER_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = CollectorRegistry()
        self.window = user_window_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}  # user -> last request
        self._failed: dict[str, float] = {}  # user -> last 5xx
        self.requests = Counter(
            "http_requests",  # exported as http_requests_total
            "Requests answered, by route template and status code",
            ["route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from the request line to the answer written, by route template",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        # A service without a single failure still has its 5xx series, at 0: a query for
        # the failing share then reads 0 %, not "no data" (prometheus.io's advice to
        # initialise the label values one knows). Routes and codes this app answers with.
        for route in ROUTES:
            for status in ("500", "503"):
                self.requests.labels(route=route, status=status)
        active = Gauge(
            "todo_active_users_5m",
            "Distinct users seen in the last 5 minutes",
            registry=self.registry,
        )
        active.set_function(lambda: self._recent(self._seen))
        failing = Gauge(
            "todo_users_with_server_errors_5m",
            "Distinct users who got a server error (5xx) in the last 5 minutes",
            registry=self.registry,
        )
        failing.set_function(lambda: self._recent(self._failed))

    def observe(self, route: str, status: int, seconds: float, user: str | None) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.duration.labels(route=route).observe(seconds)
        if user is None:
            return
        now = self.clock()
        with self._lock:
            self._seen[user] = now
            if status >= 500:
                self._failed[user] = now

    def _recent(self, users: dict[str, float]) -> float:
        """How many users of ``users`` fall in the window; older ones are forgotten."""
        horizon = self.clock() - self.window
        with self._lock:
            for user in [u for u, at in users.items() if at < horizon]:
                del users[user]
            return float(len(users))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
