"""Swagger UI at ``/schema`` in a real Chromium: the operations render from the suite's own
files, under its strict Content-Security-Policy, with no request to any other host."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Request, expect

from tests.suite.conftest import RunningSuite
from tests.suite.web.test_browser import (  # noqa: F401 (module fixtures, used by name)
    Session,
    browser,
    chromium,
    open_session,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def viewer(browser: Browser, suite: RunningSuite) -> AsyncIterator[Session]:  # noqa: F811
    session = await open_session(browser, suite)
    yield session
    await session.context.close()


async def test_swagger_ui_renders_the_operations_from_local_files_only(
    viewer: Session, suite: RunningSuite
) -> None:
    requested: list[str] = []
    page = await viewer.page()

    def note(request: Request) -> None:
        requested.append(request.url)

    page.on("request", note)
    answer = await page.goto("/schema")
    assert answer is not None
    assert answer.ok
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    operation = page.locator(".opblock-patch").filter(
        has_text="/api/v1/hotels/{hotel}/channels/{channel}"
    )
    await expect(operation).to_be_visible()
    await expect(page.locator(".opblock").first).to_be_visible()
    assert await page.locator(".opblock").count() > 30
    await operation.locator(".opblock-summary-control").click()
    await expect(operation.get_by_text("Idempotency-Key").first).to_be_visible()
    suite_origin = urlsplit(suite.url).netloc
    outside = [url for url in requested if urlsplit(url).netloc not in ("", suite_origin)]
    assert outside == []
    assert any(url.endswith("/schema/swagger-ui/swagger-ui-bundle.js") for url in requested)
    assert any(url.endswith("/schema/openapi.json") for url in requested)
    assert viewer.errors == []  # a CSP violation is logged as an error


async def test_only_the_viewer_files_are_served(suite: RunningSuite) -> None:
    async with suite.client() as client:
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
            served = await client.get(f"/schema/swagger-ui/{name}")
            assert served.status_code == 200, name
            assert served.headers["x-content-type-options"] == "nosniff"
        for name in ("index.html", "swagger-initializer.js", "swagger-ui-bundle.js.map"):
            assert (await client.get(f"/schema/swagger-ui/{name}")).status_code == 404, name
        page = await client.get("/schema")
    assert "<script>" not in page.text
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
