"""Fixtures that start real processes (the ASGI server, a Celery worker) and browser pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from incidents.models import Incident
from tests.integration.browser import LOAD_MS, OpenPage, wait_live
from tests.integration.processes import ROOT, start_server, start_worker

ARTIFACTS = ROOT / "test-artifacts"
REFUSAL_LOGS = re.compile(r"status of 4\d\d|Response Status Error Code 4\d\d|htmx:responseError")


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """uvicorn serving config.asgi on the test database with the Redis channel layer."""
    with django_db_blocker.unblock():
        server = start_server(ARTIFACTS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worker = start_worker(ARTIFACTS, RIPCORD_RUN_LEASE_SECONDS="3")
    yield worker
    worker.stop()


@pytest.fixture
def session_cookie(transactional_db):
    """A signed-in session for ``user`` (no password round trip), as a cookie dict."""

    def make(user, url: str) -> dict[str, str]:
        client = Client()
        client.force_login(user)
        return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}

    return make


# --- browser pages (tests/integration/test_browser_*.py) ----------------------


@pytest.fixture
def open_page(browser: Browser, asgi_server, session_cookie) -> Iterator[OpenPage]:
    """``open_page(user, path, before_load=None, allow_refusals=False, **context_options)``.

    Each call gets its own browser context, so cookies, localStorage and sockets
    are that person's alone. ``before_load(page)`` runs before the page is loaded
    (to listen to its websocket, say). Uncaught script errors and console errors
    on any page fail the test, but for the logs of a refused request (4xx) on a
    page opened with ``allow_refusals=True``, where the test provokes one.
    """
    contexts: list[BrowserContext] = []
    script_errors: list[str] = []

    def console(user: User, message: ConsoleMessage, refusals: bool) -> None:
        if message.type != "error":
            return
        # A refused request is logged by Chromium and by htmx; expected where the
        # test provokes one (``allow_refusals=True``), an error anywhere else.
        if refusals and REFUSAL_LOGS.search(message.text):
            return
        script_errors.append(f"{user.username} console: {message.text} {message.location}")

    def open_(
        user: User,
        path: str,
        before_load: Callable[[Page], None] | None = None,
        allow_refusals: bool = False,
        **context_options: Any,
    ) -> Page:
        context = browser.new_context(**context_options)
        contexts.append(context)
        context.set_default_timeout(LOAD_MS)
        context.add_cookies([session_cookie(user, asgi_server.url)])
        page = context.new_page()
        page.on("pageerror", lambda exc: script_errors.append(f"{user.username}: {exc}"))
        page.on("console", lambda message: console(user, message, allow_refusals))
        if before_load is not None:
            before_load(page)
        page.goto(asgi_server.url + path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not script_errors, script_errors


@pytest.fixture
def incident_page(open_page: OpenPage) -> Callable[..., Page]:
    """``incident_page(user, incident, before_load=None, **context_options)``: once live."""

    def open_(user: User, incident: Incident, **options: Any) -> Page:
        page = open_page(user, reverse("incidents:detail", args=[incident.pk]), **options)
        wait_live(page)
        return page

    return open_
