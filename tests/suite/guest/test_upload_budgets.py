"""Guests' uploads spend byte budgets as they stream in: per client address and per hotel per
window, per hotel per day; past one the upload answers 429 and nothing of it is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from begasist_suite.config import SuiteSettings
from begasist_suite.guest.limits import WindowLimiter

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL
from tests.suite.guest.test_uploads import UPLOADS, headers, png, stored_files, visitor

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

FILE = png(padding=20_000)
"""About 20 kB: a budget of 50 kB takes two such files, not three."""
BUDGET = 50_000
PLENTY = 10**9


def from_address(address: str) -> dict[str, str]:
    """Headers of a fresh visitor's upload from *address* (the suite trusts the test's proxy)."""
    return {**headers(visitor()), "x-forwarded-for": address}


async def uploads_until_refused(client: httpx.AsyncClient, addresses: list[str]) -> list[int]:
    return [
        (await client.post(UPLOADS, content=FILE, headers=from_address(address))).status_code
        for address in addresses
    ]


@pytest.fixture
async def client(suite: RunningSuite, admin: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    async with suite.client() as opened:
        yield opened


class TestPerAddress:
    @pytest.fixture
    def suite_settings(self, suite_settings: SuiteSettings) -> SuiteSettings:
        return suite_settings.model_copy(update={"guest_address_upload_bytes": BUDGET})

    async def test_an_address_past_its_bytes_is_refused_and_nothing_is_kept(
        self, suite: RunningSuite, client: httpx.AsyncClient
    ) -> None:
        codes = await uploads_until_refused(client, ["198.51.100.7"] * 3)
        assert codes == [201, 201, 429]
        kept = len(stored_files(suite))
        refused = await client.post(UPLOADS, content=png(), headers=from_address("198.51.100.7"))
        assert refused.status_code == 429
        assert refused.json() == {"error": "rate_limited"}
        assert len(stored_files(suite)) == kept
        # Another address has its own budget.
        assert await uploads_until_refused(client, ["198.51.100.8"]) == [201]

    async def test_a_streamed_body_is_cut_off_at_the_budget(
        self, suite: RunningSuite, admin: httpx.AsyncClient, client: httpx.AsyncClient
    ) -> None:
        saved = await admin.patch(
            f"/api/v1/hotels/{HOTEL}/channels/webchat", json={"max_attachment_bytes": 4_000_000}
        )
        assert saved.status_code == 200, saved.text

        async def chunks() -> AsyncIterator[bytes]:
            yield png()
            for _ in range(40):
                yield b"x" * 65_536

        # No length announced: only the count while the bytes arrive can stop it.
        answer = await client.post(UPLOADS, content=chunks(), headers=from_address("198.51.100.9"))
        assert answer.status_code == 429
        assert stored_files(suite) == []


class TestPerHotel:
    @pytest.fixture
    def suite_settings(self, suite_settings: SuiteSettings) -> SuiteSettings:
        return suite_settings.model_copy(
            update={"guest_address_upload_bytes": PLENTY, "guest_hotel_upload_bytes": BUDGET}
        )

    async def test_many_addresses_together_stop_at_the_hotels_bytes(
        self, suite: RunningSuite, client: httpx.AsyncClient
    ) -> None:
        codes = await uploads_until_refused(client, [f"203.0.113.{n}" for n in range(1, 5)])
        assert codes == [201, 201, 429, 429]


class TestPerHotelPerDay:
    @pytest.fixture
    def suite_settings(self, suite_settings: SuiteSettings) -> SuiteSettings:
        return suite_settings.model_copy(
            update={
                "guest_address_upload_bytes": PLENTY,
                "guest_hotel_upload_bytes": PLENTY,
                "guest_hotel_upload_bytes_per_day": BUDGET,
            }
        )

    async def test_the_hotels_day_is_a_budget_of_its_own(
        self, suite: RunningSuite, client: httpx.AsyncClient
    ) -> None:
        codes = await uploads_until_refused(client, [f"203.0.113.{n}" for n in range(1, 4)])
        assert codes == [201, 201, 429]
        limiter: WindowLimiter = suite.app.state.guest_limiter
        day = await suite.redis.ttl(limiter.key("upload-bytes-hotel-day", HOTEL))
        assert day > suite.settings.guest_window_seconds
