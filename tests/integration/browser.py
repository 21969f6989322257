"""Helpers for the browser tests (tests/integration/test_browser_*.py).

The page fixtures (``open_page``, ``incident_page``) are in this folder's
conftest; these are the plain functions and budgets the tests share.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, WebSocket, expect

LOAD_MS = 10_000  # page load + socket open + first resync on a busy CI machine
ROUND_TRIP_MS = 5000  # a request, its response applied (or a push), on a busy machine

OpenPage = Callable[..., Page]


def wait_live(page: Page, timeout: float = LOAD_MS) -> None:
    """The socket is open and the panels were fetched again (static/js/live.js)."""
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=timeout)


def step_card(page: Page, title: str) -> Locator:
    return page.locator("article.step").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def record_frames(frames: list[str]) -> Callable[[Page], None]:
    """For ``open_page(before_load=...)``: every websocket message the page receives."""

    def attach(page: Page) -> None:
        def on_socket(socket: WebSocket) -> None:
            socket.on(
                "framereceived",
                lambda payload: frames.append(
                    payload if isinstance(payload, str) else payload.decode()
                ),
            )

        page.on("websocket", on_socket)

    return attach


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Print past pytest's capture, so the measurements show in a plain ``-q`` run."""
    with capsys.disabled():
        print(f"\n    {line}")
