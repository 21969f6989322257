"""Shared fixtures: the cast of users, a small incident, and recorded pushes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.management import call_command

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from incidents import events, services
from runbooks.selectors import latest_version
from tests.factories import make_user, make_version


@pytest.fixture
def ic(db):
    return make_user("ic", COMMANDERS)


@pytest.fixture
def backend(db):
    """A responder who will hold backend_engineer on the incident."""
    return make_user("backend", RESPONDERS)


@pytest.fixture
def sysadmin(db):
    return make_user("sysadmin", RESPONDERS)


@pytest.fixture
def other_responder(db):
    """A responder holding no role on the incident."""
    return make_user("bystander", RESPONDERS)


@pytest.fixture
def viewer(db):
    return make_user("pm", VIEWERS)


@pytest.fixture
def outsider(db):
    """Signed in, but in no Ripcord group."""
    return make_user("outsider")


@pytest.fixture
def version(db):
    return make_version()


@pytest.fixture
def incident(version, ic, backend, sysadmin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        incident = services.open_incident(
            version=version,
            environment="staging",
            title="MIG-002 went wrong",
            severity="sev1",
            is_drill=True,
            opened_by=ic,
        )
        services.assign_role(
            incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
        )
        services.assign_role(
            incident_id=incident.pk, role_key="system_administrator", user_id=sysadmin.pk, by=ic
        )
    incident.refresh_from_db()
    return incident


@pytest.fixture
def mig002(ic):
    """An incident of the shipped MIG-002 runbook, in its demo environment."""
    call_command("load_runbooks", verbosity=0)
    return services.open_incident(
        version=latest_version("mig-002"),  # type: ignore[arg-type]
        environment="demo",
        title="MIG-002",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )


@pytest.fixture
def step(incident):
    """Return a step of the incident by key."""

    def get(key: str):
        return incident.steps.get(key=key)

    return get


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """Messages that reached the channel layer, JSON round-tripped like a real layer."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(group: str, message: events.HtmlPush) -> None:
        calls.append((group, json.loads(json.dumps(message))))

    monkeypatch.setattr(events, "group_send", record)
    return calls


# --- browser tests (pytest-playwright driving Debian's Chromium) -------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browser here; these flags keep Chromium
    # off the (closed) network at start-up (shared/PITFALLS.md).
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


def pytest_collection_modifyitems(items):
    """Browser tests run last.

    Playwright's sync API leaves an event loop running in the test thread for the
    rest of the session; after it starts, Django refuses synchronous database
    calls from that thread (SynchronousOnlyOperation) in every later test.
    """
    items.sort(key=_uses_a_browser)


# pytest-playwright's fixtures: a test that asks for one starts the browser, marked or not.
PLAYWRIGHT_FIXTURES = frozenset({"page", "context", "browser", "playwright", "new_context"})


def _uses_a_browser(item) -> bool:
    if item.get_closest_marker("browser") is not None:
        return True
    return bool(PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ())))


@pytest.fixture(autouse=True)
def _pushes_on_commit():
    """Each test's pushes are rendered and sent on commit, in its own thread: an ASGI
    application an earlier test called in this process attached its event loop to the
    deferred push (incidents/push_loop.py), which would otherwise take later tests' pushes."""
    from incidents import push_loop, push_thread

    push_loop.detach()
    push_thread.disable()
    yield
    push_loop.detach()
    push_thread.disable()


@pytest.fixture(autouse=True, scope="session")
def _compiled_reads_are_checked():
    """Every compiled read (common/compiled.py) is compared with a fresh compile: a read
    whose SQL would differ from Django's for its arguments fails the test that made it."""
    from common import compiled

    compiled.VERIFY = True
    yield
    compiled.VERIFY = False


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (the status page's; test settings: local memory),
    as the database it cached from is rolled back after each test."""
    from django.core.cache import cache

    cache.clear()


FLUSH_ATTEMPTS = 5


def _deadlocked(exc: BaseException) -> bool:
    """Whether PostgreSQL chose this statement as a deadlock's victim (anywhere in the chain)."""
    from psycopg.errors import DeadlockDetected

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DeadlockDetected):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@pytest.fixture(autouse=True, scope="session")
def _flush_survives_a_deadlock():
    """A transactional test's teardown flush is tried again when PostgreSQL made it a
    deadlock's victim.

    The flush truncates every table in one statement. A worker process still reading
    several of them (a finished run's push, rendered on its push thread after the test
    saw the run end) can hold one table while it waits for another that the flush
    already holds; PostgreSQL then aborts the flush, which left the data behind for the
    next test (CI, stop 20: test_faults_outages.py). The aborted flush changed nothing,
    and the reader finishes once it is aborted, so trying again is safe.
    """
    from django.core.management.commands import flush

    original = flush.Command.handle

    def handle(self: flush.Command, **options: Any) -> None:
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                return original(self, **options)
            except Exception as exc:
                if attempt == FLUSH_ATTEMPTS or not _deadlocked(exc):
                    raise
                time.sleep(0.1 * attempt)  # a pause before the next try, not a wait for a state

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(flush.Command, "handle", handle)
        yield
