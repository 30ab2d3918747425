"""``channelbot --shard`` as a process: hotels listed with a fleet token, served, drained."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest
from begasist_core.channelbot.settings_source import HotelSettings

from .test_cli_process import JsonStub, collect_for, environment, read_until, serving, stop

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FLEET_TOKEN = "bgf_fleet-token-9d1e"
HOTELS = ("plaza", "sol", "vista")


class StubFleetSuite(JsonStub):
    """The suite's fleet endpoints: the hotel list a page of two at a time, any hotel's settings."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if self.headers.get("Authorization") != f"Bearer {FLEET_TOKEN}":
            self._answer(401, b"{}")
        elif url.path == "/api/v1/bot/hotels":
            cursor = parse_qs(url.query).get("cursor", [""])[0]
            after = [hotel for hotel in HOTELS if hotel > cursor] if cursor else list(HOTELS)
            page, rest = after[:2], after[2:]
            items = ",".join(f'{{"slug": "{hotel}"}}' for hotel in page)
            next_cursor = f'"{page[-1]}"' if rest else "null"
            self._answer(200, f'{{"items": [{items}], "next_cursor": {next_cursor}}}'.encode())
        elif url.path.startswith("/api/v1/hotels/") and url.path.endswith("/bot/settings"):
            hotel = url.path.split("/")[4]
            settings = HotelSettings(hotel=hotel, version=2, channels={})
            self._answer(200, settings.model_dump_json().encode())
        elif url.path.endswith("/bot/settings/version"):
            self._answer(200, b'{"version": 2}')
        else:
            self._answer(404, b"{}")


@pytest.fixture
def stub_fleet_suite() -> Iterator[str]:
    with serving(StubFleetSuite) as url:
        yield url


async def test_a_single_shard_serves_every_listed_hotel_with_the_fleet_token(
    stub_fleet_suite: str,
) -> None:
    command = [
        sys.executable,
        "-m",
        "begasist_core.channelbot.cli",
        "--shard",
        "0/1",
        "--suite-url",
        stub_fleet_suite,
        "--embedded-engine",
    ]
    env = environment(BEGASIST_FLEET_TOKEN=FLEET_TOKEN, BEGASIST_LOG_LEVEL="DEBUG")
    async with await anyio.open_process(command, env=env) as process:
        lines = await read_until(process, "3 hotels listed, 3 first-choice here", within=30)
        for hotel in HOTELS:
            if not any(f"ready: hotel {hotel}" in line for line in lines):
                lines += await read_until(process, f"ready: hotel {hotel}", within=30)
        assert await stop(process) == 0
        lines += await collect_for(process, 1.0)
    assert FLEET_TOKEN not in "\n".join(lines)
