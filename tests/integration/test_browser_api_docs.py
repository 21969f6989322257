"""``/api/v1/docs`` renders Swagger UI with the network cut off (everything but 127.0.0.1).

django-ninja serves the Swagger UI bundled in its package once ``ninja`` is an
installed app (config/settings.py); without it the page asks a CDN and stays blank.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, expect

from tests.integration.browser import LOAD_MS, OpenPage

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright(django_db_setup) -> Iterator[None]:
    # Depends on django_db_setup so that the test database exists before Playwright's
    # event loop starts in this thread (shared/PITFALLS.md).
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.mark.timeout(60)
def test_api_docs_render_with_no_request_leaving_this_machine(open_page: OpenPage, viewer):
    refused: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page = open_page(
        viewer, "/api/v1/docs", before_load=lambda page: page.route("**/*", only_local)
    )

    # Swagger UI built the page from the document: its title and an operation of ours.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Ripcord API", timeout=LOAD_MS)
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.get_by_text("/api/v1/incidents/", exact=False).first).to_be_visible()
    assert refused == []
