"""The validated settings each webhook is verified with, cached briefly per channel."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

import anyio
from begasist_core import ChannelSettings, UnknownChannel
from pydantic import ValidationError

from begasist_suite.channel_settings import bot_settings
from begasist_suite.secret_box import UndecryptableSecret
from begasist_suite.services import Services
from begasist_suite.store.records import Hotel

__all__ = ["VerifyTarget", "WebhookSettingsCache"]

log = logging.getLogger(__name__)

CACHE_SECONDS: Final = 2.0
"""How long a settings change may take to reach this replica's webhook route."""
CACHE_ENTRIES: Final = 10_000


@dataclass(frozen=True, slots=True)
class VerifyTarget:
    """What a webhook for one hotel's channel is verified with; None fields: answer 404."""

    channel_class: Any | None
    settings: ChannelSettings | None


class WebhookSettingsCache:
    """Per (hotel, channel): the channel class and its validated settings, or a miss.

    Misses are cached too, so a flood of requests for hotels that do not
    exist costs one store read per name per :data:`CACHE_SECONDS`.
    """

    def __init__(
        self,
        services: Services,
        *,
        seconds: float = CACHE_SECONDS,
        capability: str = "webhook_ingress",
    ) -> None:
        """*capability*: the ``Capabilities`` flag a channel needs to be a target here
        (``guest_socket`` for the guest sockets' cache)."""
        self._services = services
        self._seconds = seconds
        self._capability = capability
        self._entries: OrderedDict[tuple[str, str], tuple[float, VerifyTarget]] = OrderedDict()
        self._loading: dict[tuple[str, str], anyio.Event] = {}

    def forget(self, hotel: str) -> None:
        """Drop a hotel's entries (its settings changed in this replica)."""
        for key in [k for k in self._entries if k[0] == hotel]:
            del self._entries[key]

    async def target(self, hotel: str, channel: str) -> VerifyTarget:
        key = (hotel, channel)
        while True:
            cached = self._entries.get(key)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            loading = self._loading.get(key)
            if loading is None:
                break
            # One load per key at a time: when an entry expires under load, the
            # requests in flight wait for one store read instead of each making one
            # (and look again: that load may have failed, or its entry gone).
            await loading.wait()
        self._loading[key] = done = anyio.Event()
        try:
            target = await self._load(hotel, channel)
            self._entries[key] = (time.monotonic() + self._seconds, target)
            self._entries.move_to_end(key)
            while len(self._entries) > CACHE_ENTRIES:
                self._entries.popitem(last=False)
        finally:
            if self._loading.get(key) is done:
                del self._loading[key]
            done.set()
        return target

    async def _load(self, hotel: str, channel: str) -> VerifyTarget:
        missing = VerifyTarget(None, None)
        store = self._services.store
        found: Hotel | None = await store.get_hotel(hotel)
        if found is None:
            return missing
        try:
            channel_class = self._services.plugins.channel(channel)
        except UnknownChannel:
            return missing
        config = await store.get_channel_config(hotel, channel)
        if config is None:
            return missing
        try:
            settings = channel_class.Settings.model_validate(
                bot_settings(config, self._services.secret_box)
            )
        except ValidationError:
            return missing  # stored settings the installed plugin no longer accepts
        except UndecryptableSecret:
            log.warning(
                "hotel %s: the %s channel's secrets do not decrypt with BEGASIST_SECRET_KEY; "
                "its webhooks answer 404 until they are entered again",
                hotel,
                channel,
            )
            return missing
        if not settings.enabled or not getattr(channel_class.capabilities, self._capability):
            return missing
        return VerifyTarget(channel_class, settings)
