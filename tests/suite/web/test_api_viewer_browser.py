"""Swagger UI at ``/schema`` in a real Chromium: the operations render from the suite's own
files, under its strict Content-Security-Policy, with no request to any other host."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Request, expect

from tests.suite.api.seed import SeededHotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.test_browser import (  # noqa: F401 (module fixtures, used by name)
    Session,
    browser,
    chromium,
    open_session,
    plaza,
    sign_in_as,
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


async def test_try_it_out_with_the_browsers_session_sends_its_csrf_token(
    viewer: Session,
    plaza: SeededHotel,  # noqa: F811
) -> None:
    page = await viewer.page()
    await sign_in_as(page, "agent@plaza.test")
    await page.goto("/schema")
    await expect(page.locator(".opblock").first).to_be_visible()
    # A change through Swagger UI's own request interceptor, as "Execute" sends it,
    # and the same request without it (what "Try it out" sent before: 403).
    statuses = await page.evaluate(
        """async () => {
            const send = (headers) => fetch("/api/v1/me/tokens", {
                method: "POST", credentials: "same-origin",
                headers: { "content-type": "application/json", ...headers },
                body: JSON.stringify({ name: "from the viewer" }),
            }).then((answer) => answer.status);
            const intercept = window.ui.getConfigs().requestInterceptor;
            const request = await intercept({
                url: "/api/v1/me/tokens", method: "POST", headers: {},
            });
            return [await send(request.headers), await send({})];
        }"""
    )
    assert statuses == [201, 403]
    assert viewer.errors == [] or all("403" in error for error in viewer.errors)


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
