"""Settings sources: memory, a TOML file, and the suite's bot API over real HTTP."""

from __future__ import annotations

import inspect
import json
import os
import re
import socket
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from begasist_core.channelbot.settings_source import (
    MAX_CONCURRENT_REQUESTS,
    FileSettingsSource,
    HotelSettings,
    HttpSettingsSource,
    SettingsUnavailable,
    StaticSettingsSource,
    UnknownHotel,
)

pytestmark = pytest.mark.anyio

# -- StaticSettingsSource ------------------------------------------------------------------


async def test_static_update_bumps_the_version() -> None:
    source = StaticSettingsSource({"plaza": {"demo": {"enabled": True}}, "sol": {}})
    assert await source.version("plaza") == 1
    updated = source.update("plaza", {"demo": {"enabled": False}})
    assert updated == HotelSettings(hotel="plaza", version=2, channels={"demo": {"enabled": False}})
    assert await source.fetch("plaza") == updated
    assert await source.version("plaza") == 2
    assert await source.version("sol") == 1


async def test_static_source_starts_a_new_hotel_at_version_one() -> None:
    source = StaticSettingsSource()
    assert source.update("sol", {}).version == 1


async def test_static_unknown_hotel() -> None:
    source = StaticSettingsSource({"plaza": {}})
    with pytest.raises(UnknownHotel, match="'ritz'"):
        await source.fetch("ritz")
    with pytest.raises(UnknownHotel):
        await source.version("ritz")


# -- FileSettingsSource --------------------------------------------------------------------


def docstring_layout() -> str:
    """The TOML example in FileSettingsSource's docstring: the documented layout must work."""
    _, _, block = (inspect.getdoc(FileSettingsSource) or "").partition("Layout::")
    return textwrap.dedent(block).strip() + "\n"


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hotels.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_file_source_reads_the_documented_layout(tmp_path: Path) -> None:
    source = FileSettingsSource(settings_file(tmp_path, docstring_layout()))
    assert await source.fetch("plaza") == HotelSettings(
        hotel="plaza", version=3, channels={"demo": {"enabled": True}}
    )
    assert await source.version("plaza") == 3


async def test_file_source_rereads_the_file_on_every_fetch(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "[hotels.plaza]\nversion = 1\n")
    source = FileSettingsSource(path)
    assert (await source.fetch("plaza")).channels == {}
    path.write_text("[hotels.plaza]\nversion = 2\n[hotels.plaza.channels.demo]\n", "utf-8")
    assert await source.fetch("plaza") == HotelSettings(
        hotel="plaza", version=2, channels={"demo": {}}
    )


async def test_file_version_defaults_to_the_mtime_and_follows_a_rewrite(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "[hotels.plaza.channels.demo]\nenabled = true\n")
    source = FileSettingsSource(path)
    first = await source.version("plaza")
    assert first == path.stat().st_mtime_ns

    path.write_text("[hotels.plaza.channels.demo]\nenabled = false\n", encoding="utf-8")
    # A coarse file-system clock can give a quick rewrite the same mtime: move it on.
    os.utime(path, ns=(first + 1_000_000_000, first + 1_000_000_000))
    rewritten = await source.fetch("plaza")
    assert rewritten.version == path.stat().st_mtime_ns == first + 1_000_000_000
    assert rewritten.channels == {"demo": {"enabled": False}}


async def test_file_unknown_hotel(tmp_path: Path) -> None:
    path = settings_file(tmp_path, docstring_layout())
    with pytest.raises(UnknownHotel) as raised:
        await FileSettingsSource(path).fetch("ritz")
    assert "'ritz'" in str(raised.value)
    assert str(path) in str(raised.value)


async def test_file_missing_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(SettingsUnavailable) as raised:
        await FileSettingsSource(path).fetch("plaza")
    assert str(path) in str(raised.value)
    assert "does not exist" in str(raised.value)


async def test_file_invalid_toml_is_unavailable(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "[hotels.plaza\nversion = \n")
    with pytest.raises(SettingsUnavailable) as raised:
        await FileSettingsSource(path).version("plaza")
    assert str(path) in str(raised.value)
    assert "not valid TOML" in str(raised.value)


