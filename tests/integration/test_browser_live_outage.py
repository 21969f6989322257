"""An open page during a Redis outage: it says it is not live, and catches up after.

The server is a real uvicorn (config.asgi) whose channel layer is a redis-server
of this test's own (never the machine's shared one), so the test can stop it and
start it again on the same port. The page's socket to uvicorn stays open all the
while; what breaks is the path every push takes (the layer). The page must not
go on saying "Live" over a stale page: it must show that it is not live within a
bound, and once Redis is back show "Live" again with what changed meanwhile,
without a reload.

Changes made meanwhile are written in this process straight through the service
(the database is fine during a Redis outage); they publish nothing from here, so
the page can only learn of them by fetching its panels again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from incidents import broadcast, services
from incidents.models import Incident
from tests.integration.browser import LOAD_MS, report, wait_live
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import Process, start_server
from tests.integration.servers import RedisServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

CHECK_MS = 200  # the server's layer check in this test (RIPCORD_LIVE_CHECK_MS)
BEAT_SECONDS = 2  # the server's beat to the page in this test (RIPCORD_LIVE_BEAT_SECONDS)
# Redis stopped -> the page says so: a failed check (one period, then at most the
# check's 3 s timeout) and a frame to the page, on a busy machine.
NOT_LIVE_MS = 8000
# Redis back -> the page is live and current: channels_redis's reader retries once a
# second, the next check passes, the page fetches its panels, on a busy machine.
CATCH_UP_MS = 15_000


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop in the test thread (shared/PITFALLS.md)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes made here publish nothing: the page learns of them only by re-syncing."""
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.close()


@pytest.fixture
def outage_server(own_redis: RedisServer, transactional_db) -> Iterator[Process]:
    """uvicorn with the Redis pub/sub layer on ``own_redis``, checking it every CHECK_MS."""
    server = start_server(
        ARTIFACTS,
        REDIS_URL=own_redis.url(),
        RIPCORD_CHANNEL_PREFIX=f"ripcord-outage-{uuid.uuid4().hex[:8]}",
        RIPCORD_LIVE_CHECK_MS=str(CHECK_MS),
        RIPCORD_LIVE_BEAT_SECONDS=str(BEAT_SECONDS),
    )
    yield server
    server.stop()


@pytest.fixture
def page_of(
    browser: Browser, outage_server: Process, session_cookie
) -> Iterator[Callable[..., Page]]:
    """``page_of(user, incident, live=True)``: the incident page, signed in (once live)."""
    contexts = []
    errors: list[str] = []

    def open_(user, incident: Incident, *, live: bool = True) -> Page:
        context = browser.new_context()
        contexts.append(context)
        context.set_default_timeout(LOAD_MS)
        context.add_cookies([session_cookie(user, outage_server.url)])
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(outage_server.url + reverse("incidents:detail", args=[incident.pk]))
        if live:
            wait_live(page)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def test_page_shows_a_redis_outage_and_catches_up_after(
    incident, backend, viewer, step, own_redis: RedisServer, page_of, capsys
):
    page = page_of(backend, incident)
    status = page.locator("#conn-status")
    body = page.locator("body")
    target = step("disable-v1")
    card = page.locator(f"#step-{target.pk}")
    expect(status).to_have_text("Live")
    expect(card).to_have_attribute("data-state", "pending")
    page.evaluate("window.__sameDocument = true")

    own_redis.stop()
    stopped = time.monotonic()
    expect(body).to_have_attribute("data-live", "reconnecting", timeout=NOT_LIVE_MS)
    expect(status).to_have_text("Reconnecting…")
    told_ms = (time.monotonic() - stopped) * 1000

    # Meanwhile the engineer's tick lands in the database; no push can reach the page.
    services.complete_step(step_id=target.pk, by=backend)
    expect(card).to_have_attribute("data-state", "pending")
    expect(status).to_have_text("Reconnecting…")
    # A page opened now cannot join (the server refuses its socket) and says so too.
    late = page_of(viewer, incident, live=False)
    expect(late.locator("#conn-status")).to_have_text("Reconnecting…", timeout=NOT_LIVE_MS)

    own_redis.start()
    started = time.monotonic()
    expect(card).to_have_attribute("data-state", "done", timeout=CATCH_UP_MS)
    expect(body).to_have_attribute("data-live", "live", timeout=CATCH_UP_MS)
    expect(status).to_have_text("Live")
    caught_up_ms = (time.monotonic() - started) * 1000
    expect(late.locator(f"#step-{target.pk}")).to_have_attribute(
        "data-state", "done", timeout=CATCH_UP_MS
    )
    wait_live(late, timeout=CATCH_UP_MS)  # its retries (live.js's backoff, at most ~6 s) got in
    assert page.evaluate("window.__sameDocument") is True  # caught up without a reload
    report(
        capsys,
        f"Redis stopped -> page says 'Reconnecting…' in {told_ms:.0f} ms (bound {NOT_LIVE_MS});"
        f" back -> 'Live' with the tick in {caught_up_ms:.0f} ms (bound {CATCH_UP_MS})",
    )


def test_a_blip_too_short_to_show_still_brings_the_page_up_to_date(
    incident, backend, step, own_redis: RedisServer, page_of
):
    """Redis restarted at once: pushes in that window are lost, so the page must re-sync.

    The tick is written before the restart and publishes nothing (this process), as
    if its push had been published into the gap; the restart is the only hint.
    """
    page = page_of(backend, incident)
    target = step("disable-v1")
    card = page.locator(f"#step-{target.pk}")
    page.evaluate("window.__sameDocument = true")
    services.complete_step(step_id=target.pk, by=backend)
    expect(card).to_have_attribute("data-state", "pending")

    own_redis.stop()
    own_redis.start()
    expect(card).to_have_attribute("data-state", "done", timeout=CATCH_UP_MS)
    wait_live(page, timeout=CATCH_UP_MS)
    expect(page.locator("#conn-status")).to_have_text("Live")
    assert page.evaluate("window.__sameDocument") is True
