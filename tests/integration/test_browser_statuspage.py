"""An anonymous reader sees a published update on the status page within a second.

With JavaScript the page notices the new version (summary.json's ETag) and swaps itself in
place; without it, a reload (or the page's meta refresh) shows the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.integration.browser import LOAD_MS
from tests.integration.http import ApiClient
from tests.integration.statuspage_peers import commander_token, todo_page

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120)]

SEEN_WITHIN_MS = 1000


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test thread (shared/PITFALLS.md)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_reader_sees_a_published_update_within_a_second(
    asgi_server,  # first: the test database is set up before Playwright's loop runs
    browser: Browser,
):
    todo_page()
    api = ApiClient(asgi_server.url, commander_token())
    errors: list[str] = []
    live = browser.new_context()  # no cookies: nobody signed in
    still = browser.new_context(java_script_enabled=False)
    try:
        reader = live.new_page()
        reader.on("pageerror", lambda exc: errors.append(str(exc)))
        reader.goto(f"{asgi_server.url}/status/todo-app/", timeout=LOAD_MS)
        expect(reader.locator("#overall")).to_have_text("All Systems Operational")
        no_js = still.new_page()
        no_js.goto(f"{asgi_server.url}/status/todo-app/", timeout=LOAD_MS)
        assert no_js.locator('meta[http-equiv="refresh"]').count() == 1

        published = api.post(
            "/status-pages/todo-app/updates",
            {
                "title": "Logins are failing",
                "body": "We are rolling back the release.",
                "status": "investigating",
                "impact": "critical",
                "components": {"Login": "major_outage"},
                "idempotency_key": "browser-1",
            },
        )
        assert published.status_code == 201, published.body
        started = time.monotonic()
        incident = reader.locator("section.incident.open")
        expect(incident.get_by_role("heading", name="Logins are failing")).to_be_visible(
            timeout=SEEN_WITHIN_MS
        )
        seen_ms = (time.monotonic() - started) * 1000
        expect(reader.locator("#overall")).to_have_text("Major System Outage")
        login = reader.locator(".components li").filter(has_text="Login")
        expect(login.locator(".component-status")).to_have_text("Major outage")
        print(f"seen {seen_ms:.0f} ms after the publish returned")

        no_js.reload(timeout=LOAD_MS)
        expect(no_js.get_by_text("We are rolling back the release.")).to_be_visible()
    finally:
        live.close()
        still.close()
    assert errors == []