async def test_file_typo_in_a_hotel_key_is_unavailable(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "[hotels.plaza]\nverison = 3\n")
    with pytest.raises(SettingsUnavailable) as raised:
        await FileSettingsSource(path).fetch("plaza")
    assert str(path) in str(raised.value)
    assert "verison" in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[hotels]\nplaza = 3\n", id="entry-not-a-table"),
        pytest.param("hotels = 3\n", id="hotels-not-a-table"),
        pytest.param("[hotels.plaza]\nversion = -1\n", id="negative-version"),
    ],
)
async def test_file_malformed_hotel_entry_is_unavailable(tmp_path: Path, text: str) -> None:
    path = settings_file(tmp_path, text)
    with pytest.raises(SettingsUnavailable, match=re.escape(str(path))):
        await FileSettingsSource(path).fetch("plaza")


async def test_file_errors_do_not_echo_secrets(tmp_path: Path) -> None:
    secret = "imap-password-0042"
    path = settings_file(tmp_path, f'[hotels.plaza.channels]\nemail = "{secret}"\n')
    with pytest.raises(SettingsUnavailable) as raised:
        await FileSettingsSource(path).fetch("plaza")
    assert "channels.email" in str(raised.value)
    assert secret not in str(raised.value)


async def test_file_hotel_key_cannot_rename_the_hotel(tmp_path: Path) -> None:
    path = settings_file(tmp_path, '[hotels.plaza]\nhotel = "sol"\nversion = 1\n')
    with pytest.raises(SettingsUnavailable, match="may not set 'hotel'"):
        await FileSettingsSource(path).fetch("plaza")


# -- HttpSettingsSource against a real HTTP server -----------------------------------------

TOKENS = {"plaza": "plaza-bot-token-1b7e", "garbled": "garbled-bot-token-9c2d"}
PLAZA = HotelSettings(
    hotel="plaza",
    version=7,
    channels={"demo": {"enabled": True, "webhook_secret": "demo-secret"}},
)
ROUTE = re.compile(r"/api/v1/hotels/(?P<hotel>[^/]+)/bot/settings(?P<version>/version)?")


@dataclass(frozen=True)
class SuiteHotel:
    token: str
    settings_body: bytes
    version_body: bytes


