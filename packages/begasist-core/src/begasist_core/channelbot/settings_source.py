"""Where a bot gets its hotel's channel settings: the suite's API, a file, or memory."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from begasist_core.models.names import HotelSlug
from begasist_core.models.validation import describe_validation_error

__all__ = [
    "FileSettingsSource",
    "HotelLister",
    "HotelSettings",
    "HttpSettingsSource",
    "SettingsSource",
    "SettingsUnavailable",
    "SourceUnreachable",
    "StaticSettingsSource",
    "TokenRefused",
    "UnknownHotel",
]


class HotelSettings(BaseModel):
    """One hotel's channel settings at one config version.

    ``channels`` maps a channel name to its raw settings; each channel's own
    ``Settings`` model validates its entry, so a source need not know them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    hotel: HotelSlug
    version: NonNegativeInt
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)


class UnknownHotel(LookupError):
    """The source has no such hotel."""


class SettingsUnavailable(RuntimeError):
    """The source cannot answer now (network, bad file); the caller may retry."""


class SourceUnreachable(SettingsUnavailable):
    """The source did not answer (connection refused, timeout, 5xx): worth waiting for."""


class TokenRefused(SettingsUnavailable):
    """The suite refused the token (401/403): an operator must fix it; waiting will not."""


_LIST_PAGE = 200
"""Hotels per page of the fleet listing (the suite's largest page)."""

MAX_CONCURRENT_REQUESTS = 16
"""Requests to the suite in flight at once; the rest wait their turn here. httpx's
pool hands a freed connection to a waiting request by scanning every waiting
request against every connection: with a shard's hundreds of hotels fetching
at once that scan took most of the bot's CPU and stalled its leases."""


class _HotelItem(BaseModel):
    slug: HotelSlug


class _HotelPage(BaseModel):
    items: list[_HotelItem]
    next_cursor: str | None = None


class SettingsSource(Protocol):
    """Fetches a hotel's channel settings; ``version`` is the cheap change check."""

    async def fetch(self, hotel: str) -> HotelSettings:
        """The hotel's settings; raises :class:`UnknownHotel` or :class:`SettingsUnavailable`."""
        ...

    async def version(self, hotel: str) -> int:
        """The hotel's current config version, for the periodic missed-event check."""
        ...

    async def aclose(self) -> None:
        """Release connections; the source is not used afterwards."""
        ...


class HotelLister(Protocol):
    """Lists every hotel there is, for a sharded bot that picks its own from them."""

    async def list_hotels(self) -> list[str]:
        """Every hotel's slug; raises :class:`SettingsUnavailable` (or a subclass)."""
        ...


class StaticSettingsSource:
    """Settings held in memory: for tests, the conformance kit and embedding."""

    def __init__(self, hotels: dict[str, dict[str, dict[str, Any]]] | None = None) -> None:
        self._hotels: dict[str, HotelSettings] = {}
        for hotel, channels in (hotels or {}).items():
            self.update(hotel, channels)

    def update(self, hotel: str, channels: dict[str, dict[str, Any]]) -> HotelSettings:
        """Replace a hotel's channels and bump its version; return the new settings."""
        previous = self._hotels.get(hotel)
        settings = HotelSettings(
            hotel=hotel,
            version=(previous.version + 1) if previous else 1,
            channels=channels,
        )
        self._hotels[hotel] = settings
        return settings

    async def fetch(self, hotel: str) -> HotelSettings:
        try:
            return self._hotels[hotel]
        except KeyError:
            raise UnknownHotel(f"no settings for hotel {hotel!r}") from None

    async def version(self, hotel: str) -> int:
        return (await self.fetch(hotel)).version

    async def list_hotels(self) -> list[str]:
        return sorted(self._hotels)

    def remove(self, hotel: str) -> None:
        """Forget *hotel* (it was deleted)."""
        self._hotels.pop(hotel, None)

    async def aclose(self) -> None:
        """Nothing to release."""


