"""A bounded traffic generator for the demo application: demo users at work.

Each simulated user logs in (POST /login with a demo account's published
password), then lists, creates and updates tasks through the API, logging in
again when the session is refused or the login failed, and now and then anyway
(``RELOGIN``). The mix per action: half lists, a fifth creates, the rest updates
of a task the last list showed.

Bounded by construction: a few threads (so one slow answer does not stall the
others) each own an interleaved share of the slots ``started + n / rate``, and a
request may not start before its slot, so the generator never goes above ``rate``
requests a second (slower answers only make it slower) and nothing starts after
``seconds``.

Client side only (HTTP to ``url``), so the numbers are what a user waits: the
summary gives requests, the count per status (0: no answer at all) and p50/p95.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_RATE = 1000.0
MAX_SECONDS = 24 * 3600.0
MAX_THREADS = 4
TIMEOUT_SECONDS = 10.0
RELOGIN = 0.05  # the chance that an action of a signed-in user is a new login
# Direct to the app: no proxy from the environment, which could not reach 127.0.0.1 anyway.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Summary:
    started: float
    ended: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, seconds: float) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 or status == 0)

    def quantile(self, q: float) -> float:
        """The q-quantile of the latencies (nearest rank), in seconds; 0 without requests."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    def lines(self) -> list[str]:
        took = max(self.ended - self.started, 1e-9)
        by_status = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(self.statuses.items()))
        share = self.server_errors / self.requests if self.requests else 0.0
        return [
            f"requests: {self.requests} in {took:.1f} s ({self.requests / took:.1f}/s)",
            f"by status: {by_status or 'none'}",
            f"server errors (5xx or no answer): {share:.1%}",
            f"latency: p50 {self.quantile(0.5) * 1000:.1f} ms,"
            f" p95 {self.quantile(0.95) * 1000:.1f} ms",
        ]


@dataclass
class User:
    email: str
    password: str
    session: str | None = None
    task_ids: list[object] = field(default_factory=list)


class Pacer:
    """One thread's start times: ``started + offset + n / rate`` until ``seconds`` have passed."""

    def __init__(
        self, rate: float, seconds: float, stop: threading.Event, *, offset: float = 0.0
    ) -> None:
        self.rate, self.stop, self.offset = rate, stop, offset
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self._next = 0

    def wait_turn(self) -> bool:
        """Sleep until the next slot; False once the run is over (time or stop)."""
        slot = self.started + self.offset + self._next / self.rate
        self._next += 1
        if slot >= self.deadline:
            return False
        return not self.stop.wait(max(0.0, slot - time.monotonic()))


def run(
    url: str,
    accounts: Sequence[tuple[str, str]],
    *,
    rate: float,
    seconds: float,
    seed: int = 0,
    stop: threading.Event | None = None,
    writes: bool = True,
) -> Summary:
    """Send the demo users' traffic to ``url`` at most ``rate``/s for ``seconds``; summarize.

    ``writes=False``: logins and lists only (no task created or changed)."""
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"rate must be above 0 and at most {MAX_RATE:g} requests/s")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be above 0 and at most {MAX_SECONDS:g}")
    if not accounts:
        raise ValueError("no accounts to log in with")
    stop = stop or threading.Event()
    summary = Summary(started=time.time())
    users = [User(email, password) for email, password in accounts]
    count = min(MAX_THREADS, len(users))
    # Each thread its own share of the rate, interleaved: a thread whose users fail fast
    # must not take the slow ones' turns (the mix would tilt toward the failures).
    pacers = [Pacer(rate / count, seconds, stop, offset=i / rate) for i in range(count)]
    threads = [
        threading.Thread(
            target=_work,
            args=(url.rstrip("/"), users[i::count], pacers[i], summary, random.Random(seed + i)),
            kwargs={"writes": writes},
            name=f"traffic-{i}",
            daemon=True,
        )
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary.ended = time.time()
    return summary


def _work(
    url: str,
    users: list[User],
    pacer: Pacer,
    summary: Summary,
    rng: random.Random,
    *,
    writes: bool,
) -> None:
    turn = 0
    while pacer.wait_turn():
        user = users[turn % len(users)]
        turn += 1
        status, seconds = _act(url, user, rng, writes=writes)
        summary.record(status, seconds)


def _act(url: str, user: User, rng: random.Random, *, writes: bool = True) -> tuple[int, float]:
    """One request of ``user``'s: a login when they have no session, else a task action.

    Now and then a user signs in again (another device, a closed browser), so a damage
    that only refuses new logins reaches the users who had a session before it too."""
    if user.session is not None and rng.random() < RELOGIN:
        user.session = None
    if user.session is None:
        status, body, took = _call(
            f"{url}/login", {"email": user.email, "password": user.password}, None
        )
        if status == 200 and isinstance(body, dict):
            user.session = str(body.get("session") or "") or None
        return status, took
    draw = rng.random()
    if draw < 0.5 or not user.task_ids or not writes:
        status, body, took = _call(f"{url}/api/tasks", None, user.session)
        if status == 200 and isinstance(body, dict):
            user.task_ids = [task["id"] for task in body.get("tasks", [])]
    elif draw < 0.7:
        title = f"Traffic task {rng.randrange(10**6)}"
        form = {"title": title, "priority": rng.randint(1, 4), "tags": ["work"]}
        status, body, took = _call(f"{url}/api/tasks", form, user.session)
    else:
        task_id = rng.choice(user.task_ids)
        form = {"status": rng.choice(("todo", "in_progress", "done"))}
        status, body, took = _call(f"{url}/api/tasks/{task_id}", form, user.session)
    if status == 401:
        user.session, user.task_ids = None, []
    return status, took


def _call(url: str, form: dict[str, Any] | None, session: str | None) -> tuple[int, Any, float]:
    """(status, JSON body or None, seconds); status 0 when nothing answered."""
    headers = {"Content-Type": "application/json"}
    if session:
        headers["Authorization"] = f"Bearer {session}"
    data = None if form is None else json.dumps(form).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    started = time.perf_counter()
    try:
        try:
            with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
                status, raw = int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
    # Refused, reset, timed out, cut off mid-answer (an app restarting): the user got nothing.
    except (OSError, ValueError, http.client.HTTPException):
        return 0, None, time.perf_counter() - started
    took = time.perf_counter() - started
    try:
        return status, json.loads(raw or b"null"), took
    except ValueError:
        return status, None, took