class FakeSuite(ThreadingHTTPServer):
    """The suite's two bot endpoints on a throwaway port, each hotel behind its bot token."""

    daemon_threads = True

    def __init__(self, hotels: dict[str, SuiteHotel]) -> None:
        super().__init__(("127.0.0.1", 0), BotSettingsHandler)
        self.hotels = hotels
        self.requests: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class BotSettingsHandler(BaseHTTPRequestHandler):
    server: FakeSuite

    def do_GET(self) -> None:
        authorization = self.headers.get("Authorization")
        self.server.requests.append((self.path, authorization))
        route = ROUTE.fullmatch(self.path)
        hotel = self.server.hotels.get(route["hotel"]) if route else None
        if route is None or hotel is None:
            self.answer(404, b'{"detail": "not found"}')
        elif authorization != f"Bearer {hotel.token}":
            self.answer(401, b'{"detail": "invalid bot token"}')
        elif route["version"]:
            self.answer(200, hotel.version_body)
        else:
            self.answer(200, hotel.settings_body)

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``FakeSuite.requests``, not stderr."""


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; a developer's proxy must not see these requests."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.lower(), raising=False)


@pytest.fixture
def suite() -> Iterator[FakeSuite]:
    server = FakeSuite(
        {
            "plaza": SuiteHotel(
                token=TOKENS["plaza"],
                settings_body=PLAZA.model_dump_json().encode(),
                version_body=json.dumps({"version": PLAZA.version}).encode(),
            ),
            "garbled": SuiteHotel(
                token=TOKENS["garbled"], settings_body=b"{not json", version_body=b"<html>"
            ),
        }
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
async def source(suite: FakeSuite) -> AsyncIterator[HttpSettingsSource]:
    async with aclosing(HttpSettingsSource(suite.url + "/", TOKENS)) as client:
        yield client


async def test_http_fetch_and_version(source: HttpSettingsSource, suite: FakeSuite) -> None:
    assert await source.fetch("plaza") == PLAZA
    assert await source.version("plaza") == 7
    assert suite.requests == [
        ("/api/v1/hotels/plaza/bot/settings", f"Bearer {TOKENS['plaza']}"),
        ("/api/v1/hotels/plaza/bot/settings/version", f"Bearer {TOKENS['plaza']}"),
    ]


@pytest.mark.parametrize("call", ["fetch", "version"])
async def test_http_refused_token_is_unavailable_and_not_echoed(
    suite: FakeSuite, call: str
) -> None:
    wrong = "stolen-looking-token-5e1f"
    async with aclosing(HttpSettingsSource(suite.url, {"plaza": wrong})) as source:
        with pytest.raises(SettingsUnavailable) as raised:
            await getattr(source, call)("plaza")
    message = str(raised.value)
    assert "refused the bot token" in message
    assert "'plaza'" in message
    assert "401" in message
    assert wrong not in message
    assert [authorization for _, authorization in suite.requests] == [f"Bearer {wrong}"]


@pytest.mark.parametrize("call", ["fetch", "version"])
async def test_http_unknown_hotel(suite: FakeSuite, call: str) -> None:
    async with aclosing(HttpSettingsSource(suite.url, {"ritz": "ritz-token"})) as ritz:
        with pytest.raises(UnknownHotel, match="'ritz'"):
            await getattr(ritz, call)("ritz")
    assert len(suite.requests) == 1


async def test_http_invalid_json_settings(source: HttpSettingsSource) -> None:
    with pytest.raises(SettingsUnavailable, match="invalid settings"):
        await source.fetch("garbled")


async def test_http_invalid_json_version(source: HttpSettingsSource) -> None:
    with pytest.raises(SettingsUnavailable, match="invalid version"):
        await source.version("garbled")


SUITE_SECRET = "EAAG-whatsapp-access-token-0042"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"hotel": "plaza", "version": 8, "channels": {"whatsapp": SUITE_SECRET}},
            id="invalid-field",
        ),
        pytest.param(
            '{"hotel": "plaza", "version": 8, "channels": {"whatsapp": {"token": "' + SUITE_SECRET,
            id="truncated-json",
        ),
    ],
)
async def test_http_invalid_settings_do_not_echo_secrets(
    suite: FakeSuite, body: dict[str, Any] | str
) -> None:
    encoded = (body if isinstance(body, str) else json.dumps(body)).encode()
    suite.hotels["leaky"] = SuiteHotel("leaky-token", encoded, b"{}")
    async with aclosing(HttpSettingsSource(suite.url, {"leaky": "leaky-token"})) as source:
        with pytest.raises(SettingsUnavailable, match="invalid settings") as raised:
            await source.fetch("leaky")
    assert SUITE_SECRET not in str(raised.value)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("call", ["fetch", "version"])
async def test_http_connection_refused_is_unavailable(call: str) -> None:
    async with aclosing(HttpSettingsSource(closed_port_url(), TOKENS)) as source:
        with pytest.raises(SettingsUnavailable, match="cannot reach the suite"):
            await getattr(source, call)("plaza")


@pytest.mark.parametrize("call", ["fetch", "version"])
async def test_http_hotel_without_a_token_sends_nothing(
    source: HttpSettingsSource, suite: FakeSuite, call: str
) -> None:
    suite.hotels["sol"] = SuiteHotel("sol-token", b"{}", b"{}")
    with pytest.raises(SettingsUnavailable, match="no bot token for hotel 'sol'"):
        await getattr(source, call)("sol")
    assert suite.requests == []


class _SlowCountingSuite(BaseHTTPRequestHandler):
    """Answers any hotel's settings after a pause, counting the requests in flight."""

    lock = threading.Lock()
    in_flight = 0
    most = 0

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most = max(cls.most, cls.in_flight)
        try:
            threading.Event().wait(0.05)
            hotel = self.path.split("/")[4]
            body = json.dumps({"hotel": hotel, "version": 1, "channels": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


async def test_a_shards_hundreds_of_fetches_reach_the_suite_a_few_at_a_time() -> None:
    handler = type("Suite", (_SlowCountingSuite,), {"in_flight": 0, "most": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hotels = [f"hotel-{number}" for number in range(120)]
    fetched: list[str] = []
    try:
        source = HttpSettingsSource(
            f"http://127.0.0.1:{server.server_address[1]}", {}, fleet_token="bgf_test"
        )
        async with aclosing(source):

            async def fetch(hotel: str) -> None:
                fetched.append((await source.fetch(hotel)).hotel)

            async with anyio.create_task_group() as group:
                for hotel in hotels:
                    group.start_soon(fetch, hotel)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(fetched) == sorted(hotels)
    assert 1 < handler.most <= MAX_CONCURRENT_REQUESTS