class FileSettingsSource:
    """Settings from a TOML file, for development; re-read on every fetch.

    Layout::

        [hotels.plaza]
        version = 3            # optional; default: the file's mtime in ns
        [hotels.plaza.channels.demo]
        enabled = true
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    async def fetch(self, hotel: str) -> HotelSettings:
        document = await self._read()
        hotels = document.get("hotels", {})
        if not isinstance(hotels, dict):
            raise SettingsUnavailable(f"{self.path}: [hotels] must be a table")
        if hotel not in hotels:
            raise UnknownHotel(f"hotel {hotel!r} is not in {self.path}")
        entry = hotels[hotel]
        if not isinstance(entry, dict):
            raise SettingsUnavailable(f"{self.path}: [hotels.{hotel}] must be a table")
        fields = dict(entry)
        if "hotel" in fields:
            raise SettingsUnavailable(f"{self.path}: [hotels.{hotel}] may not set 'hotel'")
        if "version" not in fields:
            fields["version"] = (await anyio.Path(self.path).stat()).st_mtime_ns
        try:
            return HotelSettings.model_validate({"hotel": hotel, **fields})
        except ValidationError as error:
            raise SettingsUnavailable(
                f"{self.path}: hotel {hotel!r}: {describe_validation_error(error)}"
            ) from None

    async def version(self, hotel: str) -> int:
        return (await self.fetch(hotel)).version

    async def list_hotels(self) -> list[str]:
        hotels = (await self._read()).get("hotels", {})
        if not isinstance(hotels, dict):
            raise SettingsUnavailable(f"{self.path}: [hotels] must be a table")
        return sorted(hotels)

    async def aclose(self) -> None:
        """Nothing to release."""

    async def _read(self) -> dict[str, Any]:
        try:
            text = await anyio.Path(self.path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SettingsUnavailable(f"settings file {self.path} does not exist") from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise SettingsUnavailable(f"{self.path} is not valid TOML: {error}") from None


class HttpSettingsSource:
    """Settings from the suite's bot endpoint, authenticated with each hotel's bot token.

    ``GET {base_url}/api/v1/hotels/{hotel}/bot/settings`` answers a
    :class:`HotelSettings` document (secrets in clear, over TLS, to the bot
    only); ``.../bot/settings/version`` answers ``{"version": n}``.

    With a *fleet_token* (a platform's fleet bot token) it reads any hotel's
    settings with it (a hotel's own token, if given, still wins) and lists
    the hotels with ``GET {base_url}/api/v1/bot/hotels``, a page at a time.
    """

    def __init__(
        self,
        base_url: str,
        tokens: Mapping[str, str],
        *,
        fleet_token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._tokens = dict(tokens)
        self._fleet_token = fleet_token
        self._in_flight = anyio.Semaphore(MAX_CONCURRENT_REQUESTS)
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=MAX_CONCURRENT_REQUESTS,
                max_keepalive_connections=MAX_CONCURRENT_REQUESTS,
            ),
        )

    async def fetch(self, hotel: str) -> HotelSettings:
        response = await self._get(f"/api/v1/hotels/{hotel}/bot/settings", hotel)
        try:
            settings = HotelSettings.model_validate_json(response.content)
        except ValidationError as error:
            raise SettingsUnavailable(
                f"the suite sent invalid settings: {describe_validation_error(error)}"
            ) from None
        if settings.hotel != hotel:
            raise SettingsUnavailable(
                f"the suite sent settings of {settings.hotel!r} when asked for {hotel!r}"
            )
        return settings

    async def version(self, hotel: str) -> int:
        response = await self._get(f"/api/v1/hotels/{hotel}/bot/settings/version", hotel)
        try:
            version = response.json()["version"]
        except (ValueError, KeyError, TypeError) as error:
            raise SettingsUnavailable(f"the suite sent an invalid version: {error}") from None
        if type(version) is not int or version < 0:
            raise SettingsUnavailable("the suite sent an invalid version: not a whole number >= 0")
        return version

    async def list_hotels(self) -> list[str]:
        if self._fleet_token is None:
            raise SettingsUnavailable(
                "listing the hotels needs a fleet token (BEGASIST_FLEET_TOKEN)"
            )
        hotels: list[str] = []
        cursor: str | None = None
        while True:
            params = {"limit": str(_LIST_PAGE)} | ({} if cursor is None else {"cursor": cursor})
            response = await self._get("/api/v1/bot/hotels", None, params=params)
            try:
                page = _HotelPage.model_validate_json(response.content)
            except ValidationError as error:
                raise SettingsUnavailable(
                    f"the suite sent an invalid hotel list: {describe_validation_error(error)}"
                ) from None
            hotels.extend(item.slug for item in page.items)
            if page.next_cursor is None:
                return hotels
            cursor = page.next_cursor

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(
        self, path: str, hotel: str | None, *, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        token = self._fleet_token if hotel is None else self._tokens.get(hotel, self._fleet_token)
        if token is None:
            raise SettingsUnavailable(f"no bot token for hotel {hotel!r}")
        try:
            async with self._in_flight:
                response = await self._client.get(
                    path, params=params, headers={"Authorization": f"Bearer {token}"}
                )
        except httpx.HTTPError as error:
            raise SourceUnreachable(
                f"cannot reach the suite at {self._client.base_url}: "
                f"{error or type(error).__name__}"
            ) from None
        if response.status_code == 404 and hotel is None:
            raise SettingsUnavailable(
                f"the suite at {self._client.base_url} has no hotel listing for bots "
                "(GET /api/v1/bot/hotels: a suite older than the fleet token?)"
            )
        if response.status_code == 404:
            raise UnknownHotel(f"the suite knows no hotel {hotel!r} (or the token is not for it)")
        if response.status_code in (401, 403):
            whose = "the fleet token" if hotel is None else f"the bot token for {hotel!r}"
            raise TokenRefused(f"the suite refused {whose} ({response.status_code})")
        if response.status_code >= 500:
            raise SourceUnreachable(
                f"the suite at {self._client.base_url} answered {response.status_code}"
            )
        if response.status_code >= 400:
            raise SettingsUnavailable(
                f"the suite at {self._client.base_url} answered {response.status_code}"
            )
        return response
